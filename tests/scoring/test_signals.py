"""Raw signals from hand-built facts at a fixed `now`: every rule of csbridge.scoring.signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay
from csbridge.scoring import Engine, load_model
from csbridge.scoring.signals import (
    CustomerFacts,
    SignalOptions,
    compute_signals,
    csat_unit,
    portfolio_signals,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TODAY = NOW.date()
M5 = load_model("seed-5d")
M6 = load_model("seed-6d")

# the product's key feature events (a config names them; none are assumed by default)
KEYED = SignalOptions(
    key_features=(
        "Viewed Dashboard",
        "Ran Report",
        "Created Report",
        "Exported Data",
        "Used Feature",
        "Invited User",
        "Updated Settings",
    )
)


def day(
    days_ago: int, users: int = 4, events: int = 20, sessions: int = 6, **features: int
) -> UsageDay:
    d = TODAY - timedelta(days=days_ago)
    return UsageDay(
        source="mixpanel",
        id=UsageDay.usage_id("acme.com", d),
        account_id="acme.com",
        day=d,
        active_users=users,
        sessions=sessions,
        events=events,
        feature_events={k.replace("_", " "): v for k, v in features.items()},
        last_event_at=datetime(d.year, d.month, d.day, 17, tzinfo=UTC),
    )


def account(source: str = "salesforce", **kw: object) -> Account:
    return Account(source=source, id=f"{source}-1", name="Acme", domain="acme.com", **kw)  # type: ignore[arg-type]


def ticket(
    n: int, days_ago: float, status: str = "open", priority: str | None = "normal"
) -> Ticket:
    return Ticket(
        source="zendesk",
        id=str(n),
        account_id="9",
        status=status,
        priority=priority,  # type: ignore[arg-type]
        created_at=NOW - timedelta(days=days_ago),
    )


def survey(
    n: int,
    kind: str,
    score: float,
    days_ago: float,
    scale: tuple[float, float],
    source: str = "zendesk",
    contact: str | None = None,
) -> SurveyResponse:
    return SurveyResponse(
        source=source,  # type: ignore[arg-type]
        id=str(n),
        kind=kind,  # type: ignore[arg-type]
        score=score,
        scale_min=scale[0],
        scale_max=scale[1],
        contact_id=contact,
        responded_at=NOW - timedelta(days=days_ago),
    )


def contact(
    n: int,
    roles: tuple[str, ...] = (),
    title: str | None = None,
    source: str = "salesforce",
    left: bool = False,
    active_days_ago: int | None = None,
) -> Contact:
    from csbridge.connectors.values import seniority_from_title

    return Contact(
        source=source,  # type: ignore[arg-type]
        id=f"c{n}",
        account_id=f"{source}-1",
        title=title,
        seniority=seniority_from_title(title),
        roles=roles,
        custom={"Left_Company__c": left},
        last_activity_at=None if active_days_ago is None else NOW - timedelta(days=active_days_ago),
    )


def opp(
    n: int, kind: str, close_days_ago: int, stage: str = "Closed Won", source: str = "salesforce"
) -> Opportunity:
    won = stage == "Closed Won"
    return Opportunity(
        source=source,  # type: ignore[arg-type]
        id=f"o{n}",
        kind=kind,  # type: ignore[arg-type]
        stage=stage,
        close_date=TODAY - timedelta(days=close_days_ago),
        is_closed=stage.startswith("Closed"),
        is_won=won,
    )


def facts(**kw: object) -> CustomerFacts:
    base: dict[str, object] = {
        "key": "acme.com",
        "accounts": (account(seats_purchased=10, renewal_date=TODAY + timedelta(days=45)),),
        "crm": "salesforce",
        "systems": frozenset({"salesforce", "zendesk"}),
    }
    base.update(kw)
    return CustomerFacts(**base)  # type: ignore[arg-type]


def test_usage_signals_over_30_and_60_days() -> None:
    # last 30 d: 15 days with 4 users (one day 8 users), the previous 30 d: half the events
    recent = [day(k, users=4, events=20, **{"Ran_Report": 1}) for k in range(1, 15)]
    recent.append(day(15, users=8, events=20, Used_Feature=2, Logged_In=5))
    earlier = [day(k, users=2, events=10) for k in range(31, 46)]
    quarter = [day(k, users=4, events=5) for k in range(61, 91)]
    today_partial = day(0, users=50, events=999)  # the running day is left out
    usage = [*recent, *earlier, *quarter, today_partial]
    s = compute_signals(facts(usage=usage), NOW, M6, KEYED).values
    assert s["usage.dau_mau"] == pytest.approx((14 * 4 + 8) / 30 / 8, abs=1e-4)
    assert s["usage.feature_breadth"] == pytest.approx(2 / 7)  # Logged In is not a key feature
    assert s["usage.usage_trend"] == pytest.approx((300 - 150) / 150)
    assert s["usage.license_utilization"] == pytest.approx(8 / 10)
    five = compute_signals(facts(usage=[*recent, *earlier, *quarter]), NOW, M5, KEYED).values
    assert five["growth.user_expansion"] == pytest.approx((8 - 4) / 4)
    assert five["usage.feature_adoption"] == pytest.approx(2 / 7)


def test_silent_account_scores_zero_usage_not_missing() -> None:
    old = [day(k, users=3, events=30) for k in range(40, 60)]
    s = compute_signals(facts(usage=old), NOW, M6, KEYED)
    assert s.values["usage.dau_mau"] == 0.0
    assert s.values["usage.feature_breadth"] == 0.0
    assert s.values["usage.usage_trend"] == -1.0
    assert s.values["usage.license_utilization"] == 0.0
    assert s.last_seen_at == old[0].last_event_at  # day 40 ago is the latest


def test_without_configured_key_features_adoption_has_no_data() -> None:
    recent = [day(k, users=4, events=20, **{"Ran_Report": 1}) for k in range(1, 15)]
    s = compute_signals(facts(usage=recent), NOW, M6).values
    assert "usage.feature_breadth" not in s and s["usage.dau_mau"] > 0


def test_without_usage_the_crm_seat_count_feeds_license_utilization() -> None:
    s = compute_signals(facts(accounts=(account(seats_purchased=20, seats_used=5),)), NOW, M6)
    assert s.values["usage.license_utilization"] == 0.25
    assert "usage.dau_mau" not in s.values and s.last_seen_at is None


def test_session_frequency_against_configured_or_portfolio_benchmark() -> None:
    busy = facts(usage=[day(k, users=2, sessions=4) for k in range(1, 31)])  # 60 per user
    quiet = facts(key="b.com", usage=[day(k, users=2, sessions=1) for k in range(1, 31)])  # 15
    configured = compute_signals(busy, NOW, M5, SignalOptions(session_benchmark=120.0))
    assert configured.values["usage.session_frequency"] == 0.5
    alone = compute_signals(busy, NOW, M5)
    assert "usage.session_frequency" not in alone.values  # no benchmark: missing
    signals = portfolio_signals([busy, quiet, quiet], NOW, M5)  # median 15
    assert [s.values["usage.session_frequency"] for s in signals] == [4.0, 1.0, 1.0]


def test_csat_unit_follows_the_model() -> None:
    answers = [
        survey(1, "csat", 1.0, 10, (0, 1)),  # Zendesk good
        survey(2, "csat", 0.0, 20, (0, 1)),  # Zendesk bad
        survey(3, "csat", 4.0, 30, (1, 5), source="salesforce"),
        survey(4, "csat", 2.0, 40, (1, 5), source="salesforce"),
        survey(5, "csat", 5.0, 120, (1, 5), source="salesforce"),  # outside 90 d
        survey(6, "csat", 5.0, 5, (1, 5), source="hubspot"),  # not the primary CRM
    ]
    assert csat_unit(M5, SignalOptions()) == "share" and csat_unit(M6, SignalOptions()) == "mean"
    share = compute_signals(facts(surveys=answers), NOW, M5).values["satisfaction.csat"]
    mean = compute_signals(facts(surveys=answers), NOW, M6).values["satisfaction.csat"]
    assert share == 0.5  # good and 4 of 1-5 are top-2-box
    assert mean == pytest.approx((5 + 1 + 4 + 2) / 4)
    forced = compute_signals(facts(surveys=answers), NOW, M6, SignalOptions(csat_unit="share"))
    assert forced.values["satisfaction.csat"] == 0.5


def test_nps_is_the_latest_answer_of_the_year() -> None:
    answers = [
        survey(1, "nps", 9, 200, (0, 10), source="salesforce"),
        survey(2, "nps", 3, 20, (0, 10), source="salesforce"),
        survey(3, "nps", 10, 400, (0, 10), source="salesforce"),
        survey(4, "nps", 10, 1, (0, 10), source="hubspot"),  # other CRM: ignored
    ]
    assert compute_signals(facts(surveys=answers), NOW, M5).values["satisfaction.nps"] == 3
    old = compute_signals(facts(surveys=answers[2:3]), NOW, M5).values
    assert "satisfaction.nps" not in old


def test_ticket_signals() -> None:
    tickets = [
        ticket(1, 2, "open", "urgent"),
        ticket(2, 10, "pending", "high"),
        ticket(3, 30, "solved", "normal"),
        ticket(4, 60, "closed", "low"),
        ticket(5, 200, "hold", "normal"),  # old but still open: aged, not in 90 d
        ticket(6, 120, "solved", "normal"),
        ticket(7, 150, "closed", None),
    ]
    five = compute_signals(facts(tickets=tickets), NOW, M5).values
    six = compute_signals(facts(tickets=tickets), NOW, M6).values
    assert five["satisfaction.support_tickets"] == 2
    assert six["support.aged_open_tickets"] == 2  # opened 10 d and 200 d ago
    assert six["support.severity_share"] == 0.5
    assert six["support.ticket_volume_trend"] == pytest.approx((4 - 2) / 2)
    quiet = compute_signals(facts(), NOW, M6).values  # Zendesk org matched, no tickets
    assert quiet["support.ticket_volume_trend"] == 0.0 and quiet["support.aged_open_tickets"] == 0
    assert "support.severity_share" not in quiet
    no_zendesk = compute_signals(facts(systems=frozenset({"salesforce"})), NOW, M6).values
    assert not any(k.startswith("support.") for k in no_zendesk)


@pytest.mark.parametrize(
    ("deals", "growth", "plan", "talks"),
    [
        ([opp(1, "upsell", 30), opp(2, "renewal", 100)], "upsell", "upgrade", "none"),
        ([opp(1, "downgrade", 5), opp(2, "upsell", 60)], "downgrade", "downgrade", "none"),
        (
            [opp(1, "renewal", 5), opp(2, "upsell", -20, "Negotiation")],
            "stable",
            "stable",
            "expansion",
        ),
        (
            [opp(1, "new_business", 500), opp(2, "downgrade", -30, "Proposal")],
            "stable",
            "stable",
            "discount_request",
        ),
        ([opp(1, "upsell", 400)], "stable", "stable", "none"),  # movement older than a year
        ([opp(1, "upsell", 10, "Closed Lost")], None, None, "none"),
    ],
)
def test_contract_movement_and_open_discussions(
    deals: list[Opportunity], growth: str | None, plan: str | None, talks: str
) -> None:
    five = compute_signals(facts(opportunities=deals), NOW, M5).values
    six = compute_signals(facts(opportunities=deals), NOW, M6).values
    assert five.get("growth.contract_growth") == growth
    assert six.get("financial.plan_movement") == plan
    assert six["financial.commercial_discussions"] == talks


def test_contacts_sponsor_and_champion() -> None:
    people = [
        contact(1, ("champion",), "Head of Operations", left=True),
        contact(2, ("executive_sponsor",), "VP Operations"),
        contact(3, ("decision_maker",), "Chief Operating Officer"),
        contact(4, ("user",), "Analyst"),
        contact(5, ("user",), "Analyst", source="hubspot"),  # the other CRM: ignored
    ]
    five = compute_signals(facts(contacts=people), NOW, M5).values
    six = compute_signals(facts(contacts=people), NOW, M6).values
    assert five["relationship.multi_threading"] == 3 and six["relationship.contacts_count"] == 3
    assert five["relationship.exec_sponsor"] == "identified"
    assert six["relationship.sponsor_seniority"] == "c_level"
    assert six["engagement.champion_present"] == "left"
    # seed-5d has no champion indicator; the catalogue keeps it for the playbooks
    catalogue = compute_signals(facts(contacts=people), NOW, M5).catalogue
    assert catalogue["champion_present"] == "left" and "engagement.champion_present" not in five
    deduped = facts(contacts=people, crm="salesforce").primary_crm_only()
    assert [c.id for c in deduped.contacts] == ["c1", "c2", "c3", "c4"]
    assert six["financial.renewal_proximity"] == 45

    engaged = [contact(2, ("executive_sponsor",), "Director", active_days_ago=3)]
    assert (
        compute_signals(facts(contacts=engaged), NOW, M5).values["relationship.exec_sponsor"]
        == "engaged"
    )
    answered = [contact(2, ("executive_sponsor",), "Director")]
    nps = [survey(9, "nps", 8, 10, (0, 10), source="salesforce", contact="c2")]
    s = compute_signals(facts(contacts=answered, surveys=nps), NOW, M5).values
    assert s["relationship.exec_sponsor"] == "engaged"
    none = compute_signals(facts(contacts=[contact(4, ("user",), "Analyst")]), NOW, M6).values
    assert none["relationship.sponsor_seniority"] == "none"
    assert "engagement.champion_present" not in none  # no champion at all: no data
    stale = [contact(1, ("champion",), "Lead", active_days_ago=200)]
    assert (
        compute_signals(facts(contacts=stale), NOW, M6).values["engagement.champion_present"]
        == "disengaged"
    )
    fresh = [contact(1, ("champion",), "Lead", active_days_ago=2)]
    assert (
        compute_signals(facts(contacts=fresh), NOW, M6).values["engagement.champion_present"]
        == "active"
    )
    nobody = compute_signals(facts(), NOW, M5).values
    assert (
        "relationship.exec_sponsor" not in nobody and "relationship.multi_threading" not in nobody
    )


def test_custom_fields_feed_any_indicator_and_segment_attributes() -> None:
    crm = account(arr=42_000.0, custom={"Webinar_Attendance__c": 0.75, "Fit__c": "high"})
    org = Account(source="zendesk", id="9", name="Acme", custom={"qbr_share": 0.5})
    options = SignalOptions(
        custom_fields={
            "engagement.webinar_attendance": "Webinar_Attendance__c",
            "relationship.qbr_participation": "qbr_share",
            "engagement.email_open_rate": "Absent__c",
        },
        attribute_fields={"fit": "Fit__c"},
    )
    s = compute_signals(facts(accounts=(crm, org)), NOW, M5, options)
    assert s.values["engagement.webinar_attendance"] == 0.75
    assert s.values["relationship.qbr_participation"] == 0.5
    assert "engagement.email_open_rate" not in s.values
    assert s.attributes == {"arr": 42_000.0, "fit": "high"}
    result = Engine(M5).score("acme.com", s.values, None, s.attributes)
    assert result.segment == "low_touch" and result.coverage > 0


def test_a_mapped_field_is_found_in_any_case_and_its_text_read_as_a_number_if_one() -> None:
    hubspot = account(custom={"cs_referrals_x": "41", "cs_level": "Lurker", "cs_q": "nan"})
    options = SignalOptions(
        custom_fields={
            "growth.referrals": "CS_Referrals_X",  # any case, as Salesforce API names
            "engagement.community_activity": "cs_level",
            "relationship.qbr_participation": "cs_q",
        }
    )
    values = compute_signals(facts(accounts=(hubspot,)), NOW, M5, options).values
    assert values["growth.referrals"] == 41.0
    assert values["engagement.community_activity"] == "Lurker"
    assert values["relationship.qbr_participation"] == "nan"  # text, not a float NaN


@pytest.mark.parametrize("model", [M5, M6])
def test_every_signal_is_a_model_key_the_engine_accepts(model: object) -> None:
    full = facts(
        usage=[day(k, **{"Ran_Report": 1}) for k in range(1, 70)],
        tickets=[ticket(1, 3), ticket(2, 100, "solved")],
        surveys=[
            survey(1, "nps", 10, 3, (0, 10), source="salesforce"),
            survey(2, "csat", 1, 3, (0, 1)),
        ],
        contacts=[contact(1, ("champion",), "Lead"), contact(2, ("executive_sponsor",), "CTO")],
        opportunities=[opp(1, "upsell", 10)],
    )
    s = compute_signals(full, NOW, model)  # type: ignore[arg-type]
    engine = Engine(model)  # type: ignore[arg-type]
    assert set(s.values) <= set(engine.keys)
    result = engine.score("acme.com", s.values)
    assert result.score is not None and 0.4 < result.coverage < 1.0
