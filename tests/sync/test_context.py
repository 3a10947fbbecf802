"""Stored facts → RuleContext: each field from the canonical records, then the rules on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay
from csbridge.scoring.rules import evaluate
from csbridge.scoring.rules_config import load_rules
from csbridge.sync.context import (
    last_activity,
    nps_answers,
    renewal_date,
    rule_context,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@dataclass(frozen=True)
class Facts:
    accounts: Sequence[Account] = ()
    contacts: Sequence[Contact] = ()
    opportunities: Sequence[Opportunity] = ()
    tickets: Sequence[Ticket] = ()
    surveys: Sequence[SurveyResponse] = ()
    usage: Sequence[UsageDay] = ()


def account(**kw: object) -> Account:
    base: dict[str, object] = {"source": "salesforce", "id": "001A", "name": "Acme"}
    base.update(kw)
    return Account.model_validate(base)


def ticket(id_: str, days_ago: int, priority: str = "urgent", status: str = "open") -> Ticket:
    return Ticket(
        source="zendesk",
        id=id_,
        status=status,
        priority=priority,  # type: ignore[arg-type]
        created_at=NOW - timedelta(days=days_ago),
    )


def nps(id_: str, score: float, days_ago: float, kind: str = "nps") -> SurveyResponse:
    return SurveyResponse(
        source="hubspot",
        id=id_,
        kind=kind,  # type: ignore[arg-type]
        score=score,
        responded_at=NOW - timedelta(days=days_ago),
        comment=f"said {id_}",
    )


def usage(days_ago: int, users: int = 1, features: dict[str, int] | None = None) -> UsageDay:
    day = TODAY - timedelta(days=days_ago)
    return UsageDay(
        source="mixpanel",
        id=UsageDay.usage_id("acme", day),
        account_id="acme",
        day=day,
        active_users=users,
        events=users * 3,
        feature_events=features or {},
    )


def test_every_field_from_the_facts() -> None:
    facts = Facts(
        accounts=(account(owner_id="005U", seats_purchased=50, seats_used=40),),
        tickets=(
            ticket("1", 3),
            ticket("2", 29, status="solved"),
            ticket("3", 31),
            ticket("4", 1, priority="high"),
        ),
        surveys=(nps("b", 9, 40), nps("a", 3, 2), nps("c", 4, 1, kind="csat")),
        usage=(usage(20), usage(16), usage(15, users=0)),
    )
    ctx = rule_context(
        "acme.com",
        facts,
        NOW,
        score=58.0,
        status="at_risk",
        score_30d_ago=70.0,
        episodes={"churn_risk": TODAY},
        champion_left=True,
    )
    assert ctx.account_id == "acme.com" and ctx.owner_id == "005U"
    assert ctx.urgent_tickets_30d == 2  # "3" is 31 days old, "4" is high
    assert ctx.open_tickets == 3
    assert [a.id for a in ctx.nps_answers] == ["hubspot:b", "hubspot:a"]
    assert ctx.latest_nps is not None and ctx.latest_nps.score == 3
    assert ctx.license_utilisation == 0.8
    last_day = TODAY - timedelta(days=16)
    assert ctx.last_activity == datetime.combine(last_day, time(23, 59, 59), UTC)
    assert ctx.champion_left and ctx.episodes == {"churn_risk": TODAY}
    keys = {a.key for a in evaluate(ctx, load_rules(), NOW).actions if a.kind == "task"}
    assert keys == {
        "acme.com:detractor:hubspot:a",
        "acme.com:detractor_remeasure:hubspot:a",
        f"acme.com:churn_risk:{TODAY}",
        f"acme.com:silent:{TODAY - timedelta(days=16)}",
    }


def test_renewal_from_the_account_else_the_nearest_open_renewal_deal() -> None:
    def deal(id_: str, close: date, kind: str = "renewal", closed: bool = False) -> Opportunity:
        return Opportunity(
            source="salesforce", id=id_, kind=kind, close_date=close, is_closed=closed
        )  # type: ignore[arg-type]

    deals = [
        deal("1", TODAY + timedelta(days=90)),
        deal("2", TODAY + timedelta(days=40)),
        deal("3", TODAY + timedelta(days=10), closed=True),
        deal("4", TODAY + timedelta(days=5), kind="upsell"),
        deal("5", TODAY - timedelta(days=5)),
    ]
    assert renewal_date(None, deals, TODAY) == TODAY + timedelta(days=40)
    own = account(renewal_date=TODAY + timedelta(days=200))
    assert renewal_date(own, deals, TODAY) == TODAY + timedelta(days=200)
    assert renewal_date(None, [], TODAY) is None


def test_closed_won_is_the_latest_won_deal_and_onboarding_starts_at_the_first() -> None:
    def deal(id_: str, days_ago: int, kind: str = "new_business", won: bool = True) -> Opportunity:
        close = TODAY - timedelta(days=days_ago)
        return Opportunity(
            source="hubspot", id=id_, kind=kind, close_date=close, is_closed=True, is_won=won
        )  # type: ignore[arg-type]

    deals = [
        deal("1", 40),
        deal("2", 5),
        deal("3", 2, won=False),  # lost
        deal("4", 1, kind="renewal"),
        deal("5", -3),  # closes in the future
    ]
    crm = account(created_at=NOW - timedelta(days=90))  # a prospect long before the deal
    ctx = rule_context("k", Facts(accounts=[crm], opportunities=deals), NOW)
    assert ctx.closed_won == TODAY - timedelta(days=5)
    assert ctx.onboarding_started == TODAY - timedelta(days=40)  # the customer's start
    ctx = rule_context("k", Facts(accounts=[crm], opportunities=deals[2:]), NOW)
    assert ctx.closed_won is None
    assert ctx.onboarding_started == TODAY - timedelta(days=90)  # no won deal: the creation


def test_onboarding_first_login_and_first_value() -> None:
    created = NOW - timedelta(days=15)
    facts = Facts(
        accounts=(account(created_at=created),),
        usage=(usage(14, users=0), usage(12), usage(5, features={"report": 2, "export": 0})),
    )
    ctx = rule_context("acme.com", facts, NOW)
    assert ctx.onboarding_started == created.date()
    assert ctx.first_login == TODAY - timedelta(days=12)
    assert ctx.first_value == TODAY - timedelta(days=5)
    keyed = rule_context("acme.com", facts, NOW, key_features=("export",))
    assert keyed.first_value is None
    actions = evaluate(keyed, load_rules(), NOW).actions
    tasks = [a.key for a in actions if a.kind == "task" and a.rule != "onboarding"]
    assert tasks == [f"acme.com:onboarding_no_value:{created.date()}"]


def test_helpers_on_edge_input() -> None:
    assert nps_answers([nps("x", 11, 1), nps("y", 7.6, 1)])[0].score == 8
    event = NOW - timedelta(hours=5)
    day = usage(0).model_copy(update={"last_event_at": event})
    assert last_activity([usage(3), day]) == event
    assert last_activity([usage(1, users=0).model_copy(update={"events": 0})]) is None
    empty = rule_context("k", Facts(), NOW)
    assert (empty.owner_id, empty.renewal_date, empty.license_utilisation) == (None, None, None)
