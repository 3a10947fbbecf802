"""Keys and prose fit the CRMs' and the store's 255-character limits; short ones never move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csbridge.mappings.fields import load_field_mapping
from csbridge.mappings.identity import normalise_domain
from csbridge.scoring.rules import NpsAnswer, RuleContext, evaluate
from csbridge.scoring.rules_config import load_rules
from csbridge.scoring.rules_context import task_key
from csbridge.sync.desired import desired_state
from csbridge.text_fit import fit_key, fit_prose, storable

LONG_DOMAIN = ("long-" * 40)[:188] + ".example.com"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_short_task_keys_are_unchanged() -> None:
    assert task_key("acme.com", "churn_risk", "2026-03-01") == "acme.com:churn_risk:2026-03-01"


def test_a_long_key_is_hashed_to_fit_deterministic_and_distinct() -> None:
    one = task_key(LONG_DOMAIN * 2, "renewal", "90")
    assert len(one) == 255 and one.startswith("long-long-")
    assert one == task_key(LONG_DOMAIN * 2, "renewal", "90")
    assert one != task_key(LONG_DOMAIN * 2, "renewal", "60")
    assert fit_key("x" * 255) == "x" * 255


def test_prose_is_cut_with_an_ellipsis() -> None:
    assert fit_prose("s" * 300) == "s" * 254 + "…" and fit_prose("short") == "short"


def test_over_long_domains_are_hashed_the_same_way_in_every_system() -> None:
    huge = "a" * 300 + ".com"
    domain = normalise_domain(f"https://www.{huge}/path")
    assert domain is not None and len(domain) == 253
    assert domain == normalise_domain(f"billing@{huge}")
    assert normalise_domain(LONG_DOMAIN) == LONG_DOMAIN


def test_storable_cleans_nested_text_and_keeps_other_values() -> None:
    assert storable({"a\x00": ["b\x00", ("\udc80", 3)], "n": None}) == {
        "a": ["b", ("\ufffd", 3)],
        "n": None,
    }


def test_every_key_and_text_a_long_domain_yields_fits_the_crm() -> None:
    survey = "a0X" + "9" * 80
    answer = NpsAnswer(survey, 2, NOW - timedelta(hours=3), "Slow " * 100)
    ctx = RuleContext(LONG_DOMAIN, owner_id="u1", score=30.0, nps_answers=(answer,))
    actions = evaluate(ctx, load_rules(), NOW).actions
    state = desired_state(None, ctx, actions, load_field_mapping("salesforce"), NOW)
    keys = [t.key for t in state.tasks] + [n.key for n in state.notifications]
    assert len(keys) >= 3 and len(set(keys)) == len(keys)
    assert all(len(key) <= 255 for key in keys)
    assert f"{LONG_DOMAIN}:churn_risk:{NOW.date()}" in keys  # 230 characters: unchanged
    assert all(len(t.subject) <= 255 for t in state.tasks)
    text = [v for v in state.fields.values() if isinstance(v, str)]
    assert text and all(len(v) <= 255 for v in text)
