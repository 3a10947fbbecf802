"""Shards of a portfolio: `csbridge run --shard I/N` runs only the customers of shard I.

A customer belongs to shard I of N (1-based, 1 <= I <= N) when the blake2b hash of
its identity key (the customer key, e.g. its domain), taken as an integer, is I - 1
modulo N: stable across runs, machines and Python versions, and independent of the
order in which customers are loaded, so N CronJobs cover every customer exactly once.
Each shard takes its own lock (`lock_name`), so the N shards run side by side on one
store, and since they own disjoint customers they never write the same CRM record,
task or notification.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from csbridge.errors import CsbridgeError

SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def lock_name(self) -> str:
        return f"run-shard-{self.index}-of-{self.count}"

    def owns(self, customer_key: str) -> bool:
        digest = hashlib.blake2b(customer_key.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    """`I/N` as given to `--shard`; CsbridgeError names the fix."""
    match = SHARD.fullmatch(text)
    index, count = (int(match[1]), int(match[2])) if match else (0, 0)
    if not 1 <= index <= count:
        raise CsbridgeError(
            f"--shard {text}: give I/N with 1 <= I <= N, e.g. --shard 3/8 "
            "(shard 3 of 8; run one job for each I from 1 to N)"
        )
    return Shard(index, count)
