"""What a connector implements: the `Source` protocol for pulls, `CrmWriter` for writes.

A `Source` names its streams in a safe order (owners before the records that point at
them) and says what moment a stream's cursor stands for (its watermark). Each vendor
folder builds one from a `SourceContext`; `csbridge.connectors.registry` maps the
name to that factory.

What `apply` needs from a CRM: the write protocol each CRM connector implements.

`apply` asks a writer for its capabilities (`bulk`, `tasks_alongside`, `search_lag`)
rather than for its name, so a new CRM declares what it can do and nothing in
`sync/` changes.

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from csbridge.config import Settings
from csbridge.errors import CsbridgeError
from csbridge.http.accounting import CallAccounting
from csbridge.http.paginate import Page
from csbridge.models import FieldValue

Read = Callable[[str | None], Iterable[Page[Any]]]
"""A stream's reader: the stored cursor (None on a first run) → its pages."""

T = TypeVar("T")


@dataclass(frozen=True)
class SourceContext:
    """What a source factory gets: the config, the run's call counter, the facts the
    store already holds for this source (`stored(Ticket)`), and a dict for figures that
    go into the run report (e.g. the Mixpanel events skipped)."""

    settings: Settings
    accounting: CallAccounting
    stored: Callable[[type[Any]], list[Any]]
    report: dict[str, Any] = field(default_factory=dict)
    # the account fields each source showed this pull ("Salesforce Account" -> whether
    # it ignores case, names), shared by the sources of one pull (`signal_fields`)
    account_fields: dict[str, tuple[bool, frozenset[str]]] = field(default_factory=dict)


class Source(Protocol):
    """One system to pull: its streams, in the order they must run, and their watermarks."""

    def streams(self) -> Iterable[tuple[str, Read]]:
        """(stream name without the source's prefix, reader) in a safe order."""
        ...

    def watermark(self, stream: str, token: str) -> datetime | None:
        """The time a stream's cursor stands for (None for an opaque cursor)."""
        ...


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
class NoteCreate:
    """A report attached to an account record as a note: `key` (account:note-kind:period)
    finds it again; `html` is the body (HubSpot `hs_note_body`, Salesforce Content)."""

    key: str
    record_id: str
    title: str
    html: str
    owner_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskState:
    """A csbridge task as the CRM holds it now: completed or still open, and who
    completed it when (the task's owner and its last change: the CRMs' APIs do not name
    the user who closed it)."""

    id: str
    completed: bool
    owner_id: str | None = None
    changed_at: datetime | None = None
    status: str | None = None  # the CRM's own value (Salesforce Status, hs_task_status)
    due: date | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """A new status and description for one csbridge task (closing it when its episode
    ended); `key` is csbridge's key, `task_id` the CRM's id."""

    key: str
    task_id: str
    status: str
    description: str


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
        """The target's name in the registry (the ledger keys its rows by it)."""
        ...

    @property
    def bulk(self) -> bool:
        """True when `bulk_update` runs one bulk job, worth it above `bulk_threshold` records."""
        ...

    @property
    def tasks_alongside(self) -> bool:
        """True when the CRM meters task searches apart from other calls, so the task
        lookups and creates may go out while the record updates do."""
        ...

    @property
    def search_lag(self) -> float:
        """Seconds a created task may take to show up in the CRM's search (0: at once);
        a lookup of tasks created that recently waits this long first."""
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

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        """The state of csbridge's tasks by key (the oldest task of a key), read in the
        same batched lookups as `find_tasks`."""
        ...

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        """Set the status and description of up to `batch_size` tasks in one request;
        `WriteResult.ref` is the task key."""
        ...

    def close(self) -> None:
        """Release the HTTP connections."""
        ...


class NoteWriter(Protocol):
    """A CRM's notes: created in batches, found again by csbridge's key (see `sync.notes`)."""

    @property
    def name(self) -> str: ...

    @property
    def note_batch_size(self) -> int:
        """The most notes one create request may carry."""
        ...

    @property
    def search_lag(self) -> float:
        """Seconds a created note may take to show up in `find_notes` (0: at once)."""
        ...

    def create_notes(self, notes: Sequence[NoteCreate]) -> list[WriteResult]:
        """Create up to `note_batch_size` notes on their records, each linked (associated)
        to its account in the same request; `WriteResult.ref` is the note's key."""
        ...

    def find_notes(self, notes: Sequence[NoteCreate]) -> dict[str, str]:
        """The notes of `notes` that already exist on their records: key → note id."""
        ...
