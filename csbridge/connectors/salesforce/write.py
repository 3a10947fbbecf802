"""Salesforce write side through simple-salesforce on our session: sObject Collections for
updates and task creates (200 records a call, `allOrNone: false`, per-record results in
request order), Bulk API 2.0 for large updates, SOQL for reads and task lookups.

An update is marked idempotent (the session's policy may resend it after a 5xx or a
timeout); a task create is not, so its unknown outcome raises `UnknownOutcomeError` and
`apply` looks the tasks up by key. `UNABLE_TO_LOCK_ROW` on a record is retryable.
In a Bulk 2.0 CSV an empty cell leaves a field as it is and `#N/A` clears it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from csbridge.config import SalesforceSettings, Settings
from csbridge.connectors.crm_schema import check_missing_field
from csbridge.connectors.protocol import (
    BatchRejectedError,
    NoteWriter,
    RecordUpdate,
    TaskCreate,
    TaskState,
    TaskUpdate,
    WriteResult,
    chunks,
)
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.soql import soql_string
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.connectors.salesforce.task_states import IDS_PER_QUERY
from csbridge.connectors.salesforce.task_states import task_states as read_task_states
from csbridge.errors import VENDOR_TEXT_MAX, CsbridgeError, one_line
from csbridge.http.client import ApiClient, CallAccounting
from csbridge.http.errors import FatalHttpError, SimpleResponse
from csbridge.http.policy import ENDPOINT_HEADER, IDEMPOTENT_HEADER
from csbridge.mappings.fields import CrmFieldMapping, load_field_mapping
from csbridge.models import FieldValue

SYSTEM = "salesforce"
MAX_BATCH = 200  # sObject Collections: at most 200 records a request
SUBJECT_MAX = 255
RETRYABLE = frozenset({"UNABLE_TO_LOCK_ROW"})
T = TypeVar("T")


def csv_value(value: FieldValue) -> str:
    """A Bulk 2.0 CSV cell: `#N/A` clears (an empty cell would leave the value as it is)."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SalesforceWriter:
    """The `CrmWriter` for Salesforce accounts and tasks (see `csbridge.connectors.protocol`)."""

    def __init__(
        self,
        sf: Salesforce,
        client: ApiClient,
        mapping: CrmFieldMapping,
        batch_size: int = MAX_BATCH,
        bulk_wait: float = 2.0,
    ) -> None:
        self.sf = sf
        self.client = client
        self.mapping = mapping
        self._batch_size = min(batch_size, MAX_BATCH)  # the API's maximum caps the config's
        self.bulk_wait = bulk_wait

    def close(self) -> None:
        """Release the HTTP connections (kept alive between the calls of one run)."""
        self.client.close()

    @property
    def name(self) -> str:
        return SYSTEM

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def bulk(self) -> bool:
        """Bulk API 2.0: one job for any number of records."""
        return True

    @property
    def tasks_alongside(self) -> bool:
        """The daily-quota guard counts calls one by one: tasks go after the records."""
        return False

    @property
    def search_lag(self) -> float:
        """SOQL sees a created task at once."""
        return 0.0

    def notes(self) -> NoteWriter:
        """Report notes on the accounts (`csbridge.connectors.salesforce.notes`)."""
        from csbridge.connectors.salesforce.notes import SalesforceNotes

        return SalesforceNotes(self)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """One `PATCH composite/sobjects` of the account object."""
        if not updates:
            return []
        records = [
            {"attributes": {"type": self.mapping.object}, "id": u.record_id, **u.fields}
            for u in updates
        ]
        answer = self._collection("PATCH", records, f"{self.mapping.object} collection update")
        return [_result(u.record_id, row) for u, row in zip(updates, answer, strict=True)]

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """One Bulk API 2.0 update job; failed rows come from the job's failed results."""
        if not updates:
            return []
        rows = [
            {"Id": u.record_id, **{k: csv_value(v) for k, v in u.fields.items()}} for u in updates
        ]
        handler = getattr(self.sf.bulk2, self.mapping.object)
        label = f"bulk2 {self.mapping.object} update"
        try:
            jobs = self._call(
                label, lambda: handler.update(records=rows, wait=self.bulk_wait), write=True
            )
        except SalesforceOperationError as exc:
            raise BatchRejectedError(SYSTEM, f"{label}: {exc}") from None
        failed: dict[str, str] = {}
        for job in jobs:
            if int(job.get("numberRecordsFailed") or 0) == 0:
                continue
            text = self._call(label, partial(handler.get_failed_records, job["job_id"]))
            for row in csv.DictReader(io.StringIO(text)):
                ref = row.get("Id") or row.get("sf__Id") or ""
                failed[ref[:15]] = row.get("sf__Error") or "UNKNOWN: no error text"
        results: list[WriteResult] = []
        for u in updates:
            error = failed.get(u.record_id[:15])
            if error is None:
                results.append(WriteResult(u.record_id, True, id=u.record_id))
            else:
                code, _, message = error.partition(":")
                message = message.removesuffix(" --").rstrip(":").strip()
                results.append(
                    WriteResult(
                        u.record_id,
                        False,
                        error=f"{code}: {message}",
                        retryable=code in RETRYABLE,
                    )
                )
        return results

    def read_field(self, record_ids: Sequence[str], field: str) -> dict[str, str | None]:
        """SOQL by Id (300 ids a query); records that do not exist are left out."""
        by_prefix = {rid[:15]: rid for rid in record_ids}
        values: dict[str, str | None] = {}
        for batch in chunks(list(by_prefix.values()), IDS_PER_QUERY):
            ids = ", ".join(soql_string(i) for i in batch)
            soql = f"SELECT Id, {field} FROM {self.mapping.object} WHERE Id IN ({ids})"
            body = self._call(f"query {self.mapping.object}", partial(self.sf.query_all, soql))
            for row in body.get("records") or []:
                rid = by_prefix.get(str(row["Id"])[:15], str(row["Id"]))
                values[rid] = _text(row.get(field))
        return values

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        """One `POST composite/sobjects` of tasks (never resent), key in the key field."""
        if not tasks:
            return []
        records = [self._task_record(t) for t in tasks]
        answer = self._collection("POST", records, f"{self.mapping.task.object} collection create")
        return [_result(t.key, row) for t, row in zip(tasks, answer, strict=True)]

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        """key → the oldest task's id (see `task_states`)."""
        return {key: state.id for key, state in self.task_states(keys).items()}

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        """key → the oldest task's state (Status 'Completed' is completed); see
        `task_states` for how many queries that takes."""
        task, key_field = self.mapping.task.object, self.mapping.task.key_field

        def query(soql: str) -> Mapping[str, Any]:
            answer: Mapping[str, Any] = self._call(
                f"query {task}", partial(self.sf.query_all, soql)
            )
            return answer

        def count(soql: str) -> int:  # query_all would count the records it returns
            answer = self._call(f"query {task}", partial(self.sf.query, soql))
            return int(answer.get("totalSize") or 0)

        return read_task_states(query, count, task, key_field, keys)

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        """One `PATCH composite/sobjects` of tasks: Status and Description (shown as
        Comments) by id."""
        if not updates:
            return []
        records = [
            {
                "attributes": {"type": self.mapping.task.object},
                "id": u.task_id,
                "Status": u.status,
                "Description": u.description,
            }
            for u in updates
        ]
        answer = self._collection("PATCH", records, f"{self.mapping.task.object} collection update")
        return [_result(u.key, row) for u, row in zip(updates, answer, strict=True)]

    def _task_record(self, task: TaskCreate) -> dict[str, Any]:
        record: dict[str, Any] = {
            "attributes": {"type": self.mapping.task.object},
            "WhatId": task.record_id,
            "Subject": task.subject[:SUBJECT_MAX],
            "Description": task.description,
            "Status": "Not Started",
            self.mapping.task.key_field: task.key,
        }
        if task.due is not None:
            record["ActivityDate"] = task.due.isoformat()
        if task.owner_id:
            record["OwnerId"] = task.owner_id
        return record

    def _collection(
        self, method: str, records: list[dict[str, Any]], endpoint: str
    ) -> list[Mapping[str, Any]]:
        idempotent = method == "PATCH"
        headers = {ENDPOINT_HEADER: endpoint, IDEMPOTENT_HEADER: "1" if idempotent else "0"}

        def send() -> Any:
            return self.sf.restful(
                "composite/sobjects",
                method=method,
                json={"allOrNone": False, "records": records},
                headers=headers,
            )

        answer = self._call(endpoint, send, safe=idempotent, write=True)
        if not isinstance(answer, list) or len(answer) != len(records):
            raise BatchRejectedError(
                SYSTEM, f"{endpoint}: expected {len(records)} results, got {_size(answer)}"
            )
        return answer

    def _call(
        self, endpoint: str, fn: Callable[[], T], safe: bool = True, write: bool = False
    ) -> T:
        """Run a simple-salesforce call; its HTTP errors become ours (a 400 to a write
        rejects the batch; to a query, e.g. an unknown field, it is a fatal error)."""
        try:
            return fn()
        except SalesforceError as exc:
            content = exc.content
            if exc.status == 400:
                check_missing_field(SYSTEM, endpoint, _reason(content))
            if exc.status == 400 and write:
                raise BatchRejectedError(SYSTEM, f"{endpoint}: {_reason(content)}") from None
            if exc.status == 400:
                raise FatalHttpError(
                    SYSTEM, endpoint, f"HTTP 400: {_reason(content)}", 400
                ) from None
            text = content if isinstance(content, str) else json.dumps(content, default=str)
            verdict = self.client.classify(SimpleResponse(int(exc.status), {}, text))
            self.client.raise_for_verdict(verdict, endpoint, int(exc.status), safe)
            raise


def _size(answer: Any) -> str:
    return str(len(answer)) if isinstance(answer, list) else "no list"


def _reason(content: Any) -> str:
    """`errorCode: message` of Salesforce's error list, or the text (one line, shortened)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        text = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in content)
        return one_line(text, VENDOR_TEXT_MAX)
    return one_line(str(content), VENDOR_TEXT_MAX)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _result(ref: str, row: Mapping[str, Any]) -> WriteResult:
    """One sObject Collections result: `{id, success, errors: [{statusCode, message, fields}]}`."""
    if row.get("success"):
        return WriteResult(ref, True, id=str(row.get("id")))
    errors = list(row.get("errors") or [])
    text = "; ".join(
        f"{e.get('statusCode')}: {e.get('message')}"
        + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    retryable = any(e.get("statusCode") in RETRYABLE for e in errors)
    error = one_line(text, VENDOR_TEXT_MAX) or "UNKNOWN: no error given"
    return WriteResult(ref, False, error=error, retryable=retryable)


def salesforce_writer(
    settings: Settings,
    accounting: CallAccounting | None = None,
    token: str | None = None,
    bulk_wait: float = 2.0,
) -> SalesforceWriter:
    """The Salesforce writer from the config: `sources.salesforce` and `crm.salesforce`."""
    source: SalesforceSettings | None = settings.sources.salesforce
    if source is None:
        raise CsbridgeError(
            "sources.salesforce is missing: writing to Salesforce needs its instance_url, "
            "client_id and client_secret"
        )
    target = settings.crm.salesforce
    client = salesforce_client(source, settings.http, accounting)
    return SalesforceWriter(
        open_salesforce(source, client, token),
        client,
        load_field_mapping("salesforce", target.mapping),
        batch_size=target.batch_size or MAX_BATCH,
        bulk_wait=bulk_wait,
    )
