"""Mixpanel events derived on demand, per (group, day), from the world's usage plans.

Nothing is stored: every (seed, group, day) has its own random stream, so one day can be
regenerated alone and identically. About 0.5 % of events are emitted twice with the same
`$insert_id` (Mixpanel's raw export does not deduplicate). Timed events (dashboards,
reports) carry `$duration` in seconds, as Mixpanel's `time_event` sets it: longer for a
customer that uses more of the product. Not every user comes every day: each user is
present on a day with a share that follows the profile (`DAILY_PRESENCE`), so DAU/MAU
spreads as it does in real products instead of sitting near 1.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from csbridge_sandbox.world import names
from csbridge_sandbox.world.model import UsagePlan, World
from csbridge_sandbox.world.names import between, pick

_EVENT_NAMES = tuple(name for name, _ in names.EVENT_NAMES)
_EVENT_CUM_WEIGHTS = tuple(accumulate(weight for _, weight in names.EVENT_NAMES))
DUPLICATE_SHARE = 0.005
TIMED_EVENTS = frozenset({"Viewed Dashboard", "Ran Report", "Created Report"})
DAILY_PRESENCE = {  # percent of a plan's users who come on a given weekday
    "champion": 70,
    "healthy": 45,
    "attention": 30,
    "at_risk": 20,
    "silent": 20,
    "onboarding": 40,
}


def history_start(world: World) -> date:
    """The first day that has events."""
    return world.now.date() - timedelta(days=world.history_days)


def _day_volume(plan: UsagePlan, day: date, today: date, rng: random.Random) -> int:
    if day < plan.start or day >= today:
        return 0
    if plan.silent_since is not None and day >= plan.silent_since:
        return 0
    base = plan.daily_events
    if plan.trend:
        # trend < 0: usage fades towards today; > 0: ramps up after the start
        days_ago = (today - day).days
        if plan.trend < 0:
            base *= max(0.15, 1 + plan.trend * (1 - days_ago / 90))
        else:
            base *= min(1.0, 0.3 + (day - plan.start).days / 30)
    if day.weekday() >= 5:
        base *= 0.25
    return max(0, int(rng.gauss(base, base * 0.25) + 0.5))


def events_for_plan(world: World, plan: UsagePlan, day: date) -> list[dict[str, Any]]:
    """All events of one group on one day (UTC), in time order."""
    if day < history_start(world):
        return []
    rng = random.Random(world.seed * 1_000_003 + plan.index * 65_537 + day.toordinal())
    count = _day_volume(plan, day, world.now.date(), rng)
    if not count:
        return []
    day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    features = names.FEATURES[: plan.breadth]
    present = _present_users(world.seed, plan, day)
    out: list[dict[str, Any]] = []
    times = sorted(day_start + 28_800 + int(rng.random() * 43_200) for _ in range(count))
    for ts in times:
        event = rng.choices(_EVENT_NAMES, cum_weights=_EVENT_CUM_WEIGHTS)[0]
        props: dict[str, Any] = {
            "time": ts,
            "distinct_id": _among(pick(rng, plan.users), present),
            "$insert_id": f"{rng.getrandbits(128):032x}",
            "mp_processing_time_ms": ts * 1000 + between(rng, 200, 90_000),
            "$browser": pick(rng, names.BROWSERS),
            "mp_lib": "web",
            "company_domain": plan.domain,
        }
        if event == "Used Feature":
            props["feature"] = pick(rng, features)
        if event in TIMED_EVENTS:
            props["$duration"] = _duration(props["$insert_id"], plan.breadth)
        out.append({"event": event, "properties": props})
        if rng.random() < DUPLICATE_SHARE:
            out.append({"event": event, "properties": dict(props)})
    return out


def _present_users(seed: int, plan: UsagePlan, day: date) -> tuple[str, ...]:
    """The plan's users who come on `day` (at least one), from a hash of (seed, user, day):
    the day's random stream is left as it was."""
    share = DAILY_PRESENCE.get(plan.profile, 50)
    present = tuple(
        user
        for user in plan.users
        if zlib.crc32(f"{seed}:{user}:{day.isoformat()}".encode()) % 100 < share
    )
    return present or plan.users[:1]


def _among(user: str, present: tuple[str, ...]) -> str:
    """`user` if present today, else one of those who are."""
    return user if user in present else present[zlib.crc32(user.encode()) % len(present)]


def _duration(insert_id: str, breadth: int) -> int:
    """Seconds a timed event lasted, drawn from its insert id (the day's random stream is
    left as it was): 10 s up to about a minute per feature the customer uses."""
    return 10 + int(insert_id[:6], 16) % (60 * (1 + breadth))


def iter_events(world: World, day: date) -> Iterator[dict[str, Any]]:
    """Every Mixpanel raw-export event of one UTC day, group after group."""
    for plan in world.usage_plans:
        yield from events_for_plan(world, plan, day)


def iter_events_between(world: World, first: date, last: date) -> Iterator[dict[str, Any]]:
    """Events from `first` to `last`, both inclusive, day after day."""
    day = max(first, history_start(world))
    while day <= last:
        yield from iter_events(world, day)
        day += timedelta(days=1)
