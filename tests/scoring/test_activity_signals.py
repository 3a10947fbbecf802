"""Engagement and relationship signals from hand-built CRM activities, contacts and tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csbridge.models import Account, Activity, Contact, Ticket
from csbridge.scoring import Engine, load_model
from csbridge.scoring.signals import CustomerFacts, compute_signals

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
M5 = load_model("seed-5d")
M6 = load_model("seed-6d")
ACCOUNT = Account(source="salesforce", id="001A", name="Acme", domain="acme.com")


def act(n: int, kind: str, days_ago: float, **kw: object) -> Activity:
    return Activity(
        source="salesforce",
        id=f"a{n}",
        account_id="001A",
        kind=kind,  # type: ignore[arg-type]
        occurred_at=NOW - timedelta(days=days_ago),
        **kw,  # type: ignore[arg-type]
    )


def member(
    n: int, campaign: str, days_ago: float, attended: bool, subtype: str = "Webinar"
) -> Activity:
    return act(n, "campaign", days_ago, campaign_id=campaign, subtype=subtype, attended=attended)


def ours(n: int, kind: str, days_ago: float, **kw: object) -> Activity:
    """A task csbridge created itself: it carries csbridge's key."""
    return act(n, kind, days_ago, csbridge_key=f"csbridge:acme:{n}", **kw)


def facts(**kw: object) -> CustomerFacts:
    base: dict[str, object] = {
        "key": "acme.com",
        "accounts": (ACCOUNT,),
        "crm": "salesforce",
        "systems": frozenset({"salesforce"}),
    }
    base.update(kw)
    return CustomerFacts(**base)  # type: ignore[arg-type]


def signals(model: object = M5, **kw: object) -> dict[str, object]:
    return dict(compute_signals(facts(**kw), NOW, model).values)  # type: ignore[arg-type]


def test_email_open_rate_sums_marketing_emails_of_contacts_still_there() -> None:
    contacts = [
        Contact(source="salesforce", id="c1", emails_delivered=10, emails_opened=4),
        Contact(source="salesforce", id="c2", emails_delivered=10, emails_opened=1),
        Contact(
            source="salesforce",
            id="c3",
            emails_delivered=50,
            emails_opened=50,
            custom={"Left_Company__c": True},
        ),
    ]
    assert signals(contacts=contacts)["engagement.email_open_rate"] == 0.25
    silent = [Contact(source="salesforce", id="c1")]
    assert "engagement.email_open_rate" not in signals(contacts=silent)


def test_email_open_rate_prefers_our_tracked_emails_of_the_quarter() -> None:
    sent = [
        act(1, "email", 5, direction="outbound", opened=True),
        act(2, "email", 15, direction="outbound", opened=False),
        act(3, "email", 25, direction="outbound", opened=False),
        act(4, "email", 35, direction="outbound", opened=False),
        act(5, "email", 120, direction="outbound", opened=True),  # outside 90 days
        ours(6, "email", 3, direction="outbound", opened=True),  # csbridge's own
    ]
    marketing = [Contact(source="salesforce", id="c1", emails_delivered=10, emails_opened=9)]
    assert signals(activities=sent, contacts=marketing)["engagement.email_open_rate"] == 0.25


def test_webinar_attendance_counts_distinct_webinars_of_the_last_six_months() -> None:
    acts = [
        member(1, "w1", 10, attended=True),
        member(2, "w1", 10, attended=False),  # a second contact invited to the same one
        member(3, "w2", 40, attended=False),
        member(4, "w3", 100, attended=True),
        member(5, "w4", 150, attended=False),
        member(6, "old", 300, attended=False),  # outside 180 days
        member(7, "e1", 20, attended=True, subtype="Event"),  # not a webinar
    ]
    assert signals(activities=acts)["engagement.webinar_attendance"] == 0.5
    assert "engagement.webinar_attendance" not in signals(activities=[act(1, "call", 3)])


def test_event_participation_counts_any_campaign_attended_in_a_quarter() -> None:
    acts = [
        member(1, "w1", 10, attended=True),
        member(2, "e1", 20, attended=True, subtype="Event"),
        member(3, "e1", 21, attended=True, subtype="Event"),
        member(4, "t1", 100, attended=True, subtype="Training"),  # outside 90 days
        member(5, "w2", 30, attended=False),
    ]
    assert signals(M6, activities=acts)["engagement.event_participation"] == 2
    invited_only = [member(1, "w1", 10, attended=False)]
    assert signals(M6, activities=invited_only)["engagement.event_participation"] == 0
    assert "engagement.event_participation" not in signals(M6, activities=[act(1, "call", 3)])


def ticket(n: int, days_ago: int, type_: str = "incident") -> Ticket:
    return Ticket(
        source="zendesk",
        id=str(n),
        account_id="9",
        status="solved",
        type=type_,
        created_at=NOW - timedelta(days=days_ago),
    )


def test_support_engagement_from_the_months_the_customer_reached_out() -> None:
    zendesk = frozenset({"salesforce", "zendesk"})
    key = "engagement.support_engagement"
    assert signals(systems=zendesk)[key] == "none"
    assert signals(systems=zendesk, tickets=[ticket(1, 5), ticket(2, 10)])[key] == "reactive"
    spread = [ticket(1, 5), ticket(2, 40), ticket(3, 70)]
    assert signals(systems=zendesk, tickets=spread)[key] == "regular"
    questions = [ticket(1, 5, "question"), ticket(2, 40, "question"), ticket(3, 70)]
    assert signals(systems=zendesk, tickets=questions)[key] == "proactive"
    inbound_call = act(9, "call", 100, direction="inbound")
    mixed = [ticket(1, 5), ticket(2, 40)]
    assert signals(systems=zendesk, tickets=mixed, activities=[inbound_call])[key] == "regular"
    assert key not in signals()  # neither Zendesk nor activities


def test_comms_response_is_our_emails_answered() -> None:
    acts = [
        act(1, "email", 5, direction="outbound"),
        act(2, "email", 6, direction="outbound"),
        act(3, "email", 7, direction="outbound"),
        act(4, "email", 8, direction="outbound"),
        act(5, "email", 4, direction="inbound"),
        act(6, "email", 200, direction="inbound"),  # outside 90 days
    ]
    assert signals(M6, activities=acts)["engagement.comms_response"] == 0.25
    unknown = [act(1, "email", 5)]  # no direction: cannot tell
    assert "engagement.comms_response" not in signals(M6, activities=unknown)


def test_qbr_participation_is_qbrs_held_over_qbrs_offered() -> None:
    acts = [
        act(1, "meeting", 20, subject="Q1 QBR with Acme"),
        act(2, "meeting", 110, subject="Quarterly Business Review", status="NO_SHOW"),
        act(3, "meeting", 200, subject="QBR", attended=True),
        act(4, "meeting", 290, subject="qbr", status="CANCELED"),
        act(5, "meeting", 30, subject="Onboarding call"),  # not a QBR
        act(6, "meeting", 400, subject="QBR"),  # over a year ago
    ]
    assert signals(activities=acts)["relationship.qbr_participation"] == 0.5


def test_our_own_tasks_never_count_as_engagement() -> None:
    theirs = [act(1, "email", 5, direction="outbound")]
    own = [
        ours(2, "email", 4, direction="inbound"),
        ours(3, "meeting", 10, subject="QBR"),
        ours(4, "call", 1, direction="inbound"),
    ]
    with_ours = compute_signals(facts(activities=[*theirs, *own]), NOW, M6)
    assert with_ours.values["engagement.comms_response"] == 0.0
    assert "last_contact_days" not in with_ours.catalogue
    assert with_ours.catalogue["meetings_90d"] == 0
    qbr_only_ours = signals(activities=own[1:2])
    assert "relationship.qbr_participation" not in qbr_only_ours


def test_last_meaningful_contact_and_meetings_in_90_days() -> None:
    acts = [
        act(1, "note", 1),  # a note is not contact
        act(2, "email", 2, direction="outbound"),  # nor is our email
        act(3, "call", 12),
        act(4, "meeting", 30),
        act(5, "meeting", 60, status="NO_SHOW"),
        act(6, "meeting", 120),
    ]
    s = compute_signals(facts(activities=acts), NOW, M5)
    assert s.catalogue["last_contact_days"] == 12
    assert s.catalogue["meetings_90d"] == 1


def test_activity_signals_raise_coverage_of_both_presets() -> None:
    acts = [
        member(1, "w1", 10, attended=True),
        act(2, "email", 5, direction="outbound"),
        act(3, "email", 3, direction="inbound"),
        act(4, "meeting", 20, subject="QBR"),
    ]
    contacts = [Contact(source="salesforce", id="c1", emails_delivered=8, emails_opened=4)]
    for model in (M5, M6):
        bare = compute_signals(facts(), NOW, model)
        full = compute_signals(facts(activities=acts, contacts=contacts), NOW, model)
        engine = Engine(model)
        assert set(full.values) <= set(engine.keys)
        before = engine.score("acme.com", bare.values).coverage
        assert engine.score("acme.com", full.values).coverage > before
