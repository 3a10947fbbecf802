"""Reading csbridge's tasks back from Salesforce by key (`SalesforceWriter.task_states`).

A SOQL query goes out as a GET, so a key list fits 300 keys a query (the URL stays near
9 kB); 10,000 open keys take 34 queries. When more keys are asked than one query holds,
the open tasks that carry a key are read by a condition instead (`key field != null AND
IsClosed = false`, no key list), 2,000 rows an answer page (`nextRecordsUrl`), and kept
when their key was asked; the keys not found open (completed or deleted since, or
closed with another status) are then looked up by key as before. A `COUNT()` first makes
sure the org holds no more open keyed tasks than the keys asked, so this never reads
more rows than the lookup by key would (another deployment's tasks in the same org, or
a store that lost its ledger, keep the lookup by key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from csbridge.connectors.protocol import TaskState, chunks
from csbridge.connectors.salesforce.soql import parse_date, parse_datetime, soql_string

IDS_PER_QUERY = 300  # ~30 URL-encoded bytes an id: the query URL stays near 9 kB (< 16 kB)
COLUMNS = "Status, OwnerId, LastModifiedDate, ActivityDate, Description"
ORDER = "ORDER BY CreatedDate, Id"  # a key's oldest task first

Query = Callable[[str], Mapping[str, Any]]  # SOQL -> the answer with every page's records
Count = Callable[[str], int]  # a `SELECT COUNT()` -> its totalSize


def task_states(
    query: Query, count: Count, task: str, key_field: str, keys: Sequence[str]
) -> dict[str, TaskState]:
    """key → the state of its task (the oldest one, for a key looked up by key)."""
    wanted = sorted(set(keys))
    found: dict[str, TaskState] = {}
    select = f"SELECT Id, {key_field}, {COLUMNS} FROM {task}"
    if len(wanted) > IDS_PER_QUERY:
        condition = f"{key_field} != null AND IsClosed = false"
        if count(f"SELECT COUNT() FROM {task} WHERE {condition}") <= len(wanted):
            asked = set(wanted)
            rows = query(f"{select} WHERE {condition} {ORDER}").get("records") or []
            _collect(found, (r for r in rows if r.get(key_field) in asked), key_field)
    rest = [key for key in wanted if key not in found]
    for batch in chunks(rest, IDS_PER_QUERY):
        listed = ", ".join(soql_string(k) for k in batch)
        rows = query(f"{select} WHERE {key_field} IN ({listed}) {ORDER}").get("records") or []
        _collect(found, rows, key_field)
    return found


def _collect(
    found: dict[str, TaskState], rows: Iterable[Mapping[str, Any]], key_field: str
) -> None:
    """Each row's state under its key, the first (oldest) row of a key kept."""
    for row in rows:
        if row.get(key_field):
            state = TaskState(
                str(row["Id"]),
                row.get("Status") == "Completed",
                row.get("OwnerId"),
                parse_datetime(row.get("LastModifiedDate")),
                row.get("Status"),
                parse_date(row.get("ActivityDate")),
                row.get("Description"),
            )
            found.setdefault(str(row[key_field]), state)
