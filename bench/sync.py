"""Sync benchmark on the sandbox: write calls per CRM, a no-op rerun, apply time under limits.

    .venv/bin/python bench/sync.py [--accounts 10000] [--tier starter]

Runs sandbox (realistic rate limits) → init-crm → pull → `run_sync(pull_first=False)` →
a second `run_sync` (pull included) on unchanged data, and prints, from that one run:
- write calls per CRM (the sandbox's `/_sandbox/stats`, so retries and 429s count) against
  the minimum ceil(records / batch) + ceil(tasks / batch), and against a naive writer
  making one request per record and per task (computed as records + tasks, not driven);
- the rerun's write calls (must be 0);
- the closing of ended episodes' tasks: a run whose rules end every churn-risk episode
  (threshold 1) closes their open tasks; its task-update calls against the minimum
  ceil(tasks closed / batch), its write calls in all against the minimum with the
  record updates, and a rerun's write calls (must be 0);
- the HubSpot apply time against the time its limits allow: the API calls it made
  during apply divided by the configured tier's rate (`sources.hubspot.tier`; the
  sandbox itself enforces 190 per rolling 10 s), with pull and scoring timed apart;
- peak RSS of the process (sandbox included).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from csbridge.cli import main as cli
from csbridge.config import Settings, load_config
from csbridge.connectors.hubspot.client import HUBSPOT_PER_10S, HUBSPOT_SEARCH_PER_SECOND
from csbridge.connectors.protocol import (
    CrmWriter,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
)
from csbridge.http.client import CallAccounting
from csbridge.logs import configure as configure_logs
from csbridge.mappings.fields import Crm
from csbridge.store.store import open_store
from csbridge.sync.cycle import Cycle
from csbridge.sync.pull import pull
from csbridge.sync.run import RunReport, default_writer, run_sync
from csbridge_sandbox.runner import Sandbox, run_sandbox

TARGETS: tuple[Crm, ...] = ("salesforce", "hubspot")


class TimedWriter:
    """A `CrmWriter` that passes every call through and notes when the first one began
    and the last one ended: the apply time of its target, without planning or scoring."""

    def __init__(self, inner: CrmWriter) -> None:
        self.inner = inner
        self.first: float | None = None
        self.last = 0.0
        self.task_updates = 0  # update_tasks calls (one request each)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    @property
    def bulk(self) -> bool:
        return self.inner.bulk

    @property
    def tasks_alongside(self) -> bool:
        return self.inner.tasks_alongside

    @property
    def search_lag(self) -> float:
        return self.inner.search_lag

    @property
    def seconds(self) -> float:
        return 0.0 if self.first is None else self.last - self.first

    def _begin(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def _end(self) -> None:
        self.last = time.perf_counter()

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        self._begin()
        try:
            return self.inner.update_records(updates)
        finally:
            self._end()

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        self._begin()
        try:
            return self.inner.bulk_update(updates)
        finally:
            self._end()

    def read_field(self, record_ids: Sequence[str], field: str) -> dict[str, str | None]:
        self._begin()
        try:
            return self.inner.read_field(record_ids, field)
        finally:
            self._end()

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        self._begin()
        try:
            return self.inner.create_tasks(tasks)
        finally:
            self._end()

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        self._begin()
        try:
            return self.inner.find_tasks(keys)
        finally:
            self._end()

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        self._begin()
        try:
            return self.inner.task_states(keys)
        finally:
            self._end()

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        self._begin()
        self.task_updates += 1
        try:
            return self.inner.update_tasks(updates)
        finally:
            self._end()

    def close(self) -> None:
        self.inner.close()


def prepare(sandbox: Sandbox, tmp: Path, tier: str, bulk_threshold: int | None) -> Path:
    """The sandbox's config with a SQLite store, the HubSpot tier and (if given) the
    Salesforce Bulk threshold; init-crm run on it."""
    config = sandbox.write_config(tmp / "csbridge.yaml")
    data = yaml.safe_load(config.read_text())
    data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
    data["sources"]["hubspot"]["tier"] = tier
    if bulk_threshold is not None:
        data["crm"]["salesforce"] = {"bulk_threshold": bulk_threshold}
    config.write_text(yaml.safe_dump(data))
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        code = cli(["init-crm", "--config", str(config)])
    if code != 0:
        raise SystemExit(f"init-crm failed on the sandbox:\n{shown.getvalue()}")
    configure_logs("error")  # the CLI set warnings on; a 429 retry is counted below instead
    return config


def reset(sandbox: Sandbox) -> None:
    for target in TARGETS:
        sandbox.control(target).reset_stats()


def print_write_calls(sandbox: Sandbox, report: RunReport, writers: dict[str, TimedWriter]) -> None:
    for target in TARGETS:
        crm, stats = report.crm[target], sandbox.control(target).stats()
        records, tasks = crm["records_updated"], crm["tasks_created"]
        batch = writers[target].batch_size
        minimum = math.ceil(records / batch) + math.ceil(tasks / batch)
        naive = records + tasks
        writes = stats["writes"]
        routes = ", ".join(
            f"{route} {n}" for route, n in stats["by_route"].items() if not route.startswith("GET")
        )
        print(
            f"{target}: {records} records, {tasks} tasks, {len(crm['failed_records'])} failed; "
            f"{writes} write calls, minimum {minimum} at {batch} a batch "
            f"(ratio {writes / max(1, minimum):.3f}); naive one-per-record {naive} "
            f"(naive/ours {naive / max(1, writes):.1f}x)"
        )
        print(f"  {stats['calls']} calls in all, statuses {stats['by_status']}; {routes}")


def print_hubspot_time(
    sandbox: Sandbox, settings: Settings, writer: TimedWriter, total: float
) -> None:
    source = settings.sources.hubspot
    assert source is not None
    per_10s = source.requests_per_10s or HUBSPOT_PER_10S[source.tier]
    stats = sandbox.control("hubspot").stats()
    calls = stats["calls"]
    searches = sum(n for route, n in stats["by_route"].items() if route.endswith("/search"))
    allowed = max(calls / (per_10s / 10), searches / HUBSPOT_SEARCH_PER_SECOND)
    print(
        f"hubspot apply: {calls} API calls ({searches} searches) in {writer.seconds:.1f} s; "
        f"the limits ({per_10s} per 10 s, tier {source.tier}; search "
        f"{HUBSPOT_SEARCH_PER_SECOND}/s) allow {allowed:.1f} s "
        f"(ratio {writer.seconds / max(allowed, 1e-9):.2f}); "
        f"429s: {stats['by_status'].get('429', 0)}; whole run_sync {total:.1f} s"
    )


def bench(accounts: int, tier: str, bulk_threshold: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        built = time.perf_counter()
        with run_sandbox(port_base=0, accounts=accounts, seed=7, rate_limits="realistic") as sb:
            config = prepare(sb, Path(tmp), tier, bulk_threshold)
            print(f"sandbox + init-crm: {accounts} accounts in {time.perf_counter() - built:.1f} s")
            settings = load_config(config)
            store = open_store(settings.database_url)
            now = sb.world.now

            start = time.perf_counter()
            pulled = pull(settings, store)
            print(
                f"pull: {sum(pulled.records.values())} records in "
                f"{time.perf_counter() - start:.1f} s, stopped: {pulled.stopped or 'none'}"
            )
            slow = sorted(pulled.seconds.items(), key=lambda kv: -kv[1])[:4]
            print("  slowest streams: " + ", ".join(f"{k} {v:.1f} s" for k, v in slow))

            writers: dict[str, TimedWriter] = {}

            def timed_writer(target: Crm, s: Settings, accounting: CallAccounting) -> CrmWriter:
                writers[target] = TimedWriter(default_writer(target, s, accounting))
                return writers[target]

            reset(sb)
            start = time.perf_counter()
            report = run_sync(settings, store, now, pull_first=False, writer_factory=timed_writer)
            total = time.perf_counter() - start
            applying = sum(w.seconds for w in writers.values())
            print(
                f"run_sync without pull: {total:.1f} s, of which apply {applying:.1f} s "
                + ", ".join(f"({t} {w.seconds:.1f} s)" for t, w in writers.items())
                + f"; scoring, planning, history {total - applying:.1f} s; ok={report.ok}"
            )
            print_write_calls(sb, report, writers)
            print_hubspot_time(sb, settings, writers["hubspot"], total)

            reset(sb)
            start = time.perf_counter()
            again = run_sync(settings, store, now, writer_factory=timed_writer)
            seconds = time.perf_counter() - start
            writes = {t: sb.control(t).stats()["writes"] for t in TARGETS}
            planned: dict[str, Any] = {t: again.crm[t]["planned"] for t in TARGETS}
            print(
                f"no-op rerun (pull included): write calls {writes} in {seconds:.1f} s; "
                f"planned {planned}"
            )
            bench_closing(sb, settings, store, now, Path(tmp))
            store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB (process, sandbox included)")


def bench_closing(sandbox: Sandbox, settings: Settings, store: Any, now: Any, tmp: Path) -> None:
    """Every churn-risk episode ends (a threshold of 1): the run closes their open tasks."""
    rules = tmp / "recovered.yaml"
    rules.write_text(
        yaml.safe_dump(
            {"rules": {"churn_risk": {"below": 1, "drop": 100, "urgent_tickets": 10_000}}}
        )
    )
    cycle = Cycle.build(settings, rules=str(rules))
    writers: dict[str, TimedWriter] = {}

    def timed_writer(target: Crm, s: Settings, accounting: CallAccounting) -> CrmWriter:
        writers[target] = TimedWriter(default_writer(target, s, accounting))
        return writers[target]

    for label in ("closing run", "its rerun"):
        reset(sandbox)
        report = run_sync(
            settings, store, now, pull_first=False, writer_factory=timed_writer, cycle=cycle
        )
        for target in TARGETS:
            crm, writes = report.crm[target], sandbox.control(target).stats()["writes"]
            closed, records = crm["tasks_closed"], crm["records_updated"]
            batch = writers[target].batch_size
            least = math.ceil(closed / batch)
            print(
                f"{label}, {target}: {closed} tasks closed in {writers[target].task_updates} "
                f"task-update calls, minimum {least} (ratio "
                f"{writers[target].task_updates / max(1, least):.3f}); {records} records "
                f"updated; write calls in all {writes}, minimum "
                f"{least + math.ceil(records / batch)}; failed {len(crm['failed_records'])}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--tier", choices=sorted(HUBSPOT_PER_10S), default="starter")
    parser.add_argument(
        "--bulk-threshold",
        type=int,
        help="crm.salesforce.bulk_threshold (default: the config's, 2000); above it one Bulk "
        "2.0 job replaces the 200-record Collections calls the minimum assumes",
    )
    args = parser.parse_args()
    bench(args.accounts, args.tier, args.bulk_threshold)


if __name__ == "__main__":
    main()
