"""A CRM that accepts every write and holds nothing: `bench/scale.py`'s `write` stage.

`csbridge run --dry-run` stops after planning (no read-back, apply, task follow-up or
score history), so the scale bench measures the writing run in-process with this
writer in place of Salesforce: every update and task lands at once, no task is found
already there or read back, so what is measured is csbridge's own side (the ledger,
task keys, history and episodes stored) without a vendor API.
"""

from __future__ import annotations

from collections.abc import Sequence

from csbridge.config import Settings
from csbridge.connectors.protocol import (
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
)
from csbridge.http.client import CallAccounting


class AcceptingWriter:
    """Every write lands; nothing is there to find or read back."""

    name = "salesforce"
    bulk = False
    tasks_alongside = False
    search_lag = 0.0
    batch_size = 200

    def __init__(self) -> None:
        self.tasks = 0

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return [WriteResult(u.record_id, True, id=u.record_id) for u in updates]

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return self.update_records(updates)

    def read_field(self, record_ids: Sequence[str], field: str) -> dict[str, str | None]:
        return dict.fromkeys(record_ids)

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        first, self.tasks = self.tasks, self.tasks + len(tasks)
        return [WriteResult(t.key, True, id=f"00T{first + i:015d}") for i, t in enumerate(tasks)]

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        return {}

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        return {}

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        return [WriteResult(u.key, True) for u in updates]

    def close(self) -> None:
        pass


def accepting_writer(
    target: str, settings: Settings, accounting: CallAccounting
) -> AcceptingWriter:
    """`run_sync`'s `writer_factory`: an `AcceptingWriter` for every target."""
    return AcceptingWriter()
