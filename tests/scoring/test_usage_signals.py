"""True usage signals from hand-built days: MAU from the users sketches, DAU/MAU, time in
product against its benchmark, feature adoption only for named key features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csbridge.distinct import DistinctUsers
from csbridge.models import Account, UsageDay
from csbridge.scoring import load_model
from csbridge.scoring.signals import (
    CustomerFacts,
    SignalOptions,
    compute_signals,
    portfolio_signals,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TODAY = NOW.date()
M5 = load_model("seed-5d")
M6 = load_model("seed-6d")


def day(
    key: str,
    days_ago: int,
    users: list[str],
    seconds: float | None = None,
    features: dict[str, int] | None = None,
) -> UsageDay:
    d = TODAY - timedelta(days=days_ago)
    sketch = DistinctUsers()
    for user in users:
        sketch.add(user)
    return UsageDay(
        source="mixpanel",
        id=UsageDay.usage_id(key, d),
        account_id=key,
        day=d,
        active_users=len(users),
        sessions=len(users),
        events=10 * len(users),
        feature_events=features or {},
        last_event_at=datetime(d.year, d.month, d.day, 17, tzinfo=UTC),
        users=sketch.encode(),
        active_seconds=seconds,
    )


def customer(key: str, usage: list[UsageDay], seats: int = 40) -> CustomerFacts:
    account = Account(
        source="salesforce", id=key, name=key, domain=key, seats_purchased=seats, arr=1000.0
    )
    return CustomerFacts(key, accounts=(account,), usage=usage, crm="salesforce")


def rotating(key: str, days: range, per_day: int, pool: int, **kw: object) -> list[UsageDay]:
    """Each day `per_day` users out of a pool of `pool`, in turn."""
    return [
        day(key, k, [f"u{(k * per_day + i) % pool}" for i in range(per_day)], **kw)  # type: ignore[arg-type]
        for k in days
    ]


def test_mau_counts_distinct_users_over_30_days_not_the_busiest_day() -> None:
    # 30 days, 4 users a day out of 12 who take turns: 12 monthly users, not 4
    facts = customer("acme.com", rotating("acme.com", range(1, 31), 4, 12))
    values = compute_signals(facts, NOW, M6).values
    assert values["usage.dau_mau"] == pytest.approx(4 / 12, abs=1e-4)  # peak gave 1.0
    assert values["usage.license_utilization"] == pytest.approx(12 / 40)


def test_user_expansion_compares_distinct_users_of_the_quarter_apart() -> None:
    usage = rotating("a.com", range(1, 31), 3, 15) + rotating("a.com", range(61, 91), 3, 6)
    values = compute_signals(customer("a.com", usage), NOW, M5).values
    assert values["growth.user_expansion"] == pytest.approx((15 - 6) / 6)


def test_days_without_a_sketch_fall_back_to_the_busiest_day() -> None:
    old = day("a.com", 2, ["a", "b", "c"]).model_copy(update={"users": None})
    new = day("a.com", 1, ["a"])
    values = compute_signals(customer("a.com", [old, new]), NOW, M6).values
    assert values["usage.dau_mau"] == pytest.approx(4 / 30 / 3, abs=1e-4)


def test_time_in_product_per_user_against_the_portfolio_median() -> None:
    # minutes per monthly user over 30 d: 2 users, 30 days of 1200 s -> 300 minutes each
    busy = customer("busy.com", rotating("busy.com", range(1, 31), 2, 2, seconds=1200.0))
    calm = customer("calm.com", rotating("calm.com", range(1, 31), 2, 2, seconds=300.0))
    silent = customer("silent.com", [day("silent.com", 45, ["x"], seconds=60.0)])
    untimed = customer("untimed.com", rotating("untimed.com", range(1, 31), 2, 2))
    signals = portfolio_signals([busy, calm, calm, silent, untimed], NOW, M5)
    times = [s.values.get("usage.time_in_product") for s in signals]
    assert times == [4.0, 1.0, 1.0, 0.0, None]  # median 75 min; untimed: no durations
    configured = compute_signals(busy, NOW, M5, SignalOptions(time_benchmark=600.0))
    assert configured.values["usage.time_in_product"] == 0.5


def test_feature_adoption_needs_named_key_features() -> None:
    usage = [day("a.com", 1, ["a"], features={"alerts": 3, "sso": 1, "api": 0})]
    facts = customer("a.com", usage)
    assert "usage.feature_adoption" not in compute_signals(facts, NOW, M5).values
    named = SignalOptions(key_features=("alerts", "api", "sso", "workflows"))
    assert compute_signals(facts, NOW, M5, named).values["usage.feature_adoption"] == 0.5


def test_fit_and_potential_come_from_either_crm_field_normalised() -> None:
    salesforce = Account(
        source="salesforce",
        id="001",
        name="A",
        custom={"Strategic_Fit__c": " High ", "Expansion_Potential__c": None},
    )
    hubspot = Account(
        source="hubspot", id="9", name="A", custom={"cs_expansion_potential": "medium"}
    )
    facts = CustomerFacts("a.com", accounts=(salesforce, hubspot), crm="salesforce")
    attributes = compute_signals(facts, NOW, M5).attributes
    assert attributes == {"fit": "high", "potential": "medium"}
