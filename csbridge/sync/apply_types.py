"""What apply reports and how it is configured; batching helpers shared by its parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from csbridge.connectors.protocol import BatchRejectedError, WriteResult

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """A write that did not land in this run, with the CRM's (or our) reason."""

    kind: str  # record | task | notification
    ref: str
    account_id: str
    reason: str


@dataclass
class ApplyReport:
    """What one apply did in one CRM."""

    target: str
    records_updated: int = 0
    fields_written: int = 0
    tags_changed: int = 0
    tasks_created: int = 0
    tasks_found: int = 0
    tasks_completed: int = 0  # csbridge's tasks seen completed in the CRM since the last run
    tasks_closed: int = 0  # open tasks of ended episodes closed or cancelled by this run
    steps_overdue: dict[str, Any] | None = None  # sequence tasks open past their due date
    notifications_sent: int = 0
    notifications_skipped: int = 0
    failed: list[Failure] = field(default_factory=list)
    stopped: str | None = None
    task_budget: dict[str, Any] | None = None  # set when tasks go through the budget

    @property
    def ok(self) -> bool:
        """True when every planned write landed."""
        return not self.failed and self.stopped is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_updated": self.records_updated,
            "fields_written": self.fields_written,
            "tags_changed": self.tags_changed,
            "tasks_created": self.tasks_created,
            "tasks_found_existing": self.tasks_found,
            "tasks_completed": self.tasks_completed,
            "tasks_closed": self.tasks_closed,
            "notifications_sent": self.notifications_sent,
            "notifications_skipped": self.notifications_skipped,
            "failed_records": [vars(f) for f in self.failed],
            "stopped": self.stopped,
        } | {
            name: value
            for name, value in (
                ("task_budget", self.task_budget),
                ("steps_overdue", self.steps_overdue),
            )
            if value is not None
        }


@dataclass
class ApplyOptions:
    object_type: str
    tag_field: str | None = None
    fallback_owner_id: str | None = None
    bulk_threshold: int = 2000
    lookup_delay: float = 0.0
    tasks_alongside: bool = False  # look up and create tasks while the records go out
    run_id: str | None = None
    # called before each write batch: raises `LockLostError` once the run's lock is lost
    verify_lock: Callable[[], None] = field(default=lambda: None, compare=False)


def split_on_rejection(
    batch: Sequence[T],
    send: Callable[[Sequence[T]], list[WriteResult]],
    ref: Callable[[T], str],
) -> list[WriteResult]:
    """Send `batch`; if the CRM refuses it whole, send each half, down to the bad item."""
    try:
        return send(batch)
    except BatchRejectedError as exc:
        if len(batch) == 1:
            return [WriteResult(ref(batch[0]), False, error=exc.reason)]
        middle = len(batch) // 2
        return split_on_rejection(batch[:middle], send, ref) + split_on_rejection(
            batch[middle:], send, ref
        )
