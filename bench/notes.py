"""API calls of the report-notes step per CRM, against the fewest its APIs allow.

    .venv/bin/python bench/notes.py [--accounts 500]

One sandbox: `init-crm`, a first `run` with notes off (pull, writes, history), then two
`run --no-pull` on unchanged data, the first with notes off, the second with
`reports.crm_notes: {review: monthly, qbr: quarterly}`. The notes' calls are the second's
minus the first's, per CRM (neither run writes a record or a task: only the notes
differ). A third `run --no-pull` in the same period shows what a rerun costs.

The bound, per CRM, for A accounts and 2A notes:
- HubSpot: 2A/100 searches (lookup by key, 100 keys a search) + 2A/100 batch creates.
- Salesforce: A/300 SOQL lookups (300 accounts a query, both reports at once) + 2A/12
  Composite calls (each note and its link in one all-or-none pair: 25 subrequests a call).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml

from csbridge.cli import main as cli
from csbridge.logs import configure as configure_logs
from csbridge_sandbox.runner import run_sandbox


def run(argv: list[str], report: Path) -> dict[str, Any]:
    """One `csbridge run`, its output captured; its JSON report."""
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        code = cli([*argv, "--report", str(report)])
    if code != 0:
        raise SystemExit(f"run failed:\n{shown.getvalue()}")
    configure_logs("error")
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def bench(accounts: int) -> None:
    configure_logs("error")
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_sandbox(port_base=0, accounts=accounts, seed=11, rate_limits="off") as sandbox,
    ):
        config = sandbox.write_config(Path(tmp) / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["crm"]["hubspot"] = {"task_lookup_delay": 0}
        config.write_text(yaml.safe_dump(data))
        now = sandbox.world.now.isoformat()
        report = Path(tmp) / "run.json"
        with contextlib.redirect_stdout(io.StringIO()):
            cli(["init-crm", "--config", str(config)])
        argv = ["run", "--config", str(config), "--now", now]
        run(argv, report)
        base = run([*argv, "--no-pull"], report)
        data["reports"] = {"crm_notes": {"review": "monthly", "qbr": "quarterly"}}
        config.write_text(yaml.safe_dump(data))
        notes = run([*argv, "--no-pull"], report)
        again = run([*argv, "--no-pull"], report)
        seconds = notes["steps_seconds"]["notes"]
        print(
            f"{accounts} sandbox customers, review monthly + QBR prep quarterly: "
            f"notes step {seconds:.1f} s (both CRMs, reports built and sent)"
        )
        for crm in ("hubspot", "salesforce"):
            made = notes["crm"][crm]["notes_created"]
            linked = made // 2
            calls = notes["api_calls"][crm] - base["api_calls"][crm]
            rerun = again["api_calls"][crm] - base["api_calls"][crm]
            if crm == "hubspot":
                bound = 2 * math.ceil(made / 100)
            else:
                bound = math.ceil(linked / 300) + math.ceil(made / 12)
            print(
                f"  {crm}: {made} notes on {linked} accounts in {calls} calls; bound {bound} "
                f"({calls / bound:.2f}x); rerun in the same period: {rerun} calls"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    bench(parser.parse_args().accounts)


if __name__ == "__main__":
    main()
