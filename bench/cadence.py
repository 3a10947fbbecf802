"""Touchpoint cadence on the sandbox (`make demo`'s: 500 accounts, seed 7): the share of
accounts on cadence, and the tasks a first run would create for missed touchpoints.

    .venv/bin/python bench/cadence.py [--accounts 500] [--budget 15]

Prints, from one sandbox pulled once:
- `csbridge health`'s cadence: accounts measured, on cadence and their share, overall
  and per segment, and the accounts missing each touchpoint;
- `csbridge plan` (HubSpot) with the default rules and with `cadence.create_tasks`: the
  tasks planned, the cadence tasks among them, per owner;
- a first `run` with cadence tasks, the task budget and the first-run policy: what it
  creates, skips as backlog and defers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from collections import Counter
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


def as_json(text: str) -> Any:
    return json.loads(text[text.index("{\n") :])


def planned(config: Path, rules: Path, now: str) -> Counter[str]:
    """Tasks per rule (cadence ones per owner too) that `plan` announces."""
    argv = ["plan", "--config", str(config), "--rules", str(rules), "--format", "json"]
    plan = as_json(quiet([*argv, "--target", TARGET, "--now", now]))
    counts: Counter[str] = Counter()
    for account in plan["accounts"]:
        for task in account["tasks"]:
            counts[task["key"].split(":")[1]] += 1
            if ":cadence:" in task["key"]:
                counts[f"owner {task['owner_id']}"] += 1
    return counts


def share(figures: dict[str, Any]) -> str:
    value = figures["share"]
    shown = "-" if value is None else f"{100 * value:.1f} %"
    return f"{figures['on_cadence']} of {figures['measured']} on cadence ({shown})"


def bench(accounts: int, budget: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_sandbox(port_base=0, accounts=accounts, seed=7, rate_limits="off") as sandbox,
    ):
        config = sandbox.write_config(Path(tmp) / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{Path(tmp) / 'state.db'}"
        config.write_text(yaml.safe_dump(data))
        quiet(["init-crm", "--config", str(config)])
        quiet(["pull", "--config", str(config)])
        now = sandbox.world.now.isoformat()
        health = as_json(
            quiet(["health", "--config", str(config), "--format", "json", "--now", now])
        )
        cadence = health["cadence"]
        segments = Counter(a["segment"] for a in health["accounts"])
        print(f"{accounts} accounts (model {health['model']['name']}); segments {dict(segments)}")
        print(f"all measured: {share(cadence)}; not measured {cadence['not_measured']}")
        for name, figures in cadence["per_segment"].items():
            print(f"  {name}: {share(figures)}")
        print(f"accounts missing each touchpoint: {cadence['missed']}")

        default, on = Path(tmp) / "default.yaml", Path(tmp) / "on.yaml"
        default.write_text("{}")
        on.write_text(yaml.safe_dump({"cadence": {"create_tasks": True}}))
        without, with_ = planned(config, default, now), planned(config, on, now)
        rules = [k for k in with_ if not k.startswith("owner ")]
        total = sum(without[k] for k in rules)
        print(f"plan, default rules: {total} tasks")
        owners = sorted(v for k, v in with_.items() if k.startswith("owner "))
        print(
            f"plan, cadence.create_tasks: {sum(with_[k] for k in rules)} tasks, of which "
            f"cadence {with_['cadence']} (per owner {owners[0] if owners else 0}-"
            f"{owners[-1] if owners else 0}, {len(owners)} owners)"
        )
        on.write_text(
            yaml.safe_dump(
                {
                    "cadence": {"create_tasks": True},
                    "tasks": {"per_owner_per_day": budget, "first_run": {}},
                }
            )
        )
        data["rules"] = str(on)
        config.write_text(yaml.safe_dump(data))
        report = Path(tmp) / "report.json"
        quiet(["run", "--config", str(config), "--now", now, "--report", str(report)])
        crm = json.loads(report.read_text())["crm"][TARGET]
        allotted = crm["task_budget"]
        print(
            f"first run with cadence tasks, budget {budget}/owner/day and the first-run "
            f"policy: created {crm['tasks_created']}, skipped as backlog "
            f"{allotted['skipped_first_run']}, deferred {allotted['deferred']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--budget", type=int, default=15)
    args = parser.parse_args()
    bench(args.accounts, args.budget)


if __name__ == "__main__":
    main()
