"""What `apply` needs from a CRM: the write protocol each CRM connector implements.

One call of a writer is one API request (or one Bulk job): `apply` decides the batches,
the retries of failed records, the ledger and the report. A writer never retries a
create on its own (the HTTP layer raises `UnknownOutcomeError` when a create may have
happened); `apply` looks the tasks up by their key first.

Per-record outcomes come back as `WriteResult`s in the order of the input. A failure
that concerns the whole request (bad auth, a 400 for the whole batch) raises
`BatchRejectedError` with the reason; transport failures raise the HTTP layer's errors
(`RetriesExhaustedError`, `QuotaExhaustedError`, `UnknownOutcomeError`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from csbridge.errors import CsbridgeError
from csbridge.sync.changes import FieldValue

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """`items` in consecutive batches of at most `size` (the last one may be shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """New values for some fields of one account record (API names; tags already joined)."""

    record_id: str
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True, slots=True)
class TaskCreate:
    """One follow-up task on an account record, carrying csbridge's key in the key field."""

    key: str
    record_id: str
    subject: str
    description: str = ""
    due: date | None = None
    owner_id: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one record or task: `ref` is the record id or the task key.

    `retryable` marks a transient per-record failure (a row lock, a per-record 5xx) that
    the same run may try again; other failures wait for the next run.
    """

    ref: str
    ok: bool
    id: str | None = None
    error: str | None = None
    retryable: bool = False


class BatchRejectedError(CsbridgeError):
    """The CRM refused a whole request (e.g. one invalid value fails a HubSpot batch)."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target}: batch rejected: {reason}")
        self.target = target
        self.reason = reason


class CrmWriter(Protocol):
    """A CRM's write side, as `apply` drives it."""

    @property
    def name(self) -> str:
        """The target's name: "salesforce" or "hubspot"."""
        ...

    @property
    def batch_size(self) -> int:
        """The most records or tasks one request may carry (HubSpot 100, Salesforce 200)."""
        ...

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """Update up to `batch_size` account records in one request."""
        ...

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """Update any number of records in one bulk job (Salesforce Bulk API 2.0); a CRM
        without a bulk API updates them in batches of `batch_size`."""
        ...

    def read_field(self, record_ids: Sequence[str], field: str) -> dict[str, str | None]:
        """Current values of one field (the tags field, for a read-modify-write)."""
        ...

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        """Create up to `batch_size` tasks in one request; `WriteResult.id` is the task id."""
        ...

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        """Tasks that already exist in the CRM by csbridge key: key → task id."""
        ...

    def close(self) -> None:
        """Release the HTTP connections."""
        ...
