"""Call accounting for the run report: how many calls per system, endpoint label and status."""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass

_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-.]{6,}$|^\d+$")


def endpoint_label(path: str) -> str:
    """A low-cardinality label for a URL path: no query string, ids masked as `{id}`.

    `/services/data/v62.0/sobjects/Account/001XX000003DHP0?x=1` becomes
    `/services/data/v62.0/sobjects/Account/{id}`. Version segments like `v62.0` stay.
    """
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    parts = []
    for segment in path.split("/"):
        is_version = bool(re.fullmatch(r"v\d+(\.\d+)?", segment))
        parts.append(
            "{id}" if segment and not is_version and _ID_SEGMENT.match(segment) else segment
        )
    return "/".join(parts) or "/"


@dataclass(frozen=True)
class CallCount:
    """One row of the run report's API table."""

    system: str
    endpoint: str
    status: str
    count: int


class CallAccounting:
    """Thread-safe counters of API calls by (system, endpoint, status)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, system: str, endpoint: str, status: int | str) -> None:
        """Count one call; `status` is the HTTP status or a transport failure kind."""
        with self._lock:
            self._counts[(system, endpoint, str(status))] += 1

    def count(
        self,
        system: str | None = None,
        endpoint: str | None = None,
        status: int | str | None = None,
    ) -> int:
        """Calls matching every filter given."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (sys_, end, st), n in items
            if (system is None or sys_ == system)
            and (endpoint is None or end == endpoint)
            and (status is None or st == str(status))
        )

    def rows(self) -> list[CallCount]:
        """All counters, sorted, for the run report."""
        with self._lock:
            items = sorted(self._counts.items())
        return [CallCount(s, e, st, n) for (s, e, st), n in items]
