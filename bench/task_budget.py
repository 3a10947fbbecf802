"""No wall of tasks, measured on the sandbox: new tasks per CRM user on the first run,
without and with the first-run policy and the daily budget.

    .venv/bin/python bench/task_budget.py [--accounts 2000] [--budget 15]

Prints, for one CRM (HubSpot; Salesforce gets the same keys), from one sandbox:
- before: the tasks the first run plans per owner (what csbridge creates without a
  budget: `csbridge plan` on the pulled store);
- after: `run` with `tasks: {per_owner_per_day: N, first_run: {}}`: the tasks created per
  owner that day (read from the run report), skipped as first-run backlog, deferred;
- then one `run --now` a day (at most `--days`) until nothing is deferred: per day the
  tasks released, created and still deferred, and whether every task released was
  created exactly once (tasks created == released, summed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from csbridge.cli import main as cli
from csbridge.logs import configure as configure_logs
from csbridge_sandbox.runner import run_sandbox

TARGET = "hubspot"


def quiet(argv: list[str]) -> str:
    """Run the CLI, its output captured; exit on failure."""
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"{' '.join(argv[:1])} failed:\n{shown.getvalue()}")
    configure_logs("error")
    return shown.getvalue()


def spread(counts: Counter[str]) -> str:
    values = sorted(counts.values())
    if not values:
        return "none"
    return (
        f"{sum(values)} in all, per owner min {values[0]} / max {values[-1]} ({len(values)} owners)"
    )


def bench(accounts: int, budget: int, days: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_sandbox(port_base=0, accounts=accounts, seed=7, rate_limits="off") as sandbox,
    ):
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(yaml.safe_dump({"tasks": {"per_owner_per_day": budget, "first_run": {}}}))
        config = sandbox.write_config(Path(tmp) / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{Path(tmp) / 'state.db'}"
        data["rules"] = str(rules)
        config.write_text(yaml.safe_dump(data))
        quiet(["init-crm", "--config", str(config)])
        quiet(["pull", "--config", str(config)])
        start = sandbox.world.now
        argv = ["plan", "--config", str(config), "--format", "json", "--target", TARGET]
        out = quiet([*argv, "--now", start.isoformat()])
        plan: Any = json.loads(out[out.index("{\n") :])
        before = Counter(t["owner_id"] for a in plan["accounts"] for t in a["tasks"])
        print(f"{accounts} accounts, {TARGET}; before (no budget): first run {spread(before)}")
        report_path = Path(tmp) / "report.json"
        released = created = 0
        for day in range(days):
            now = (start + timedelta(days=day)).isoformat()
            quiet(["run", "--config", str(config), "--now", now, "--report", str(report_path)])
            crm = json.loads(report_path.read_text())["crm"][TARGET]
            budget_report = crm["task_budget"]
            released += budget_report["released"]
            created += crm["tasks_created"] + crm["tasks_found_existing"]
            if day == 0:
                first = Counter(budget_report["released_per_owner"])
                print(
                    f"after (budget {budget}/owner/day, first-run policy): first run "
                    f"{spread(first)}; skipped as backlog {budget_report['skipped_first_run']}, "
                    f"deferred {budget_report['deferred']}"
                )
            else:
                print(
                    f"  day {day}: released {budget_report['released']}, created "
                    f"{crm['tasks_created']}, still deferred {budget_report['deferred']}, "
                    f"expired {budget_report['expired']}"
                )
            if budget_report["deferred"] == 0:
                break
        drained = "drained" if budget_report["deferred"] == 0 else "not drained"
        print(
            f"queue {drained} after {day} more day(s) of daily runs; released {released}, "
            f"created {created} (each once: {released == created})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--budget", type=int, default=15)
    parser.add_argument("--days", type=int, default=10, help="daily runs at most")
    args = parser.parse_args()
    bench(args.accounts, args.budget, args.days)


if __name__ == "__main__":
    main()
