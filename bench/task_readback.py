"""Salesforce task read-back: SOQL calls for N open task keys, by key list vs by condition.

    .venv/bin/python bench/task_readback.py [--open 9000] [--completed 150]

One Salesforce emulator: `--open` csbridge tasks created through sObject Collections,
`--completed` of them then completed (as CSMs would between two runs). The same keys are
read back twice and the answers compared: by key list alone (300 keys a query, as before
`task_states` read by condition) and by `SalesforceWriter.task_states` (a COUNT(), the
open keyed tasks 2,000 rows a page, the rest by key). Prints the query calls of each,
their ratio, and the process CPU seconds of each (the emulator runs in this process and
filters `IN` lists slowly, so CPU says more about it than about Salesforce).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from csbridge.config import Settings
from csbridge.connectors.protocol import TaskCreate, TaskState, TaskUpdate, chunks
from csbridge.connectors.salesforce.task_states import IDS_PER_QUERY
from csbridge.connectors.salesforce.write import SalesforceWriter, salesforce_writer
from csbridge.http.client import CallAccounting
from csbridge.mappings.fields import load_field_mapping
from csbridge_sandbox.runner import Sandbox, run_sandbox

KEY_FIELD = {"type": "Text", "length": 255, "externalId": True, "label": "csbridge key"}


def measure(
    sandbox: Sandbox, read: Callable[[SalesforceWriter], dict[str, TaskState]]
) -> tuple[dict[str, TaskState], int, float]:
    """The states `read` finds, its SOQL calls (pages included) and its CPU seconds."""
    accounting = CallAccounting()
    writer = salesforce_writer(Settings(**sandbox.config()), accounting)
    began = time.process_time()
    states = read(writer)
    cpu = time.process_time() - began
    writer.client.close()
    return states, sum(r.count for r in accounting.rows() if "/query/" in r.endpoint), cpu


def by_key_list(writer: SalesforceWriter, keys: list[str]) -> dict[str, TaskState]:
    """The read as it was: one `IN` query per 300 keys (each part is small enough)."""
    return {
        k: s for part in chunks(keys, IDS_PER_QUERY) for k, s in writer.task_states(part).items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=9000)
    parser.add_argument("--completed", type=int, default=150)
    args = parser.parse_args()
    task = load_field_mapping("salesforce").task
    with run_sandbox(port_base=0, accounts=500, seed=11, vendors=("salesforce",)) as sb:
        writer = salesforce_writer(Settings(**sb.config()))
        body = {"FullName": f"Activity.{task.key_field}", "Metadata": KEY_FIELD}
        writer.sf.restful("tooling/sobjects/CustomField/", method="POST", json=body)
        accounts, owner = sb.world.accounts, sb.world.owners[0].salesforce_id
        tasks = [
            TaskCreate(
                f"a{i}.example.com:churn_risk:2026-11-20",
                accounts[i % 500].salesforce_id,
                "Call",
                "",
                None,
                owner,
            )
            for i in range(args.open)
        ]
        made = [r for batch in chunks(tasks, 200) for r in writer.create_tasks(batch)]
        for batch in chunks(made[: args.completed], 200):
            writer.update_tasks([TaskUpdate(r.ref, r.id or "", "Completed", "") for r in batch])
        writer.client.close()
        keys = sorted(t.key for t in tasks)
        old, old_calls, old_cpu = measure(sb, lambda w: by_key_list(w, keys))
        new, new_calls, new_cpu = measure(sb, lambda w: w.task_states(keys))
    assert new == old, "the two reads disagree"
    print(f"{args.open} keys, {args.completed} completed since the last read")
    print(f"  by key list:  {old_calls} queries, {old_cpu:.2f} CPU s")
    print(f"  by condition: {new_calls} queries, {new_cpu:.2f} CPU s")
    print(f"  queries ratio {old_calls / new_calls:.1f}x fewer; CPU ratio {old_cpu / new_cpu:.1f}x")


if __name__ == "__main__":
    main()
