"""Distinct users, exact while few and a HyperLogLog sketch beyond: mergeable across days.

Monthly active users are the distinct users of 30 daily rows, so each day keeps a
set that can be merged with others without holding user ids. Up to `EXACT_LIMIT`
users a day keeps their 64-bit hashes (the count is exact; merging is a set union);
beyond that, and whenever a merge passes that size, it keeps `REGISTERS` one-byte
HyperLogLog registers (Flajolet et al. 2007, with linear counting for small counts),
whose relative standard error is `STANDARD_ERROR` (1.04 / sqrt(1024), about 3.3 %).
Either way a day costs at most 1 KiB, however many events or users it had.

Hashes are BLAKE2b of the user id (Python's `hash` differs between processes), so
sketches written by one run merge with those of another.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from hashlib import blake2b

PRECISION = 10
REGISTERS = 1 << PRECISION
EXACT_LIMIT = REGISTERS // 8  # as many 8-byte hashes as the registers take bytes
STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)
_TAIL_BITS = 64 - PRECISION
_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)


def user_hash(user: str) -> int:
    """The 64-bit hash of a user id that every sketch uses."""
    return int.from_bytes(blake2b(user.encode(), digest_size=8).digest(), "big")


class DistinctUsers:
    """A set of users that counts them exactly up to `EXACT_LIMIT`, then estimates."""

    def __init__(self) -> None:
        self._hashes: set[int] | None = set()
        self._registers: bytearray | None = None

    def add(self, user: str) -> None:
        """Count one user (any number of times)."""
        self._add_hash(user_hash(user))

    def merge(self, other: DistinctUsers) -> None:
        """Add every user of `other` (the union of both sets)."""
        if other._registers is not None:
            self._to_registers()
            assert self._registers is not None
            self._registers[:] = bytes(map(max, self._registers, other._registers))
        else:
            for value in other._hashes or ():
                self._add_hash(value)

    def contains(self, user: str) -> bool | None:
        """Whether `user` was counted: known while exact, None once only estimated."""
        if self._hashes is None:
            return None
        return user_hash(user) in self._hashes

    @property
    def exact(self) -> bool:
        """True while the count is exact (no more than EXACT_LIMIT users seen)."""
        return self._registers is None

    def count(self) -> int:
        """The number of distinct users: exact, or the HyperLogLog estimate."""
        if self._hashes is not None:
            return len(self._hashes)
        assert self._registers is not None
        estimate = _ALPHA * REGISTERS * REGISTERS / sum(2.0**-r for r in self._registers)
        zeros = self._registers.count(0)
        if estimate <= 2.5 * REGISTERS and zeros:
            estimate = REGISTERS * math.log(REGISTERS / zeros)
        return round(estimate)

    def encode(self) -> str:
        """Text for the store: "x" + sorted hashes, or "h" + registers, base64 encoded."""
        if self._hashes is not None:
            raw = b"".join(v.to_bytes(8, "big") for v in sorted(self._hashes))
            return "x" + base64.b64encode(raw).decode()
        assert self._registers is not None
        return "h" + base64.b64encode(bytes(self._registers)).decode()

    @classmethod
    def decode(cls, text: str) -> DistinctUsers:
        """The sketch `encode` wrote; ValueError when the text is not one."""
        kind, raw = text[:1], base64.b64decode(text[1:], validate=True)
        sketch = cls()
        if kind == "x" and len(raw) % 8 == 0:
            for start in range(0, len(raw), 8):
                sketch._add_hash(int.from_bytes(raw[start : start + 8], "big"))
        elif kind == "h" and len(raw) == REGISTERS and max(raw) <= _TAIL_BITS + 1:
            sketch._hashes, sketch._registers = None, bytearray(raw)
        else:
            raise ValueError("not a distinct-users sketch")
        return sketch

    @classmethod
    def union(cls, sketches: Iterable[DistinctUsers]) -> DistinctUsers:
        """One sketch holding every user of `sketches`."""
        out = cls()
        for sketch in sketches:
            out.merge(sketch)
        return out

    def _add_hash(self, value: int) -> None:
        if self._hashes is not None:
            self._hashes.add(value)
            if len(self._hashes) > EXACT_LIMIT:
                self._to_registers()
            return
        assert self._registers is not None
        index = value >> _TAIL_BITS
        rank = _TAIL_BITS - (value & ((1 << _TAIL_BITS) - 1)).bit_length() + 1
        if rank > self._registers[index]:
            self._registers[index] = rank

    def _to_registers(self) -> None:
        if self._registers is not None:
            return
        hashes, self._hashes, self._registers = self._hashes or set(), None, bytearray(REGISTERS)
        for value in hashes:
            self._add_hash(value)
