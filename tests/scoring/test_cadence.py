"""Touchpoint cadence per segment, measured on hand-built CRM activities (seed 002)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from csbridge.errors import CsbridgeError
from csbridge.models import Activity, Contact
from csbridge.scoring.cadence import (
    cadence_status,
    last_touches,
    period_label,
    share_on_cadence,
)
from csbridge.scoring.rules import RuleContext, evaluate
from csbridge.scoring.rules_config import parse_rules

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # a Thursday, ISO week 49
TODAY = NOW.date()
STARTED = date(2025, 1, 15)
ON = parse_rules("cadence: {create_tasks: true}")
EXEC = Contact(source="salesforce", id="003E", name="Eve", title="CEO", seniority="executive")
USER = Contact(source="salesforce", id="003U", name="Ulf", title="Analyst", seniority="individual")


def act(kind: str, days_ago: float, **kw: object) -> Activity:
    data: dict[str, object] = {
        "source": "salesforce",
        "id": f"{kind}-{days_ago}-{kw.get('subject', '')}-{kw.get('contact_id', '')}",
        "account_id": "001A",
        "kind": kind,
        "occurred_at": NOW - timedelta(days=days_ago),
        **kw,
    }
    return Activity.model_validate(data)


def ctx(segment: str | None, activities: list[Activity], started: date = STARTED) -> RuleContext:
    return RuleContext(
        "acme.com",
        owner_id="005O",
        score=75.0,
        segment=segment,
        onboarding_started=started,
        touches=last_touches(activities, [EXEC, USER], NOW),
    )


def cadence_tasks(context: RuleContext, now: datetime = NOW) -> dict[str, str]:
    actions = evaluate(context, ON, now).actions
    return {a.key: a.assignee for a in actions if a.rule == "cadence"}


ATTENTIVE = [
    act("call", 5, contact_id="003U", direction="outbound"),
    act("email", 3, direction="outbound", subject="Checking in"),
    act("meeting", 40, subject="QBR Q4 - Acme", status="COMPLETED"),
    act("meeting", 100, subject="Roadmap", contact_id="003E"),
]


def test_a_high_touch_account_with_every_touchpoint_is_on_cadence_and_gets_no_task() -> None:
    evaluation = evaluate(ctx("high_touch", ATTENTIVE), ON, NOW)
    assert evaluation.cadence is not None
    assert evaluation.cadence.on_cadence
    assert evaluation.cadence.measured == ("check_in", "email", "qbr", "executive")
    assert cadence_tasks(ctx("high_touch", ATTENTIVE)) == {}


def test_missed_touchpoints_each_ask_for_one_task_keyed_by_their_period() -> None:
    stale = [
        act("call", 20),  # older than a fortnight
        act("email", 3, direction="inbound"),  # the customer's email is not our proactive one
        act("meeting", 10, subject="QBR Q4", status="CANCELED"),  # not held
        act("meeting", 95, subject="Business review", status="COMPLETED"),  # over a quarter
        act("task", 1, subject="Cadence: check-in", csbridge_key="acme.com:cadence:x"),  # ours
    ]
    status = evaluate(ctx("high_touch", stale), ON, NOW).cadence
    assert status is not None and not status.on_cadence
    assert status.missed == ("check_in", "email", "qbr", "executive")
    assert cadence_tasks(ctx("high_touch", stale)) == {
        "acme.com:cadence:2026-F25:check_in": "owner",
        "acme.com:cadence:2026-W49:email": "owner",
        "acme.com:cadence:2026Q4:qbr": "owner",
        "acme.com:cadence:2026H2:executive": "cs_manager",  # the CS director's touchpoint
    }


def test_a_rerun_in_the_same_period_asks_for_the_same_keys_and_a_new_period_for_new_ones() -> None:
    first = cadence_tasks(ctx("high_touch", []))
    later = NOW + timedelta(days=3)  # Sunday of the same ISO week
    again = cadence_tasks(ctx("high_touch", []), later)
    assert set(again) == set(first)
    next_week = set(cadence_tasks(ctx("high_touch", []), NOW + timedelta(days=7)))
    assert next_week - set(first) == {"acme.com:cadence:2026-W50:email"}


def test_tech_and_low_touch_accounts_are_never_measured_nor_given_a_task() -> None:
    for segment in ("tech_touch", "low_touch", "plg", None):
        evaluation = evaluate(ctx(segment, []), ON, NOW)
        assert evaluation.cadence is None, segment
        assert not [a for a in evaluation.actions if a.rule == "cadence"], segment


def test_mid_touch_follows_the_seed_and_arr_tier_names_map_onto_the_touch_segments() -> None:
    mid = cadence_status(ON.cadence, "mid_touch", {}, STARTED, TODAY)
    assert mid is not None and mid.missed == ("check_in", "email", "business_review")
    strategic = cadence_status(ON.cadence, "strategic", {}, STARTED, TODAY)
    assert strategic is not None and strategic.segment == "high_touch"
    mid_market = cadence_status(ON.cadence, "mid_market", {}, STARTED, TODAY)
    assert mid_market is not None and mid_market.segment == "mid_touch"


def test_a_young_account_is_not_due_before_a_whole_period_has_passed() -> None:
    status = cadence_status(ON.cadence, "high_touch", {}, TODAY - timedelta(days=10), TODAY)
    assert status is not None and status.missed == ("email",)  # only the weekly one is due


def test_tasks_are_off_by_default_but_the_cadence_is_still_measured() -> None:
    evaluation = evaluate(ctx("high_touch", []), parse_rules(None), NOW)
    assert evaluation.cadence is not None and len(evaluation.cadence.missed) == 4
    assert not [a for a in evaluation.actions if a.rule == "cadence"]


def test_a_deployment_overrides_a_touchpoint_drops_one_and_gives_low_touch_a_cadence() -> None:
    rules = parse_rules(
        """
cadence:
  segments:
    high_touch: {email: null, qbr: {every: half_year}}
    low_touch:
      check_in: {every: quarter, counts: [call], subject: "Quarterly call"}
"""
    )
    high = cadence_status(rules.cadence, "high_touch", {}, STARTED, TODAY)
    assert high is not None and high.measured == ("check_in", "qbr", "executive")
    assert rules.cadence.segments["high_touch"]["qbr"] is not None
    assert rules.cadence.segments["high_touch"]["qbr"].every == "half_year"
    low = cadence_status(rules.cadence, "low_touch", {}, STARTED, TODAY)
    assert low is not None and low.missed == ("check_in",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cadence: {aliases: {gold: vip}}",
            "r.yaml: cadence: aliases.gold: 'vip' is not a segment",
        ),
        (
            "cadence: {segments: {high_touch: {qbr: {counts: [lunch]}}}}",
            "r.yaml: cadence.segments.high_touch.qbr.counts.0: Input should be",
        ),
        (
            "cadence: {segments: {high_touch: {qbr: {subject: 'QBR {when}'}}}}",
            "r.yaml: cadence.segments.high_touch.qbr.subject: unknown placeholder {when}",
        ),
    ],
)
def test_a_bad_cadence_is_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(CsbridgeError) as caught:
        parse_rules(text, source="r.yaml")
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_period_labels() -> None:
    assert period_label("week", date(2027, 1, 1)) == "2026-W53"
    assert period_label("fortnight", date(2026, 12, 3)) == "2026-F25"
    assert period_label("month", date(2026, 12, 3)) == "2026-12"
    assert period_label("quarter", date(2026, 4, 1)) == "2026Q2"
    assert period_label("half_year", date(2026, 6, 30)) == "2026H1"
    assert period_label("year", date(2026, 6, 30)) == "2026"


def test_the_share_on_cadence_overall_and_per_segment() -> None:
    on = cadence_status(ON.cadence, "high_touch", last_touches(ATTENTIVE, [EXEC], NOW), None, TODAY)
    off = cadence_status(ON.cadence, "mid_touch", {}, STARTED, TODAY)
    summary = share_on_cadence([on, off, off, None])
    assert summary["measured"] == 3 and summary["on_cadence"] == 1
    assert summary["share"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["not_measured"] == 1
    assert summary["per_segment"]["high_touch"]["share"] == 1.0
    assert summary["per_segment"]["mid_touch"]["on_cadence"] == 0
    assert summary["missed"] == {"business_review": 2, "check_in": 2, "email": 2}
