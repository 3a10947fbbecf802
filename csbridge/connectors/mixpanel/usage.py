"""Mixpanel raw export events folded on the fly into per-account daily usage.

Pure: no HTTP here (`export.py` decodes the lines). `UsageFold` keeps only per-account,
per-day aggregates (the day's users as a sketch of at most 1 KiB, plus a compact
per-window de-duplication table), so memory does not grow with the size of the export.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from csbridge.distinct import DistinctUsers
from csbridge.models import UsageDay

SESSION_GAP_SECONDS = 30 * 60
_MAX_DURATION_SECONDS = 24 * 3600.0
MAX_FEATURES_PER_DAY = 256  # distinct features kept per account-day (a feature per URL...)


class CompactKeySet:
    """An exact-enough set of 64-bit key hashes in one flat array (11-21 bytes per key).

    Used to drop duplicated events within one export window. A Python set of ints costs
    ~60-70 bytes per entry; this open-addressing table (load under 3/4) never creates objects.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._slots = array("Q", [0]) * size
        self._mask = size - 1
        self.count = 0

    def add(self, key: int) -> bool:
        """Add a 64-bit key; return False if it was already present."""
        key = (key & 0xFFFFFFFFFFFFFFFF) or 1  # 0 marks an empty slot
        slots, mask = self._slots, self._mask
        index = key & mask
        while True:
            current = slots[index]
            if current == 0:
                slots[index] = key
                self.count += 1
                if self.count * 4 > mask * 3:  # keep the load under 3/4
                    self._grow()
                return True
            if current == key:
                return False
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        size = (self._mask + 1) * 2
        self._slots = array("Q", [0]) * size  # no temporary bytes object of the same size
        self._mask = size - 1
        for key in old:
            if key:
                index = key & self._mask
                while self._slots[index]:
                    index = (index + 1) & self._mask
                self._slots[index] = key


def dedupe_key(event: dict[str, Any]) -> int | None:
    """Hash of Mixpanel's duplicate key (event, distinct_id, time, $insert_id); None without id."""
    props = event.get("properties")
    if not isinstance(props, dict):
        return None
    insert_id = props.get("$insert_id")
    if insert_id is None:
        return None
    key = (str(event.get("event")), str(props.get("distinct_id")), str(props.get("time")))
    return hash((*key, str(insert_id)))


@dataclass
class _DayState:
    users: DistinctUsers = field(default_factory=DistinctUsers)
    sessions: int = 0
    events: int = 0
    features: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    last_event: float = 0.0
    last_seen: dict[str, float] = field(default_factory=dict)


@dataclass
class FoldStats:
    """What the fold saw, for the run report: nothing is dropped silently."""

    events: int = 0
    duplicates: int = 0
    unattributed: int = 0
    invalid: int = 0
    outside_window: int = 0
    features_dropped: int = 0


class UsageFold:
    """Folds one export window's events into UsageDay records keyed by (group value, day).

    Days are calendar days in the project's time zone. A session is a run of one user's
    events with gaps under 30 minutes (events arrive roughly in time order); when
    `session_event` is set, sessions are counted as occurrences of that event instead.
    A feature is the event's name, or with `feature_property` the value of that property
    (events without it use no feature); `key_features` names the features counted (with
    none, every one is; at most MAX_FEATURES_PER_DAY an account-day, the events of any
    further feature are counted in `stats.features_dropped`). With `duration_property`
    (e.g. Mixpanel's `$duration`, seconds), the durations events carry are summed per
    day: the time spent in the product.
    """

    def __init__(
        self,
        group_key: str,
        timezone: str = "UTC",
        key_features: Sequence[str] = (),
        session_event: str | None = None,
        time_in_ms: bool = False,
        *,
        feature_property: str | None = None,
        duration_property: str | None = None,
    ) -> None:
        self.group_key = group_key
        self.tz = ZoneInfo(timezone)
        self.key_features = frozenset(key_features)
        self.session_event = session_event
        self.time_scale = 1000.0 if time_in_ms else 1.0
        self.feature_property = feature_property
        self.duration_property = duration_property
        self.stats = FoldStats()
        self._seen = CompactKeySet()
        self._days: dict[tuple[str, date], _DayState] = {}

    def add(self, event: dict[str, Any]) -> None:
        """Fold one raw export event (duplicates and unattributed events are only counted)."""
        props = event.get("properties")
        name = event.get("event")
        if not isinstance(props, dict) or not isinstance(name, str):
            self.stats.invalid += 1
            return
        try:
            when = float(props["time"]) / self.time_scale
        except (KeyError, TypeError, ValueError):
            self.stats.invalid += 1
            return
        key = dedupe_key(event)
        if key is not None and not self._seen.add(key):
            self.stats.duplicates += 1
            return
        self.stats.events += 1
        groups = props.get(self.group_key)
        values = groups if isinstance(groups, list) else [groups]
        accounts = [str(v).strip().lower() for v in values if v not in (None, "")]
        if not accounts:
            self.stats.unattributed += 1
            return
        day = datetime.fromtimestamp(when, tz=self.tz).date()
        user = str(props.get("distinct_id", ""))
        feature = self._feature(name, props)
        seconds = self._duration(props)
        for account in accounts:
            state = self._days.setdefault((account, day), _DayState())
            self._fold(state, name, user, when, feature)
            if seconds is not None:
                state.seconds = (state.seconds or 0.0) + seconds

    def _feature(self, name: str, props: dict[str, Any]) -> str | None:
        """The feature an event uses, if it is one of the counted ones."""
        feature = name if self.feature_property is None else props.get(self.feature_property)
        if not isinstance(feature, str) or not feature:
            return None
        return feature if not self.key_features or feature in self.key_features else None

    def _duration(self, props: dict[str, Any]) -> float | None:
        """The event's duration in seconds; None when it carries none (or a nonsense one)."""
        if self.duration_property is None:
            return None
        value = props.get(self.duration_property)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value) or not 0 <= value <= _MAX_DURATION_SECONDS:
            return None
        return float(value)

    def _fold(
        self, state: _DayState, name: str, user: str, when: float, feature: str | None
    ) -> None:
        state.events += 1
        if user:
            state.users.add(user)
        if feature is not None:
            if feature in state.features or len(state.features) < MAX_FEATURES_PER_DAY:
                state.features[feature] = state.features.get(feature, 0) + 1
            else:
                self.stats.features_dropped += 1
        if self.session_event is not None:
            if name == self.session_event:
                state.sessions += 1
        else:
            previous = state.last_seen.get(user)
            if previous is None or when - previous > SESSION_GAP_SECONDS:
                state.sessions += 1
            if previous is None or when > previous:
                state.last_seen[user] = when
        state.last_event = max(state.last_event, when)

    def add_all(self, events: Iterable[dict[str, Any]]) -> None:
        """Fold every event of an iterable."""
        for event in events:
            self.add(event)

    def usage_days(self, first: date | None = None, last: date | None = None) -> list[UsageDay]:
        """The folded days within [first, last] as UsageDay records, sorted by (account, day).

        Days outside the window's own dates are left out (and counted): they are partial
        here and complete in the window that owns them.
        """
        out = []
        for (account, day), state in sorted(self._days.items(), key=lambda item: item[0]):
            if (first is not None and day < first) or (last is not None and day > last):
                self.stats.outside_window += state.events
                continue
            out.append(
                UsageDay(
                    source="mixpanel",
                    id=UsageDay.usage_id(account, day),
                    account_id=account,
                    day=day,
                    active_users=state.users.count(),
                    sessions=state.sessions,
                    events=state.events,
                    feature_events=dict(sorted(state.features.items())),
                    last_event_at=datetime.fromtimestamp(state.last_event, tz=UTC),
                    users=state.users.encode(),
                    active_seconds=state.seconds,
                    updated_at=datetime.fromtimestamp(state.last_event, tz=UTC),
                )
            )
        return out
