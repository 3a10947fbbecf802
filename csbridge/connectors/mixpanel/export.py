"""Mixpanel raw export lines: split from a stream of byte chunks and decoded into events.

Pure: no HTTP here. `split_lines` turns a stream of byte chunks into lines without ever
holding more than one chunk plus the longest line; `parse_events` decodes those lines,
re-joins records split across lines and raises on the `terminated early` marker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

TERMINATED_EARLY = b"terminated early"
_MAX_SPLIT_PARTS = 50
_MAX_SPLIT_BYTES = 4 * 1024 * 1024


class ExportTruncated(RuntimeError):
    """The export stream ended with Mixpanel's `terminated early` line: the window is incomplete."""


class MalformedExport(RuntimeError):
    """A line (or a run of lines) that never became a JSON object."""


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a stream of byte chunks on b"\\n" only (never on \\r or other separators)."""
    pending = b""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        start = 0
        while True:
            end = pending.find(b"\n", start)
            if end < 0:
                break
            yield pending[start:end]
            start = end + 1
        pending = pending[start:]
    if pending:
        yield pending


def parse_events(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Decode JSON lines into event dicts.

    Blank lines are skipped. A line that is not valid JSON on its own is joined with the
    following lines (a record split by a raw newline) until the whole parses. The literal
    `terminated early` line raises ExportTruncated, since everything after it is missing.
    """
    parts: list[bytes] = []
    size = 0
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not parts:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped == TERMINATED_EARLY:
                raise ExportTruncated("Mixpanel export stream says 'terminated early'")
            try:
                event = json.loads(stripped)
            except ValueError:
                parts, size = [line], len(line)
                continue
            if isinstance(event, dict):
                yield event
                continue
            raise MalformedExport("export line is JSON but not an object")
        if line.strip() == TERMINATED_EARLY:
            raise ExportTruncated("Mixpanel export stream says 'terminated early'")
        parts.append(line)
        size += len(line)
        try:
            event = json.loads(b"\n".join(parts), strict=False)
        except ValueError:
            if len(parts) >= _MAX_SPLIT_PARTS or size > _MAX_SPLIT_BYTES:
                raise MalformedExport(
                    f"{len(parts)} export lines ({size} bytes) never formed a JSON object"
                ) from None
            continue
        parts, size = [], 0
        if not isinstance(event, dict):
            raise MalformedExport("export record is JSON but not an object")
        yield event
    if parts:
        raise MalformedExport(f"export ended inside a record split over {len(parts)} line(s)")
