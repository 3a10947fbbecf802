"""`csbridge run`: the scheduled job. Pull, score, run the playbooks, write into the CRMs.

Prints a short summary on the terminal and, with `--report PATH`, the run's JSON
report. Exit 0 only when every write landed; 1 when some did not (they are listed and
go out on the next run), including a run that lost its lock midway (it stops writing,
prints one line saying so, and the next run does the rest); 2 for a problem to fix
first (config, credentials, lock held, a bad `--shard`).
A dry run writes nothing, so it says what it would write and exits 0.
With a PATH ending in .html the report is a page (`csbridge.reports.run_page`).

`--shard I/N --no-pull` runs one shard of the customers (`csbridge.sync.shard`) under
its own lock, so N shards run side by side after one `csbridge pull`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csbridge.commands.health import SIGNALS_HELP, load_options, parse_now
from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.reports.run_page import write_run_report
from csbridge.store.lock import run_lock
from csbridge.store.store import Store, open_store
from csbridge.sync.cycle import Cycle
from csbridge.sync.notify import Notifier
from csbridge.sync.run import RunReport, run_sync
from csbridge.sync.shard import Shard, parse_shard

SHOWN_FAILURES = 10


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the scheduled job: pull, score, apply the playbooks, write into the CRMs",
        description=(
            "Pull every source, score every customer, run the playbook rules, and write "
            "fields, tags and tasks into each CRM of crm.targets (only what changed)."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument(
        "--dry-run", action="store_true", help="plan only: write nothing into the CRMs or history"
    )
    parser.add_argument(
        "--report",
        metavar="PATH",
        help="write the run report here: an HTML page when PATH ends in .html, else JSON",
    )
    parser.add_argument("--now", metavar="ISO", help="run as of this time (default: now)")
    parser.add_argument("--signals", metavar="FILE", help=SIGNALS_HELP)
    parser.add_argument(
        "--no-pull", action="store_true", help="skip the pull: score what the store holds"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="pull everything from the start (not from the stored cursors), as `csbridge "
        "pull --full` does, e.g. after naming a field under signals:",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="only the customers of shard I of N (1-based, by a hash of the customer key); "
        "needs --no-pull: run `csbridge pull` once, then the N shards side by side",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """One run under the store's lock; exit 0 only when every write landed (or a dry run)."""
    shard = None if args.shard is None else parse_shard(args.shard)
    if args.full and args.no_pull:
        raise CsbridgeError(
            "--full re-reads the sources and --no-pull skips reading them: give one of them"
        )
    if shard is not None and not args.no_pull:
        raise CsbridgeError(
            f"--shard {shard} needs --no-pull: the shards share one pull; run "
            "`csbridge pull` first, then each `csbridge run --shard I/N --no-pull`"
        )
    settings = load_config(args.config)
    if not settings.crm.targets:
        raise CsbridgeError(
            f"{args.config or 'environment'}: crm.targets is empty; name the CRMs to write "
            "(salesforce, hubspot)"
        )
    outside = sorted(set(settings.reports.crm_notes.crms) - set(settings.crm.targets))
    if outside:
        raise CsbridgeError(
            f"{args.config or 'environment'}: reports.crm_notes.crms: {', '.join(outside)} is "
            "not in crm.targets; add it there or leave it out"
        )
    options = load_options(args.signals, settings)
    now = parse_now(args.now)
    cycle = Cycle.build(settings)  # a bad model, rules or mapping file fails before the lock
    store = open_store(settings.database_url)
    try:
        with _locks(store, shard) as verify:
            notifier = Notifier(settings.notifications, settings.http)
            try:
                report = run_sync(
                    settings,
                    store,
                    now,
                    dry_run=args.dry_run,
                    pull_first=not args.no_pull,
                    full_pull=args.full,
                    notifier=notifier,
                    options=options,
                    verify_lock=verify,
                    shard=shard,
                    cycle=cycle,
                )
            finally:
                notifier.close()
    finally:
        store.close()
    sys.stdout.write(summary(report))
    if report.lock_lost:
        print(f"csbridge: error: {report.lock_lost}", file=sys.stderr)
    if args.report:
        try:
            write_run_report(Path(args.report), report.as_dict())
        except OSError as exc:  # the run is done and summed up above; only its file failed
            raise CsbridgeError(
                f"--report {args.report}: cannot write the report ({exc.strerror})"
            ) from None
    return 0 if report.ok or report.dry_run else 1


@contextmanager
def _locks(store: Store, shard: Shard | None) -> Iterator[Callable[[], None]]:
    """The store's lock (shared by the shards of a sharded run, with the shard's own lock)
    for the block; yields the check to call before each write batch."""
    if shard is None:
        with run_lock(store) as lock:
            yield lock.verify
        return
    with run_lock(store, shared=True) as whole, run_lock(store, shard.lock_name) as own:

        def verify() -> None:
            whole.verify()
            own.verify()

        yield verify


def summary(report: RunReport) -> str:
    """A few lines a person reads after a run."""
    data = report.as_dict()
    bands = ", ".join(f"{k} {v}" for k, v in data["bands"].items()) or "-"
    lines = [
        f"{'Dry run' if report.dry_run else 'Run'} {report.run_id[:8]}"
        f"{'' if report.shard is None else f' (shard {report.shard})'}: "
        f"{report.accounts_scored} accounts scored ({bands}) in {data['duration_seconds']:.1f} s"
    ]
    for name, crm in data["crm"].items():
        planned = crm["planned"]
        if report.dry_run:
            lines.append(
                f"  {name}: would update {planned['records']} records, "
                f"create {planned['tasks']} tasks, {planned['notifications']} notifications"
            )
            continue
        lines.append(
            f"  {name}: {crm['records_updated']} records updated, "
            f"{crm['tags_changed']} tag changes, {crm['tasks_created']} tasks created"
            f" ({crm['tasks_found_existing']} found already there), "
            f"{crm['notifications_sent']} notifications sent"
            + (
                f" ({crm['notifications_skipped']} skipped: no channel configured), "
                if crm["notifications_skipped"]
                else ", "
            )
            + (
                f"{crm['notes_created']} report notes attached "
                f"({crm['notes_found_existing']} found already there), "
                if "notes_created" in crm
                else ""
            )
            + f"{len(crm['failed_records'])} failed"
        )
        overdue = (crm.get("steps_overdue") or {}).get("count", 0)
        if crm["tasks_completed"] or crm["tasks_closed"] or overdue:
            lines.append(
                f"    tasks: {crm['tasks_completed']} completed in the CRM, "
                f"{crm['tasks_closed']} closed by csbridge (episode ended), "
                f"{overdue} steps overdue"
            )
        for failure in crm["failed_records"][:SHOWN_FAILURES]:
            lines.append(
                f"    failed {failure['kind']} {failure['ref']} "
                f"({failure['account_id']}): {failure['reason']}"
            )
        if crm["stopped"]:
            lines.append(f"    stopped: {crm['stopped']}")
    calls = ", ".join(f"{k}={v}" for k, v in data["api_calls"].items()) or "none"
    lines.append(f"  API calls: {calls}")
    if len(report.models) > 1:
        lines.append("  models: " + ", ".join(f"{m} {n}" for m, n in report.models.items()))
    cadence = report.cadence
    if cadence.get("measured"):
        lines.append(
            f"  touchpoint cadence: {cadence['on_cadence']} of {cadence['measured']} accounts "
            f"on cadence ({100 * cadence['share']:.1f} %)"
        )
    if report.pull.get("stopped"):
        lines.append(f"  pull stopped early: {', '.join(sorted(report.pull['stopped']))}")
    lines += [f"  note: {line}" for line in report.pull.get("missing_fields", ())]
    if report.dry_run:
        lines.append("Dry run: nothing was written.")
    else:
        lines.append("All writes landed." if report.ok else "Some writes did not land; see above.")
    return "\n".join(lines) + "\n"
