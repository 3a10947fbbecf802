"""The fold on hand-built events: users sketches per day, features from a property,
time in product from event durations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from csbridge.connectors.mixpanel.usage import MAX_FEATURES_PER_DAY, UsageFold
from csbridge.distinct import STANDARD_ERROR, DistinctUsers

DAY_1 = int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp())
DAY_2 = DAY_1 + 86_400


def event(name: str, t: int, user: str, **props: Any) -> dict[str, Any]:
    return {
        "event": name,
        "properties": {"time": t, "distinct_id": user, "company_domain": "acme.com", **props},
    }


def days_of(fold: UsageFold) -> dict[date, Any]:
    return {d.day: d for d in fold.usage_days()}


def test_each_day_keeps_its_users_so_days_merge_into_exact_monthly_users() -> None:
    fold = UsageFold("company_domain")
    fold.add_all(event("Login", DAY_1 + i, f"u{i % 60}") for i in range(600))
    fold.add_all(event("Login", DAY_2 + i, f"u{30 + i % 60}") for i in range(600))
    days = days_of(fold)
    assert [d.active_users for d in days.values()] == [60, 60]
    union = DistinctUsers.union(DistinctUsers.decode(d.users) for d in days.values())
    assert union.count() == 90  # u0..u89, each counted once


def test_a_busy_day_is_estimated_within_the_stated_error() -> None:
    fold = UsageFold("company_domain")
    fold.add_all(event("Login", DAY_1 + i % 3600, f"user-{i}") for i in range(4000))
    (busy,) = fold.usage_days()
    assert abs(busy.active_users - 4000) <= 3 * STANDARD_ERROR * 4000
    assert len(busy.users or "") < 1400  # 1 KiB of registers, base64


def test_features_come_from_the_configured_property_and_key_features() -> None:
    fold = UsageFold("company_domain", key_features=["alerts", "sso"], feature_property="feature")
    fold.add_all(
        [
            event("Used Feature", DAY_1, "u1", feature="alerts"),
            event("Used Feature", DAY_1 + 1, "u1", feature="alerts"),
            event("Used Feature", DAY_1 + 2, "u2", feature="api"),  # not a key feature
            event("Used Feature", DAY_1 + 3, "u2", feature=7),  # not a name
            event("Ran Report", DAY_1 + 4, "u2"),  # no feature property
        ]
    )
    (only,) = fold.usage_days()
    assert only.feature_events == {"alerts": 2} and only.events == 5


def test_event_names_are_the_features_without_a_property() -> None:
    fold = UsageFold("company_domain")
    fold.add_all([event("Ran Report", DAY_1, "u1", feature="alerts")])
    assert fold.usage_days()[0].feature_events == {"Ran Report": 1}


def test_durations_sum_into_time_in_product_and_nonsense_is_ignored() -> None:
    fold = UsageFold("company_domain", duration_property="$duration")
    fold.add_all(
        [
            event("Viewed Dashboard", DAY_1, "u1", **{"$duration": 90}),
            event("Ran Report", DAY_1 + 5, "u1", **{"$duration": 30.5}),
            event("Ran Report", DAY_1 + 6, "u1", **{"$duration": -4}),
            event("Ran Report", DAY_1 + 7, "u1", **{"$duration": "60"}),
            event("Ran Report", DAY_1 + 8, "u1", **{"$duration": True}),
            event("Login", DAY_2, "u1"),
        ]
    )
    days = days_of(fold)
    assert days[date(2026, 3, 1)].active_seconds == 120.5
    assert days[date(2026, 3, 2)].active_seconds is None  # no event carried a duration
    untimed = UsageFold("company_domain")
    untimed.add_all([event("Viewed Dashboard", DAY_1, "u1", **{"$duration": 90})])
    assert untimed.usage_days()[0].active_seconds is None


def test_a_feature_per_event_does_not_grow_the_day_without_bound() -> None:
    fold = UsageFold("company_domain", feature_property="page")
    fold.add_all(
        event("Viewed", DAY_1 + i % 3600, "u1", page=f"/doc/{i}")
        for i in range(MAX_FEATURES_PER_DAY + 50)
    )
    (only,) = fold.usage_days()
    assert len(only.feature_events) == MAX_FEATURES_PER_DAY
    assert fold.stats.features_dropped == 50 and only.events == MAX_FEATURES_PER_DAY + 50
