"""`--shard I/N`: parsing and its one-line errors, a stable partition of the customers,
scores that do not depend on the shard, and the locks shards take on SQLite and
PostgreSQL (side by side with each other, never beside a whole run)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from csbridge.cli import main
from csbridge.models import UsageDay
from csbridge.scoring import load_model
from csbridge.scoring.signals import (
    CustomerFacts,
    SignalOptions,
    per_user_rates,
    portfolio_signals,
    with_benchmarks,
)
from csbridge.store.lock import RunLockedError, run_lock
from csbridge.store.store import open_store
from csbridge.sync.shard import Shard, parse_shard

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "9/8", "--no-pull"], "--shard 9/8: give I/N with 1 <= I <= N"),
        (["--shard", "0/8", "--no-pull"], "--shard 0/8: give I/N"),
        (["--shard", "x", "--no-pull"], "--shard x: give I/N"),
        (["--shard", "3/8"], "--shard 3/8 needs --no-pull: the shards share one pull"),
    ],
)
def test_bad_shard_is_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_parse_shard() -> None:
    assert parse_shard("3/8") == Shard(3, 8) and str(parse_shard(" 1 / 1 ")) == "1/1"
    assert parse_shard("3/8").lock_name == "run-shard-3-of-8"


def test_every_customer_is_in_exactly_one_shard_and_stays_there() -> None:
    keys = [f"customer-{k}.example.com" for k in range(2000)]
    shards = [Shard(i, 8) for i in range(1, 9)]
    owners = {key: [s.index for s in shards if s.owns(key)] for key in keys}
    assert all(len(found) == 1 for found in owners.values())
    sizes = [sum(1 for found in owners.values() if found == [s.index]) for s in shards]
    assert min(sizes) > 150 and max(sizes) < 350  # 250 each on average
    # not Python's salted hash(): another process (another hash seed) agrees, so a
    # customer never moves between the CronJobs of one deployment
    code = (
        "from csbridge.sync.shard import Shard\n"
        f"keys = {keys[:200]!r}\n"
        "print([next(i for i in range(1, 9) if Shard(i, 8).owns(k)) for k in keys])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == str([owners[k][0] for k in keys[:200]])


def usage(key: str, sessions: int) -> list[UsageDay]:
    days = [NOW.date() - timedelta(days=k) for k in range(1, 31)]
    return [
        UsageDay(
            source="mixpanel",
            id=UsageDay.usage_id(key, d),
            account_id=key,
            day=d,
            active_users=2,
            sessions=sessions,
        )
        for d in days
    ]


def test_a_customer_scores_the_same_in_its_shard_as_in_a_whole_run() -> None:
    """session_frequency is against the portfolio's median: a shard uses the whole one
    (as `run_sync` does: the benchmarks over every customer, then the shard's own)."""
    customers = [
        CustomerFacts(key=f"c{k}.com", usage=usage(f"c{k}.com", sessions=1 + k)) for k in range(12)
    ]
    model = load_model("seed-5d")
    whole = {s.key: s.values for s in portfolio_signals(customers, NOW, model)}
    options = with_benchmarks(SignalOptions(), [per_user_rates(c, NOW) for c in customers])
    for index in (1, 2, 3):
        mine = [c for c in customers if Shard(index, 3).owns(c.key)]
        assert mine and all(Shard(index, 3).owns(c.key) for c in mine)
        for signals in portfolio_signals(mine, NOW, model, options):
            assert signals.values == whole[signals.key]


def test_shards_run_side_by_side_but_never_beside_a_whole_run(database_url: str) -> None:
    stores = [open_store(database_url) for _ in range(4)]
    one, two, again, whole = stores
    try:
        with run_lock(one, shared=True), run_lock(one, "run-shard-1-of-2"):
            with run_lock(two, shared=True), run_lock(two, "run-shard-2-of-2"):
                pass  # the other shard runs meanwhile
            with pytest.raises(RunLockedError), run_lock(again, "run-shard-1-of-2"):
                pytest.fail("the same shard twice")
            with pytest.raises(RunLockedError), run_lock(whole):
                pytest.fail("a whole run beside a shard")
        with run_lock(whole), pytest.raises(RunLockedError), run_lock(one, shared=True):
            pytest.fail("a shard beside a whole run")
    finally:
        for store in stores:
            store.close()


def test_the_lock_message_names_the_shard(postgres_url: str) -> None:
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        with (
            run_lock(first, "run-shard-3-of-8"),
            pytest.raises(RunLockedError, match="another csbridge run of shard 3/8 holds"),
            run_lock(second, "run-shard-3-of-8"),
        ):
            pytest.fail("entered a held lock")
    finally:
        first.close()
        second.close()
