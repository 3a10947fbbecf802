"""Salesforce report notes: a ContentNote linked to the Account by a ContentDocumentLink.

Each note and its link go out as two subrequests of one Composite call with
`allOrNone`: the link refers to the note's new id (`@{noteN.id}`), and a failed link
rolls its note back, so no note is ever left unlinked (invisible to everyone but the
integration user). 25 subrequests a call: 12 notes. A rejected call is split by
`apply` down to the bad note.

`Content` is base64 of the note's HTML (special characters escaped, no line breaks:
Salesforce strips those). The link shares the note the way the account is shared
(`ShareType: I`, inferred) with internal users only (`Visibility: InternalUsers`).
ContentNote has no custom fields, so a note is found again by its link to the account
and its title, `<report> — <account> — <period>`: links of the accounts whose
document title starts with the report's heading and ends with the period (a renamed
account still matches).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from csbridge.connectors.protocol import BatchRejectedError, NoteCreate, WriteResult, chunks
from csbridge.connectors.salesforce.soql import soql_string
from csbridge.errors import VENDOR_TEXT_MAX, one_line
from csbridge.http.policy import ENDPOINT_HEADER, IDEMPOTENT_HEADER

if TYPE_CHECKING:
    from csbridge.connectors.salesforce.write import SalesforceWriter

SYSTEM = "salesforce"
SUBREQUESTS = 25  # Composite: at most 25 subrequests a call
IDS_PER_QUERY = 300
TITLE_SEPARATOR = " — "
HALTED = "PROCESSING_HALTED"


class SalesforceNotes:
    """The `NoteWriter` of Salesforce, over the writer's simple-salesforce session."""

    def __init__(self, writer: SalesforceWriter) -> None:
        self.writer = writer
        self.base = urlparse(writer.sf.base_url).path.rstrip("/")

    @property
    def name(self) -> str:
        return SYSTEM

    @property
    def note_batch_size(self) -> int:
        return SUBREQUESTS // 2

    @property
    def search_lag(self) -> float:
        return 0.0

    def create_notes(self, notes: Sequence[NoteCreate]) -> list[WriteResult]:
        """One Composite call: per note a ContentNote create and its ContentDocumentLink."""
        if not notes:
            return []
        requests: list[dict[str, Any]] = []
        for i, note in enumerate(notes):
            content = base64.b64encode(note.html.encode("utf-8")).decode("ascii")
            requests += [
                {
                    "method": "POST",
                    "url": f"{self.base}/sobjects/ContentNote",
                    "referenceId": f"note{i}",
                    "body": {"Title": note.title[:255], "Content": content},
                },
                {
                    "method": "POST",
                    "url": f"{self.base}/sobjects/ContentDocumentLink",
                    "referenceId": f"link{i}",
                    "body": {
                        "ContentDocumentId": f"@{{note{i}.id}}",
                        "LinkedEntityId": note.record_id,
                        "ShareType": "I",
                        "Visibility": "InternalUsers",
                    },
                },
            ]
        endpoint = "composite ContentNote create"
        headers = {ENDPOINT_HEADER: endpoint, IDEMPOTENT_HEADER: "0"}

        def send() -> Any:
            return self.writer.sf.restful(
                "composite",
                method="POST",
                json={"allOrNone": True, "compositeRequest": requests},
                headers=headers,
            )

        answer = self.writer._call(endpoint, send, safe=False, write=True)
        rows = {r.get("referenceId"): r for r in (answer or {}).get("compositeResponse") or []}
        errors = [_error(r) for r in rows.values() if int(r.get("httpStatusCode") or 0) >= 300]
        reasons = [e for e in errors if not e.startswith(HALTED)]
        if errors:
            reason = "; ".join(reasons or errors)
            if len(notes) > 1:  # all or none: `apply` splits to find the bad note
                raise BatchRejectedError(SYSTEM, f"{endpoint}: {reason}")
            return [WriteResult(notes[0].key, False, error=reason)]
        return [
            WriteResult(n.key, True, id=str((rows[f"note{i}"].get("body") or {}).get("id")))
            for i, n in enumerate(notes)
        ]

    def find_notes(self, notes: Sequence[NoteCreate]) -> dict[str, str]:
        """Links of the notes' accounts (300 a query) to a document whose title has a
        wanted heading and period: key → the note (ContentDocument) id."""
        wanted = {(n.record_id[:15], *_ends(n.title)): n.key for n in notes}
        patterns = sorted(
            {f"{head}{TITLE_SEPARATOR}%{TITLE_SEPARATOR}{end}" for _, head, end in wanted}
        )
        likes = " OR ".join(f"ContentDocument.Title LIKE {soql_string(p)}" for p in patterns)
        found: dict[str, str] = {}
        records = sorted({n.record_id for n in notes})
        for batch in chunks(records, IDS_PER_QUERY):
            ids = ", ".join(soql_string(r) for r in batch)
            soql = (
                "SELECT ContentDocumentId, LinkedEntityId, ContentDocument.Title "
                f"FROM ContentDocumentLink WHERE LinkedEntityId IN ({ids}) AND ({likes})"
            )
            body = self.writer._call(
                "query ContentDocumentLink", partial(self.writer.sf.query_all, soql)
            )
            for row in body.get("records") or []:
                title = str((row.get("ContentDocument") or {}).get("Title") or "")
                key = wanted.get((str(row.get("LinkedEntityId"))[:15], *_ends(title)))
                if key is not None:
                    found.setdefault(key, str(row["ContentDocumentId"]))
        return found


def _ends(title: str) -> tuple[str, str]:
    """A note title's heading and period (its first and last parts)."""
    parts = title.split(TITLE_SEPARATOR)
    return parts[0], parts[-1]


def _error(row: Mapping[str, Any]) -> str:
    body = row.get("body")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        text = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body)
        return one_line(text, VENDOR_TEXT_MAX)
    return f"HTTP {row.get('httpStatusCode')}"
