"""Closing the open tasks of ended episodes, and the overdue steps: on hand-built data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from csbridge.connectors.protocol import TaskState, TaskUpdate, WriteResult
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, load_model
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.rules import evaluate
from csbridge.scoring.rules_config import parse_rules
from csbridge.scoring.rules_context import (
    Action,
    Evaluation,
    KeyParts,
    RuleContext,
    split_key,
    task_key,
)
from csbridge.scoring.signal_types import CustomerFacts, CustomerSignals
from csbridge.store.store import open_store
from csbridge.store.tables import task_outcomes
from csbridge.sync.apply_types import ApplyReport
from csbridge.sync.cycle import Scored
from csbridge.sync.task_close import Evaluated, close_tasks, closings
from csbridge.sync.task_overdue import Overdue, overdue_steps

RULES = parse_rules()
ENGINE = Engine(load_model("seed-5d"))
TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 6, tzinfo=UTC)
START = "2026-11-20"


def scored(
    key: str, score: float, asked: Sequence[str] = (), last_activity: datetime | None = None
) -> Evaluated:
    """An account after this run's rules: the task keys its rules still ask for (what
    closing keeps of it: `Evaluated.of`)."""
    actions = tuple(Action("task", k.split(":")[1], k, key) for k in asked)
    return Evaluated.of(
        Scored(
            CustomerFacts(key),
            CustomerSignals(key, {}),
            ScoreResult({"id": key, "score": score}, [], []),
            RuleContext(key, score=score, last_activity=last_activity),
            Evaluation(actions, {}),
            None,
            ENGINE,
        )
    )


def state(
    task_id: str, *, status: str = "Not Started", text: str = "", due: date | None = None
) -> TaskState:
    return TaskState(task_id, False, status=status, description=text, due=due)


def test_split_key_finds_the_account_rule_and_period() -> None:
    assert split_key("a.com:churn_risk:2026-11-20:call") == KeyParts(
        "a.com", "churn_risk", "2026-11-20:call"
    )
    assert split_key("a.com:detractor_remeasure:nps-1") == KeyParts(
        "a.com", "detractor_remeasure", "nps-1"
    )
    assert split_key("a.com:churn_risk:2026-11-20:notify") is None
    assert split_key("a.com:hash-only") is None


def test_only_the_open_tasks_of_an_ended_episode_are_closed_with_a_comment() -> None:
    open_tasks = {
        f"a.com:churn_risk:{START}": state("1", text="Diagnose within 2 days"),
        f"a.com:churn_risk:{START}:call": state("2"),
        "a.com:renewal:2027-03-01:90": state("3"),  # no episode: never closed
        f"b.com:churn_risk:{START}": state("4"),  # b.com's episode runs on
        f"c.com:churn_risk:{START}": state("5"),  # c.com was not evaluated this run
    }
    items = [scored("a.com", 72), scored("b.com", 50, [f"b.com:churn_risk:{START}"])]
    result = closings(items, open_tasks, RULES, "Completed", TODAY)
    comment = "Closed by csbridge on 2026-12-03: account back above 60 (health 72)"
    assert [(c.account_id, c.update, c.written) for c in result] == [
        (
            "a.com",
            TaskUpdate(
                f"a.com:churn_risk:{START}",
                "1",
                "Completed",
                f"Diagnose within 2 days\n\n{comment}",
            ),
            True,
        ),
        ("a.com", TaskUpdate(f"a.com:churn_risk:{START}:call", "2", "Completed", comment), True),
    ]


def test_a_task_already_closed_with_the_comment_is_recorded_without_a_write() -> None:
    # a run of 12-01 closed it and stopped before recording it
    comment = "Closed by csbridge on 2026-12-01: account back above 60 (health 72)"
    open_tasks = {f"a.com:churn_risk:{START}": state("1", status="Completed", text=comment)}
    [only] = closings([scored("a.com", 72)], open_tasks, RULES, "Completed", TODAY)
    assert not only.written and only.update.description == comment


def test_cancel_says_cancelled_and_silent_says_why() -> None:
    rules = parse_rules("tasks: {on_episode_end: cancel, cancel_status: {hubspot: DEFERRED}}")
    item = scored("a.com", 80, last_activity=datetime(2026, 12, 2, tzinfo=UTC))
    [only] = closings(
        [item], {"a.com:silent:2026-11-01:email": state("9")}, rules, "DEFERRED", TODAY
    )
    assert only.update.description == (
        "Cancelled by csbridge on 2026-12-03: activity again on 2026-12-02"
    )


def test_leaving_the_champion_band_closes_the_advocacy_tasks_and_overdue_names_steps() -> None:
    open_tasks = {
        f"a.com:advocacy:{START}": state("1"),
        f"a.com:advocacy:{START}:case_study": state("2"),
        f"a.com:handoff:{START}:sales_brief": state("3"),  # no episode: never closed
    }
    result = closings([scored("a.com", 80)], open_tasks, RULES, "Completed", TODAY)
    assert [c.update.key for c in result] == [
        f"a.com:advocacy:{START}",
        f"a.com:advocacy:{START}:case_study",
    ]
    assert result[0].update.description == (
        "Closed by csbridge on 2026-12-03: no longer in the champion band (health 80)"
    )
    late = {
        "a.com:detractor:nps-1:escalate": state("4", due=date(2026, 12, 1)),
        f"a.com:handoff:{START}:sales_brief": state("5", due=date(2026, 11, 21)),
    }
    steps = {(o.rule, o.step, o.holds_up) for o in overdue_steps(late, RULES, TODAY)}
    assert steps == {
        ("detractor", "escalate", None),
        ("handoff", "sales_brief", "handoff_documented"),
    }


LONG = "a" * 236 + ".com"  # an account key so long that its task keys end in a hash


def long_scored(
    key: str,
    score: float,
    asked: Sequence[tuple[str, str]] = (),
    before: dict[str, date] | None = None,
    last_activity: datetime | None = None,
) -> Evaluated:
    """An account whose task keys are hashed: its asked tasks as (rule, period), the
    episodes running before this run as rule -> start."""
    actions = tuple(Action("task", r, task_key(key, r, p), key, period=p) for r, p in asked)
    ctx = RuleContext(key, score=score, last_activity=last_activity, episodes=before or {})
    return Evaluated.of(
        Scored(
            CustomerFacts(key),
            CustomerSignals(key, {}),
            ScoreResult({"id": key, "score": score}, [], []),
            ctx,
            Evaluation(actions, {}),
            None,
            ENGINE,
        )
    )


def test_hashed_keys_of_an_ended_episode_are_closed_and_a_running_one_kept() -> None:
    own, call = task_key(LONG, "churn_risk", START), task_key(LONG, "churn_risk", f"{START}:call")
    renewal = task_key(LONG, "renewal", "2027-03-01:90")
    assert all(len(k) == 255 and "churn_risk" not in k for k in (own, call))
    open_tasks = {own: state("1"), call: state("2"), renewal: state("3")}
    before = {"churn_risk": date.fromisoformat(START)}
    ended = closings([long_scored(LONG, 72, before=before)], open_tasks, RULES, "Completed", TODAY)
    assert sorted(c.update.key for c in ended) == sorted([own, call])
    assert {c.account_id for c in ended} == {LONG}
    assert ended[0].update.description == (
        "Closed by csbridge on 2026-12-03: account back above 60 (health 72)"
    )
    running = long_scored(LONG, 50, [("churn_risk", START)], before)
    assert closings([running], open_tasks, RULES, "Completed", TODAY) == []


def test_the_rules_give_each_task_its_period_so_a_hashed_key_can_be_recomputed() -> None:
    evaluation = evaluate(RuleContext(LONG, score=40.0), RULES, NOW)
    [own] = [a for a in evaluation.actions if a.kind == "task" and a.rule == "churn_risk"]
    assert own.period == TODAY.isoformat()
    assert own.key == task_key(LONG, "churn_risk", own.period) and own.key.startswith("aaa")


def test_a_hashed_key_showing_its_account_and_rule_is_closed_when_the_episode_ends() -> None:
    account = "s" * 221 + ".com"
    key = task_key(account, "silent", "2026-11-01:escalate_manager")
    assert len(key) == 255 and split_key(key) is None and f"{account}:silent:" in key
    again = datetime(2026, 12, 2, tzinfo=UTC)
    [only] = closings(
        [long_scored(account, 80, last_activity=again)],
        {key: state("9")},
        RULES,
        "Completed",
        TODAY,
    )
    assert only.update.key == key and "activity again on 2026-12-02" in only.update.description
    silent = long_scored(account, 80, [("silent", "2026-11-01")])
    assert closings([silent], {key: state("9")}, RULES, "Completed", TODAY) == []


def test_end_statuses_and_their_errors() -> None:
    assert RULES.tasks.end_status("salesforce") == "Completed"
    assert RULES.tasks.end_status("hubspot") == "COMPLETED"
    assert parse_rules("tasks: {on_episode_end: leave}").tasks.end_status("hubspot") is None
    with pytest.raises(CsbridgeError, match="on_episode_end: cancel needs cancel_status"):
        parse_rules("tasks: {on_episode_end: cancel}")
    with pytest.raises(CsbridgeError, match="'CANCELLED' is not a HubSpot task status"):
        parse_rules("tasks: {cancel_status: {hubspot: CANCELLED}}")
    rules = parse_rules("tasks: {on_episode_end: cancel, cancel_status: {hubspot: DEFERRED}}")
    with pytest.raises(CsbridgeError, match=r"tasks\.cancel_status\.salesforce is missing"):
        rules.tasks.end_status("salesforce")
    custom = "tasks: {on_episode_end: cancel, cancel_status: {salesforce: Cancelled}}"
    assert parse_rules(custom).tasks.end_status("salesforce") == "Cancelled"


class FakeWriter:
    """A CRM that accepts every status but `Cancelled` (not in its picklist)."""

    name = "salesforce"
    batch_size = 2

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def update_tasks(self, updates: Sequence[TaskUpdate]) -> list[WriteResult]:
        self.calls.append([u.key for u in updates])
        return [
            WriteResult(u.key, False, error="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: bad value")
            if u.status == "Cancelled"
            else WriteResult(u.key, True, id=u.task_id)
            for u in updates
        ]


def test_close_tasks_batches_records_and_names_a_refused_status(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    open_tasks = {f"a.com:churn_risk:{START}:s{i}": state(str(i)) for i in range(5)}
    items = closings([scored("a.com", 72)], open_tasks, RULES, "Completed", TODAY)
    writer, report = FakeWriter(), ApplyReport("salesforce")
    close_tasks(store, writer, items, report, NOW, "closed")  # type: ignore[arg-type]
    assert [len(c) for c in writer.calls] == [2, 2, 1]  # the CRM's batch size
    assert report.tasks_closed == 5 and report.ok
    with store.engine.connect() as conn:
        rows = conn.execute(select(task_outcomes.c.key, task_outcomes.c.outcome)).all()
    assert sorted(rows) == sorted((k, "closed") for k in open_tasks)

    refused = closings(
        [scored("b.com", 72)], {f"b.com:churn_risk:{START}": state("7")}, RULES, "Cancelled", TODAY
    )
    close_tasks(store, writer, refused, report, NOW, "cancelled")  # type: ignore[arg-type]
    [failure] = report.failed
    assert failure.ref == f"b.com:churn_risk:{START}" and failure.account_id == "b.com"
    assert "fix tasks.cancel_status.salesforce in the rules file" in failure.reason
    store.engine.dispose()


def test_overdue_steps_are_the_open_sequence_tasks_past_their_due_date() -> None:
    open_tasks = {
        f"a.com:churn_risk:{START}": state("1", due=date(2026, 11, 22)),  # 11 days late
        f"a.com:churn_risk:{START}:call": state("2", due=date(2026, 12, 3)),  # due today
        f"b.com:churn_risk:{START}:action_plan": state("3", due=date(2026, 12, 1)),
        f"b.com:churn_risk:{START}:stabilised": state("4", due=date(2026, 12, 2)),  # the last
        "c.com:renewal:2027-01-01:30": state("5", due=date(2026, 12, 1)),  # not a sequence
        "d.com:silent:2026-10-01:email": state("6"),  # no due date
    }
    assert overdue_steps(open_tasks, RULES, TODAY) == [
        Overdue("a.com", "churn_risk", "start", date(2026, 11, 22), 11, "call"),
        Overdue("b.com", "churn_risk", "action_plan", date(2026, 12, 1), 2, "executive_sponsor"),
        Overdue("b.com", "churn_risk", "stabilised", date(2026, 12, 2), 1, None),
    ]
