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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from csbridge.errors import CsbridgeError
from csbridge.scoring.signal_types import SignalOptions
from csbridge.scoring.signals import CustomerFacts, per_user_rates, with_benchmarks

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


def shard_customers(
    customers: Sequence[CustomerFacts],
    shard: Shard,
    now: datetime,
    options: SignalOptions | None,
) -> tuple[list[CustomerFacts], SignalOptions]:
    """The shard's customers, and signal options that score them as a whole run would.

    The session and time benchmarks are medians over every customer, not over the
    shard's: a customer's score must not depend on which shard it fell in.
    """
    rates = [per_user_rates(c, now) for c in customers]
    opts = with_benchmarks(options or SignalOptions(), rates)
    return [c for c in customers if shard.owns(c.key)], opts
