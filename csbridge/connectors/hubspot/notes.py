"""HubSpot report notes: CRM v3 `notes`, created in batches of 100 with their company
association (note → company, type 190), found again by csbridge's key property.

`hs_note_body` takes HTML (up to 65,536 characters: `sync.notes` keeps to it);
`hs_timestamp` dates the note on the company's timeline. The key (`csbridge_note_key`,
created by `init-crm`) also marks the note as csbridge's own, so the activities pull
never counts it as engagement.
A create is never resent (`apply` looks the keys up instead); search is eventually
consistent, which `sync.notes` waits out like it does for tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from csbridge.connectors.hubspot.write import HubspotWriter, _outcomes
from csbridge.connectors.protocol import NoteCreate, WriteResult
from csbridge.errors import CsbridgeError

NOTE_TO_COMPANY = ({"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190},)


class HubspotNotes:
    """The `NoteWriter` of HubSpot, over the writer's session and mapping."""

    def __init__(self, writer: HubspotWriter) -> None:
        if writer.mapping.note is None:
            raise CsbridgeError(
                "hubspot mapping: note is missing; map it (note: {object: notes, key_field: "
                "csbridge_note_key}) and run `csbridge init-crm`"
            )
        self.writer = writer
        self.object, self.key_field = writer.mapping.note.object, writer.mapping.note.key_field

    @property
    def name(self) -> str:
        return self.writer.name

    @property
    def note_batch_size(self) -> int:
        return self.writer.batch_size

    @property
    def search_lag(self) -> float:
        return self.writer.search_lag

    def create_notes(self, notes: Sequence[NoteCreate]) -> list[WriteResult]:
        """One `notes/batch/create`, each note associated to its company."""
        if not notes:
            return []
        now = self.writer.now().astimezone(UTC)
        body = self.writer._post(
            f"/crm/v3/objects/{self.object}/batch/create",
            {"inputs": [self._input(n, now) for n in notes]},
            f"{self.object} batch create",
            idempotent=False,
            write=True,
        )
        made = {
            str((r.get("properties") or {}).get(self.key_field)): str(r.get("id"))
            for r in body.get("results") or []
        }
        return _outcomes([n.key for n in notes], made, body)

    def find_notes(self, notes: Sequence[NoteCreate]) -> dict[str, str]:
        """Search notes by key (IN of up to 100 keys, paged): key → the oldest note's id."""
        found: dict[str, str] = {}
        keys = (n.key for n in notes)
        for row in self.writer._search_keys(
            self.object, self.key_field, keys, (), self.writer.batch_size
        ):
            key = (row.get("properties") or {}).get(self.key_field)
            if key:
                found.setdefault(str(key), str(row.get("id")))
        return found

    def _input(self, note: NoteCreate, now: datetime) -> dict[str, Any]:
        return {
            "properties": {
                "hs_timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "hs_note_body": note.html,
                self.key_field: note.key,
            },
            "objectWriteTraceId": note.key,
            "associations": [{"to": {"id": note.record_id}, "types": NOTE_TO_COMPANY}],
        }
