"""HubSpot write side over our HTTP layer: company batch updates, task batch creates, reads.

Why `ApiClient` and not the SDK's batch API: the SDK's urllib3 retry never retries a POST
and every batch endpoint is a POST; here an update is marked idempotent (safe to resend
after a 429, a 5xx or a timeout) and a task create is not, so a create whose outcome is
unknown raises `UnknownOutcomeError` and `apply` looks the tasks up by key instead.

Every input carries an `objectWriteTraceId` (the record id, or the task key): that is
HubSpot's opt-in to multi-status, so one invalid value fails only its own record (207)
instead of the whole batch (400). Property values are always strings; a non-string
property must not have surrounding spaces (rejected since April 2025).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

import requests

from csbridge.config import Settings
from csbridge.connectors.crm_schema import check_missing_field
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.records import parse_time
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
from csbridge.errors import VENDOR_TEXT_MAX, CsbridgeError, one_line
from csbridge.http.client import ApiClient, CallAccounting
from csbridge.http.errors import FatalHttpError, json_body
from csbridge.http.policy import BUCKET_HEADER, ENDPOINT_HEADER, IDEMPOTENT_HEADER
from csbridge.mappings.fields import CrmFieldMapping, load_field_mapping
from csbridge.models import FieldValue

SYSTEM = "hubspot"
TASK_STATE_PROPERTIES = (
    "hs_task_status",
    "hubspot_owner_id",
    "hs_lastmodifieddate",
    "hs_timestamp",
    "hs_task_body",
)
MAX_BATCH = 100  # HubSpot answers 400 to a batch of more than 100 inputs
TASK_TO_COMPANY = ({"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192},)
T = TypeVar("T")


def render_value(value: FieldValue, field_type: str | None = None) -> str:
    """A value as HubSpot stores it: a string; "" clears; no spaces around non-text values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CsbridgeError(f"hubspot: {value} is not a number HubSpot accepts")
        # repr -> Decimal -> fixed point: 1e-05 becomes "0.00001", 72.0 becomes "72"
        text = format(Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value if field_type in (None, "text") else value.strip()


class HubspotWriter:
    """The `CrmWriter` for HubSpot companies and tasks (see `csbridge.connectors.protocol`)."""

    def __init__(
        self,
        client: ApiClient,
        mapping: CrmFieldMapping,
        batch_size: int = MAX_BATCH,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        search_lag: float = 0.0,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self._batch_size = min(batch_size, MAX_BATCH)  # the API's maximum caps the config's
        self.now = now
        self._search_lag = search_lag
        self._types = {spec.api_name: spec.type for spec in mapping.write.values()}

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
        """HubSpot has no bulk API: `bulk_update` is batches of `batch_size`."""
        return False

    @property
    def tasks_alongside(self) -> bool:
        """HubSpot meters searches apart from other calls (4/s vs 100 per 10 s)."""
        return True

    @property
    def search_lag(self) -> float:
        """A created task reaches HubSpot's search index seconds later (`task_lookup_delay`)."""
        return self._search_lag

    def notes(self) -> NoteWriter:
        """Report notes on the companies (`csbridge.connectors.hubspot.notes`)."""
        from csbridge.connectors.hubspot.notes import HubspotNotes

        return HubspotNotes(self)

    def update_records(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """One `batch/update` of the account object; 207 errors fail only their records."""
        if not updates:
            return []
        inputs = [
            {
                "id": u.record_id,
                "objectWriteTraceId": u.record_id,
                "properties": {k: render_value(v, self._types.get(k)) for k, v in u.fields.items()},
            }
            for u in updates
        ]
        return self._batch_update(self.mapping.object, inputs)

    def bulk_update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """HubSpot has no bulk API: `batch/update` calls of `batch_size`. A batch HubSpot
        rejects as a whole fails its records with the reason (the other batches landed)."""
        results: list[WriteResult] = []
        for batch in chunks(updates, self._batch_size):
            try:
                results.extend(self.update_records(batch))
            except BatchRejectedError as exc:
                error = f"BATCH_REJECTED: {exc.reason}"
                results.extend(WriteResult(u.record_id, False, error=error) for u in batch)
        return results

    def read_field(self, record_ids: Sequence[str], field: str) -> dict[str, str | None]:
        """`batch/read` of one property (100 ids a call); records that do not exist are left out."""
        values: dict[str, str | None] = {}
        for batch in chunks(record_ids, MAX_BATCH):
            body = self._post(
                f"/crm/v3/objects/{self.mapping.object}/batch/read",
                {"properties": [field], "inputs": [{"id": i} for i in batch]},
                f"{self.mapping.object} batch read",
                idempotent=True,
            )
            for row in body.get("results") or []:
                value = (row.get("properties") or {}).get(field)
                values[str(row.get("id"))] = value if value not in (None, "") else None
        return values

    def create_tasks(self, tasks: Sequence[TaskCreate]) -> list[WriteResult]:
        """One `tasks/batch/create` (never resent); each task carries its key in the key
        property and as its `objectWriteTraceId`, associated to its company (type 192)."""
        if not tasks:
            return []
        key_field = self.mapping.task.key_field
        body = self._post(
            f"/crm/v3/objects/{self.mapping.task.object}/batch/create",
            {"inputs": [self._task_input(t) for t in tasks]},
            f"{self.mapping.task.object} batch create",
            idempotent=False,
            write=True,
        )
        made = {
            str((r.get("properties") or {}).get(key_field)): str(r.get("id"))
            for r in body.get("results") or []
        }
        return _outcomes([t.key for t in tasks], made, body)

    def find_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        """key → the oldest task's id (see `task_states`)."""
        return {key: state.id for key, state in self.task_states(keys).items()}

    def task_states(self, keys: Sequence[str]) -> dict[str, TaskState]:
        """Search tasks whose key property is one of `keys` (IN of up to 100 values, paged):
        key → the oldest task's state (hs_task_status COMPLETED is completed).

        Search is eventually consistent: a task created seconds ago may not show yet.
        """
        key_field = self.mapping.task.key_field
        found: dict[str, TaskState] = {}
        rows = self._search_keys(
            self.mapping.task.object, key_field, keys, TASK_STATE_PROPERTIES, MAX_BATCH
        )
        for row in rows:
            props = row.get("properties") or {}
            if props.get(key_field):
                state = TaskState(
                    str(row.get("id")),
                    props.get("hs_task_status") == "COMPLETED",
                    props.get("hubspot_owner_id"),
                    parse_time(props.get("hs_lastmodifieddate")),
                    props.get("hs_task_status"),
                    _day(parse_time(props.get("hs_timestamp"))),
                    props.get("hs_task_body"),
                )
                found.setdefault(str(props[key_field]), state)  # the oldest one wins
        return found

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        """One `tasks/batch/update`: hs_task_status and hs_task_body by id (multi-status:
        an invalid value fails only its task)."""
        if not updates:
            return []
        inputs = [
            {
                "id": u.task_id,
                "objectWriteTraceId": u.task_id,
                "properties": {"hs_task_status": u.status, "hs_task_body": u.description},
            }
            for u in updates
        ]
        keys = {u.task_id: u.key for u in updates}
        results = self._batch_update(self.mapping.task.object, inputs)
        return [replace(r, ref=keys[r.ref]) for r in results]

    def _task_input(self, task: TaskCreate) -> dict[str, Any]:
        due = (
            datetime.combine(task.due, time(0), tzinfo=UTC) if task.due is not None else self.now()
        )
        properties = {
            "hs_timestamp": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "hs_task_subject": task.subject,
            "hs_task_body": task.description,
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            self.mapping.task.key_field: task.key,
        }
        if task.owner_id:
            properties["hubspot_owner_id"] = task.owner_id
        return {
            "properties": properties,
            "objectWriteTraceId": task.key,
            "associations": [{"to": {"id": task.record_id}, "types": TASK_TO_COMPANY}],
        }

    def _batch_update(self, object_type: str, inputs: list[dict[str, Any]]) -> list[WriteResult]:
        """One `batch/update` of `object_type`: a result per input, by its id (207 errors
        fail only their inputs)."""
        body = self._post(
            f"/crm/v3/objects/{object_type}/batch/update",
            {"inputs": inputs},
            f"{object_type} batch update",
            idempotent=True,
            write=True,
        )
        done = {str(r.get("id")): str(r.get("id")) for r in body.get("results") or []}
        return _outcomes([str(i["id"]) for i in inputs], done, body)

    def _search_keys(
        self,
        object_type: str,
        key_field: str,
        keys: Iterable[str],
        properties: Sequence[str],
        size: int,
    ) -> Iterator[dict[str, Any]]:
        """Rows of `object_type` whose `key_field` is one of `keys`, oldest first per batch
        (an IN of up to `size` values, paged through `after`)."""
        for batch in chunks(sorted(set(keys)), size):
            after: str | None = None
            while True:
                wanted = {"propertyName": key_field, "operator": "IN", "values": batch}
                request: dict[str, Any] = {
                    "filterGroups": [{"filters": [wanted]}],
                    "properties": [key_field, *properties],
                    "sorts": [{"propertyName": "hs_createdate", "direction": "ASCENDING"}],
                    "limit": size,
                }
                if after is not None:
                    request["after"] = after
                body = self._post(
                    f"/crm/v3/objects/{object_type}/search",
                    request,
                    f"{object_type} search",
                    idempotent=True,
                    bucket="search",
                )
                yield from body.get("results") or []
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break

    def _post(
        self,
        path: str,
        body: Mapping[str, Any],
        endpoint: str,
        *,
        idempotent: bool,
        bucket: str | None = None,
        write: bool = False,
    ) -> dict[str, Any]:
        """`ApiClient.request`, except that a 400 to a write raises `BatchRejectedError` with
        HubSpot's message (`apply` splits the batch to find the bad record)."""
        headers = {ENDPOINT_HEADER: endpoint, IDEMPOTENT_HEADER: "1" if idempotent else "0"}
        if bucket:
            headers[BUCKET_HEADER] = bucket
        response = self.client.session.post(self.client.url(path), json=body, headers=headers)
        status = response.status_code
        if status == 400:
            check_missing_field(SYSTEM, endpoint, _message(response))
        if status == 400 and write:
            raise BatchRejectedError(SYSTEM, f"{endpoint}: {_message(response)}")
        if status in (400, 404):  # a bad search or read; an object type the portal lacks
            raise FatalHttpError(SYSTEM, endpoint, f"HTTP {status}: {_message(response)}", status)
        self.client.raise_for_verdict(self.client.classify(response), endpoint, status, idempotent)
        if status >= 300:
            raise FatalHttpError(SYSTEM, endpoint, f"HTTP {status}", status)
        data = json_body(response)
        if not isinstance(data, dict):
            raise BatchRejectedError(SYSTEM, f"{endpoint}: the answer is not a JSON object")
        return data


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(UTC).date()


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict) and data.get("message"):
        category = data.get("category")
        text = f"{category}: {data['message']}" if category else str(data["message"])
        return one_line(text, VENDOR_TEXT_MAX)
    return f"HTTP {response.status_code}"


def _outcomes(
    refs: list[str], done: Mapping[str, str], body: Mapping[str, Any]
) -> list[WriteResult]:
    """Per-ref results of a batch answer (200, 201 or 207).

    An error names its refs in `context.ids` (unknown ids) or `context.objectWriteTraceId`
    (invalid values). A ref neither named nor in `results` is failed, not assumed written.
    """
    failed: dict[str, str] = {}
    unnamed: list[str] = []
    for error in body.get("errors") or []:
        text = f"{error.get('category') or 'ERROR'}: {error.get('message') or 'no message'}"
        text = one_line(text, VENDOR_TEXT_MAX)
        check_missing_field(SYSTEM, "batch write", text)  # a schema problem, not a record's
        context = error.get("context") or {}
        named = [*(context.get("ids") or []), *(context.get("objectWriteTraceId") or [])]
        if not named:
            unnamed.append(text)
        for ref in named:
            failed.setdefault(str(ref), text)
    missing = "; ".join(unnamed) or "NOT_IN_ANSWER: HubSpot did not report this record"
    results: list[WriteResult] = []
    for ref in refs:
        if ref in failed:
            results.append(WriteResult(ref, False, error=failed[ref]))
        elif ref in done:
            results.append(WriteResult(ref, True, id=done[ref]))
        else:
            results.append(WriteResult(ref, False, error=missing))
    return results


def hubspot_writer(settings: Settings, accounting: CallAccounting | None = None) -> HubspotWriter:
    """The HubSpot writer from the config: `sources.hubspot` and `crm.hubspot`."""
    source = settings.sources.hubspot
    if source is None:
        raise CsbridgeError(
            "sources.hubspot is missing: writing to HubSpot needs its base_url and access_token"
        )
    target = settings.crm.hubspot
    return HubspotWriter(
        hubspot_client(source, settings.http, accounting),
        load_field_mapping("hubspot", target.mapping),
        batch_size=target.batch_size or MAX_BATCH,
        search_lag=target.task_lookup_delay,
    )
