"""The plan: desired vs ledger → ChangeSet; owned tags only; idempotence; JSON and table."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from csbridge.mappings.fields import FieldSpec, load_field_mapping
from csbridge.scoring import Engine, load_model
from csbridge.scoring.rules import NpsAnswer, RuleContext, evaluate
from csbridge.scoring.rules_config import load_rules
from csbridge.sync.changes import (
    ChangeSet,
    DesiredState,
    FieldChange,
    LedgerState,
    Notification,
    TaskToCreate,
)
from csbridge.sync.desired import desired_state
from csbridge.sync.plan import applied, applied_all, plan, plan_account

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OWNED = ("Promoter", "Churn Risk")
RULES = load_rules()
ENGINE = Engine(load_model("seed-6d"))
_SF = load_field_mapping("salesforce")
SF = _SF.model_copy(
    update={
        "write": {
            **_SF.write,
            "tags": FieldSpec(api_name="CS_Tags__c", type="text", label="Tags"),
            "marketing_paused": FieldSpec(api_name="Paused__c", type="boolean", label="Paused"),
        }
    }
)


def task(key: str) -> TaskToCreate:
    return TaskToCreate(key, "A1", key.split(":")[1], f"subject of {key}", due=date(2026, 11, 25))


def desired(**kw: object) -> DesiredState:
    base: dict[str, object] = {"account_id": "A1", "record_id": "001A"}
    base.update(kw)
    return DesiredState(**base)  # type: ignore[arg-type]


def test_only_changed_fields_with_before_and_after() -> None:
    want = desired(
        fields={"Health_Score__c": 61.0, "Health_Status__c": "stable", "Health_Trend__c": None},
        touch_fields={"Health_Updated__c": NOW.isoformat()},
    )
    ledger = LedgerState(
        fields={"Health_Score__c": 61, "Health_Status__c": "at_risk", "Health_Trend__c": None}
    )
    changes = plan_account(want, ledger, OWNED)
    assert changes.fields == (
        FieldChange("Health_Status__c", "at_risk", "stable"),
        FieldChange("Health_Updated__c", None, NOW.isoformat()),
    )
    same = LedgerState(fields={**ledger.fields, "Health_Status__c": "stable"})
    assert plan_account(want, same, OWNED).is_empty  # the touch field alone is no change


def test_empty_value_is_written_only_over_a_value() -> None:
    want = desired(fields={"Health_Trend__c": None, "CS_Segment__c": None})
    changes = plan_account(want, LedgerState({"CS_Segment__c": "high-touch"}), OWNED)
    assert changes.fields == (FieldChange("CS_Segment__c", "high-touch", None),)


def test_bool_and_number_are_not_the_same_value() -> None:
    changes = plan_account(desired(fields={"Flag__c": True}), LedgerState({"Flag__c": 1}), OWNED)
    assert changes.fields == (FieldChange("Flag__c", 1, True),)


def test_tags_owned_are_added_and_removed_others_never_touched() -> None:
    ledger = LedgerState(tags=frozenset({"Churn Risk", "VIP", "Reference"}))
    changes = plan_account(desired(tags=frozenset({"Promoter"})), ledger, OWNED)
    assert changes.tags.added == ("Promoter",)
    assert changes.tags.removed == ("Churn Risk",)
    after = applied(ledger, changes)
    assert after.tags == frozenset({"Promoter", "VIP", "Reference"})


def test_no_tag_changes_without_a_tags_field() -> None:
    want = desired(tags=frozenset({"Promoter"}), unmapped=("tags",))
    changes = plan_account(want, LedgerState(tags=frozenset({"Churn Risk"})), OWNED)
    assert not changes.tags
    assert changes.warnings == (
        "tags: not in the field mapping; add it to the mapping's write: section",
    )


def test_a_desired_tag_csbridge_does_not_own_is_not_written() -> None:
    changes = plan_account(desired(tags=frozenset({"VIP"})), LedgerState(), OWNED)
    assert not changes.tags
    assert any("VIP" in w for w in changes.warnings)


def test_tasks_and_notifications_only_for_new_keys_once() -> None:
    note = Notification(
        "A1:churn_risk:2026-11-23:notify", "A1", "churn_risk", "s", targets=("csm",)
    )
    want = desired(
        tasks=(task("A1:churn_risk:2026-11-23"), task("A1:renewal:2027-01-01:60"),
               task("A1:renewal:2027-01-01:60")),
        notifications=(note, note),
    )  # fmt: skip
    ledger = LedgerState(task_keys=frozenset({"A1:churn_risk:2026-11-23"}))
    changes = plan_account(want, ledger, OWNED)
    assert [t.key for t in changes.tasks] == ["A1:renewal:2027-01-01:60"]
    assert changes.notifications == (note,)
    again = plan_account(want, applied(ledger, changes), OWNED)
    assert again.is_empty


def test_unmapped_fields_are_warned_about() -> None:
    changes = plan_account(desired(unmapped=("marketing_paused",)), LedgerState(), OWNED)
    assert changes.is_empty
    warning = "marketing_paused: not in the field mapping; add it to the mapping's write: section"
    assert changes.warnings == (warning,)
    table = ChangeSet((changes, replace(changes, account_id="A2"))).render_table()
    assert table.startswith("No changes.")
    assert table.splitlines()[-1] == f"warning: {warning} (2 accounts)"


def _portfolio(rng: random.Random, n: int) -> dict[str, DesiredState]:
    """Desired states built the real way: random contexts → engine → rules → desired."""
    states = {}
    for i in range(n):
        account = f"A{i:03d}"
        score = ENGINE.score(
            account,
            indicator_scores={
                "usage.dau_mau": rng.uniform(0, 100),
                "support.severity_share": rng.uniform(0, 100),
            },
        )
        answers = tuple(
            NpsAnswer(
                f"{account}-n{j}", rng.randint(0, 10), NOW - timedelta(days=rng.uniform(0, 40))
            )
            for j in range(rng.randint(0, 2))
        )
        ctx = RuleContext(
            account,
            owner_id="u1",
            score=score.score,
            score_30d_ago=rng.choice([None, rng.uniform(0, 100)]),
            nps_answers=answers,
            urgent_tickets_30d=rng.randint(0, 3),
            license_utilisation=rng.uniform(0, 1),
            renewal_date=NOW.date() + timedelta(days=rng.randint(-10, 200)),
            last_activity=NOW - timedelta(days=rng.randint(0, 30)),
        )
        actions = evaluate(ctx, RULES, NOW).actions
        states[account] = desired_state(score, ctx, actions, SF, NOW, record_id=f"001{i}")
    return states


def _random_ledger(rng: random.Random, states: dict[str, DesiredState]) -> dict[str, LedgerState]:
    """Some accounts unseen, some partly written, some with foreign tags."""
    ledger = {}
    for account, state in states.items():
        if rng.random() < 0.3:
            continue
        fields = {k: v for k, v in state.fields.items() if rng.random() < 0.5}
        fields.update({k: "stale" for k in state.fields if rng.random() < 0.2})
        tags = {t for t in (*OWNED, "VIP") if rng.random() < 0.4}
        keys = {t.key for t in state.tasks if rng.random() < 0.5}
        ledger[account] = LedgerState(fields, frozenset(tags), frozenset(keys))
    return ledger


def test_property_planning_the_applied_result_again_is_empty() -> None:
    for seed in range(25):
        rng = random.Random(seed)
        states = _portfolio(rng, 20)
        ledger = _random_ledger(rng, states)
        first = plan(states, ledger, owned_tags=OWNED)
        assert not first.is_empty
        after = applied_all(ledger, first)
        second = plan(states, after, owned_tags=OWNED)
        assert second.is_empty, seed
        for account, state in states.items():
            before_foreign = ledger.get(account, LedgerState()).tags - set(OWNED)
            assert after[account].tags - set(OWNED) == before_foreign  # foreign tags kept
            assert after[account].tags & set(OWNED) == state.tags
        # A later run with a new `now` only changes the touch field: still nothing to write.
        stamp = (NOW + timedelta(hours=1)).isoformat()
        later = {
            a: replace(s, touch_fields=dict.fromkeys(s.touch_fields, stamp))
            for a, s in states.items()
        }
        assert plan(later, after, owned_tags=OWNED).is_empty


def test_property_no_change_set_creates_a_key_twice_across_runs() -> None:
    rng = random.Random(7)
    states = _portfolio(rng, 30)
    ledger: dict[str, LedgerState] = {}
    seen: list[str] = []
    for _ in range(3):
        changes = plan(states, ledger, owned_tags=OWNED)
        seen += [t.key for a in changes.accounts for t in a.tasks]
        ledger = applied_all(ledger, changes)
    assert seen and len(seen) == len(set(seen))


def test_json_and_table_output() -> None:
    want = desired(
        fields={"Health_Score__c": 55.0},
        touch_fields={"Health_Updated__c": NOW.isoformat()},
        tags=frozenset({"Churn Risk"}),
        tasks=(task("A1:churn_risk:2026-11-23"),),
        notifications=(
            Notification("A1:churn_risk:2026-11-23:notify", "A1", "churn_risk", "Churn risk",
                         targets=("csm", "cs_manager")),
        ),
    )  # fmt: skip
    ledger = {"A1": LedgerState({"Health_Score__c": 71.5}, frozenset({"Promoter", "VIP"}))}
    changes = plan({"A1": want, "A2": desired(account_id="A2")}, ledger, owned_tags=OWNED)
    data = json.loads(changes.to_json())
    assert data["summary"] == {
        "records": 1,
        "fields": 2,
        "tags_added": 1,
        "tags_removed": 1,
        "tasks": 1,
        "notifications": 1,
    }
    (account,) = data["accounts"]  # A2 has nothing to change and is left out
    assert account["fields"][0] == {"field": "Health_Score__c", "before": 71.5, "after": 55.0}
    assert account["tags"] == {"added": ["Churn Risk"], "removed": ["Promoter"]}
    assert account["tasks"][0]["due"] == "2026-11-25"
    table = changes.render_table()
    lines = table.splitlines()
    assert lines[0].split() == ["account", "change", "what", "before", "->", "after", "/", "detail"]
    assert "Health_Score__c" in table and "71.5 -> 55.0" in table
    assert "+Churn Risk" in table and "-Promoter" in table and "VIP" not in table
    assert "due 2026-11-25 subject of A1:churn_risk:2026-11-23" in table
    assert "to csm,cs_manager: Churn risk" in table
    assert lines[-1] == (
        "2 field changes on 1 records, 1 tags added, 1 removed, 1 tasks to create, 1 notifications"
    )
    assert ChangeSet().render_table().startswith("No changes.")
