"""Sentiment, executive logins and CSM-input signals from hand-built facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from csbridge.distinct import EXACT_LIMIT, DistinctUsers
from csbridge.models import Account, Contact, SurveyResponse, Ticket, UsageDay
from csbridge.scoring import load_model
from csbridge.scoring.signals import CustomerFacts, SignalOptions, compute_signals

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
M5 = load_model("seed-5d")
M6 = load_model("seed-6d")


def account(source: str = "salesforce", **custom: object) -> Account:
    return Account(source=source, id="001A", name="Acme", domain="acme.com", custom=custom)  # type: ignore[arg-type]


def facts(**kw: object) -> CustomerFacts:
    base: dict[str, object] = {
        "key": "acme.com",
        "accounts": (account(),),
        "crm": "salesforce",
        "systems": frozenset({"salesforce", "zendesk", "mixpanel"}),
    }
    base.update(kw)
    return CustomerFacts(**base)  # type: ignore[arg-type]


def values(model: object = M6, options: SignalOptions | None = None, **kw: object) -> dict:
    return dict(compute_signals(facts(**kw), NOW, model, options).values)  # type: ignore[arg-type]


def ticket(n: int, days_ago: float, score: str | None, **kw: object) -> Ticket:
    return Ticket(
        source="zendesk",
        id=str(n),
        status="solved",
        created_at=NOW - timedelta(days=days_ago),
        satisfaction_score=score,
        **kw,  # type: ignore[arg-type]
    )


def test_ticket_sentiment_is_the_share_of_rated_tickets_rated_good() -> None:
    tickets = [
        ticket(1, 10, "good"),
        ticket(2, 20, "good"),
        ticket(3, 30, "bad"),
        ticket(4, 40, "offered"),  # asked, not answered
        ticket(5, 50, None),
        ticket(6, 200, "bad"),  # older than 180 days
        ticket(7, 5, "bad", deleted=True),
    ]
    assert values(tickets=tickets)["support.ticket_sentiment"] == pytest.approx(2 / 3, abs=1e-4)


def test_ticket_sentiment_is_missing_without_a_rated_ticket() -> None:
    tickets = [ticket(1, 10, "offered"), ticket(2, 20, "unoffered")]
    assert "support.ticket_sentiment" not in values(tickets=tickets)


def answer(n: int, kind: str, score: float, days_ago: float = 10, **kw: object) -> SurveyResponse:
    scales = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    low, high = scales[kind]
    return SurveyResponse(
        source="salesforce",
        id=f"s{n}",
        kind=kind,  # type: ignore[arg-type]
        score=score,
        scale_min=low,
        scale_max=high,
        responded_at=NOW - timedelta(days=days_ago),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("scores", "tone"),
    [
        ([("nps", 10)], "positive"),
        ([("nps", 8)], "mixed"),  # a passive
        ([("nps", 3)], "negative"),
        ([("nps", 9), ("nps", 2)], "mixed"),  # net 0
        ([("nps", 9), ("csat", 4), ("nps", 7)], "positive"),  # net +2/3
        ([("csat", 2), ("ces", 3), ("csat", 3)], "negative"),  # net -2/3
        ([("ces", 6), ("csat", 3)], "positive"),  # net +1/2: the threshold
        ([("ces", 5), ("csat", 4), ("csat", 1)], "mixed"),  # CES 5 of 7 is neutral
    ],
)
def test_feedback_sentiment_is_the_net_tone_of_survey_answers(
    scores: list[tuple[str, float]], tone: str
) -> None:
    surveys = [answer(n, kind, score) for n, (kind, score) in enumerate(scores)]
    assert values(surveys=surveys)["satisfaction.feedback_sentiment"] == tone


def test_feedback_sentiment_leaves_out_ticket_ratings_and_old_answers() -> None:
    surveys = [
        answer(1, "nps", 10),
        answer(2, "csat", 1, ticket_id="77"),  # a ticket rating: ticket_sentiment's
        answer(3, "nps", 0, days_ago=400),  # over a year old
    ]
    assert values(surveys=surveys)["satisfaction.feedback_sentiment"] == "positive"
    assert "satisfaction.feedback_sentiment" not in values(surveys=surveys[1:])


def usage_day(days_ago: int, users: list[str]) -> UsageDay:
    day = NOW.date() - timedelta(days=days_ago)
    sketch = DistinctUsers()
    for user in users:
        sketch.add(user)
    return UsageDay(
        source="mixpanel",
        id=UsageDay.usage_id("acme.com", day),
        account_id="acme.com",
        day=day,
        active_users=len(users),
        events=len(users) * 3,
        users=sketch.encode(),
    )


def person(n: int, email: str, title: str | None, **kw: object) -> Contact:
    return Contact(source="salesforce", id=f"c{n}", email=email, title=title, **kw)  # type: ignore[arg-type]


CONTACTS = (
    person(1, "Ana.Diaz@acme.com", "Chief Financial Officer"),
    person(2, "bo@acme.com", "VP Operations"),
    person(3, "cy@acme.com", "Analyst"),
    person(4, "di@acme.com", "Director of IT", deleted=True),
)


def test_exec_logins_counts_login_days_of_executive_contacts_in_30_days() -> None:
    usage = [
        usage_day(1, ["ana.diaz@acme.com", "cy@acme.com"]),  # joined case-insensitively
        usage_day(2, ["bo@acme.com", "ana.diaz@acme.com"]),
        usage_day(3, ["cy@acme.com", "di@acme.com"]),  # an analyst, a contact who left
        usage_day(0, ["bo@acme.com"]),  # today is not a whole day yet
        usage_day(40, ["bo@acme.com"]),  # before the window
    ]
    assert values(contacts=CONTACTS, usage=usage)["engagement.exec_logins"] == 3


def test_exec_logins_title_pattern_is_configurable() -> None:
    usage = [usage_day(1, ["cy@acme.com", "bo@acme.com"])]
    only_analysts = SignalOptions(exec_titles=r"\banalyst\b")
    assert (
        values(options=only_analysts, contacts=CONTACTS, usage=usage)["engagement.exec_logins"] == 1
    )


def test_exec_logins_is_zero_when_no_executive_logs_in_and_missing_when_unknowable() -> None:
    quiet = [usage_day(1, ["cy@acme.com"])]
    assert values(contacts=CONTACTS, usage=quiet)["engagement.exec_logins"] == 0
    assert "engagement.exec_logins" not in values(contacts=CONTACTS)  # no usage data
    analysts = [person(3, "cy@acme.com", "Analyst")]  # no executive at all
    assert values(contacts=analysts, usage=quiet)["engagement.exec_logins"] == 0
    untitled = [person(9, "bo@acme.com", None)]
    assert "engagement.exec_logins" not in values(contacts=untitled, usage=quiet)
    crowd = [f"user{k}@acme.com" for k in range(EXACT_LIMIT + 1)] + ["bo@acme.com"]
    busy = [usage_day(1, crowd)]  # only an estimate is kept: logins cannot be checked
    assert "engagement.exec_logins" not in values(contacts=CONTACTS, usage=busy)


def test_csm_input_fields_feed_their_indicators_in_both_crms() -> None:
    salesforce = account(
        Relationship_Quality__c=" Good ",
        Community_Level__c="contributor",
        Referrals_12m__c=3.0,
        Days_Past_Due__c=0.0,
    )
    m6 = values(accounts=(salesforce,))
    assert m6["relationship.relationship_quality"] == "good"
    assert m6["financial.payment_delay"] == 0.0
    m5 = values(M5, accounts=(salesforce,))
    assert (m5["engagement.community_activity"], m5["growth.referrals"]) == ("contributor", 3.0)
    hubspot = account(  # HubSpot hands numbers over as text
        "hubspot", cs_relationship_quality="difficult", cs_days_past_due="45", cs_referrals_12m=""
    )
    m6 = values(accounts=(hubspot,), crm="hubspot")
    assert (m6["relationship.relationship_quality"], m6["financial.payment_delay"]) == (
        "difficult",
        45.0,
    )
    assert "growth.referrals" not in values(M5, accounts=(hubspot,), crm="hubspot")


def test_input_fields_are_configurable_and_custom_fields_still_win() -> None:
    acme = account(
        Billing_DPD__c=12, Days_Past_Due__c=30, Rel__c="excellent", Community_Level__c="active"
    )
    options = SignalOptions(
        input_fields={"payment_delay": "Billing_DPD__c"},
        custom_fields={"relationship.relationship_quality": "Rel__c"},
    )
    out = values(options=options, accounts=(acme,))
    assert values(M5, options, accounts=(acme,))["engagement.community_activity"] == "active"
    assert (out["financial.payment_delay"], out["relationship.relationship_quality"]) == (
        12,
        "excellent",
    )


def test_a_bad_exec_title_pattern_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="exec_titles"):
        SignalOptions(exec_titles="(unclosed")


def test_sketch_membership_is_known_only_while_exact() -> None:
    sketch = DistinctUsers()
    sketch.add("a@x.com")
    assert (sketch.contains("a@x.com"), sketch.contains("b@x.com")) == (True, False)
    for k in range(EXACT_LIMIT + 1):
        sketch.add(f"u{k}")
    assert sketch.contains("a@x.com") is None
