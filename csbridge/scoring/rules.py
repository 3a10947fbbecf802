"""Playbook rules: one account's context → the actions its playbooks call for. Pure.

`evaluate(ctx, config, now)` returns `Evaluation(actions, episodes)`. Every task and
notification carries a deterministic key `"{account}:{rule}:{period}"`, so a rerun, a
retry or a duplicate webhook asks for the same object again and the plan skips it:

| rule | period in the key | one task per |
| --- | --- | --- |
| detractor | the NPS answer id | answer (`detractor_remeasure` and `:escalate` at +30 d) |
| promoter | the NPS answer id | answer |
| churn_risk | the episode start date | episode: entered below 60, left only at 65+ |
| expansion | the episode start date | episode (score > 80 and licences > 70 %, hysteresis) |
| renewal | `{renewal_date}:{days}` | step of one renewal date |
| silent | the date of the last activity | silence |
| onboarding_no_login / onboarding_no_value | the onboarding start date | onboarding |
| handoff | the closed-won date and step | step (no own task) |
| advocacy | the episode start date | stay in the Champion band (plus its steps) |
| cadence | the calendar period and touchpoint (`2026Q4:qbr`) | missed touchpoint, period |

Sequences: the `steps:` of detractor, churn_risk, silent, onboarding, adoption, handoff
and advocacy follow the rule's own task on day offsets from the episode's start (the
answer's day, the episode start, the day the silence was first seen, the onboarding
start, the closed-won date; see `rules_lifecycle` for the last three playbooks). A step's key is the
rule's period plus `:{step name}`, so the rule's own task keeps its key and each step is
created once, on its day, and never after the episode ended (`rules_sequence`).

Hysteresis: `ctx.episodes` holds the states that were active after the previous run
(rule → start date) and `Evaluation.episodes` the states after this one; the caller
stores them between runs. A state entered at threshold T is left only at T ± margin, so
an account hovering on the threshold keeps its tag and its one task. Unknown data (no
score) is not a recovery: the state is kept.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from csbridge.models import FieldValue
from csbridge.scoring.cadence import WINDOW_DAYS, CadenceStatus, cadence_status, period_label
from csbridge.scoring.rules_config import Assignee, NotifyTarget, RulesConfig, Step
from csbridge.scoring.rules_context import (
    Action,
    ActionKind,
    Evaluation,
    NpsAnswer,
    RuleContext,
    task_key,
)
from csbridge.scoring.rules_lifecycle import advocacy, detractor_escalation, handoff
from csbridge.scoring.rules_sequence import due_steps, lifecycle_stage
from csbridge.text_fit import KEY_MAX, fit_key

__all__ = [
    "Action",
    "ActionKind",
    "Evaluation",
    "FieldValue",
    "NpsAnswer",
    "RuleContext",
    "evaluate",
    "task_key",
]


class _Texts(dict[str, str]):
    """Template values; a missing one renders as '-' rather than failing a run."""

    def __missing__(self, key: str) -> str:
        return "-"


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


class _Builder:
    def __init__(self, ctx: RuleContext, config: RulesConfig, now: datetime):
        self.ctx, self.config, self.now, self.today = ctx, config, now, now.date()
        self.actions: list[Action] = []
        self.episodes: dict[str, date] = {}
        latest = ctx.latest_nps
        self.texts = _Texts(
            score=_fmt(ctx.score),
            status=ctx.status or "-",
            nps="-" if latest is None else str(latest.score),
            verbatim=(latest.comment or "(none)") if latest else "-",
            license=_fmt(None if ctx.license_utilisation is None else ctx.license_utilisation * 100)
            + " %",
            renewal_date=str(ctx.renewal_date or "-"),
            last_activity="-"
            if ctx.last_activity is None
            else ctx.last_activity.date().isoformat(),
            context=self._context(),
        )

    def _context(self) -> str:
        ctx = self.ctx
        history = ", ".join(str(a.score) for a in sorted(ctx.nps_answers, key=_answered)) or "-"
        last = "-" if ctx.last_activity is None else ctx.last_activity.date().isoformat()
        return (
            f"health {_fmt(ctx.score)} ({ctx.status or '-'}), 30 d ago {_fmt(ctx.score_30d_ago)}; "
            f"open tickets {ctx.open_tickets}, urgent in 30 d {ctx.urgent_tickets_30d}; "
            f"last activity {last}; NPS history {history}"
        )

    def text(self, template: str, **extra: str) -> str:
        return template.format_map(_Texts({**self.texts, **extra}))

    def task(
        self,
        rule: str,
        period: object,
        subject: str,
        description: str,
        due: date,
        assignee: Assignee = "owner",
        **extra: str,
    ) -> str:
        key = task_key(self.ctx.account_id, rule, period)
        self.actions.append(
            Action(
                "task",
                rule,
                key,
                self.ctx.account_id,
                self.text(subject, **extra),
                self.text(description, **extra),
                due,
                assignee,
                self.ctx.owner_id,
                period=str(period),
            )
        )
        return key

    def steps(
        self, rule: str, period: object, start: date, steps: tuple[Step, ...], **extra: str
    ) -> None:
        """The tasks of the sequence's steps due today, keyed `{period}:{step}`."""
        for step, due in due_steps(steps, start, self.today, self.ctx, self.config):
            period_ = f"{period}:{step.name}"
            self.task(rule, period_, step.subject, step.description, due, step.assignee, **extra)

    def notify(self, task_key_: str, targets: tuple[NotifyTarget, ...]) -> None:
        """A notification about the task just created, keyed `{task key}:notify` (fitted)."""
        task = next(a for a in reversed(self.actions) if a.key == task_key_)
        if targets:
            self.actions.append(
                Action(
                    "notify",
                    task.rule,
                    fit_key(f"{task.key}:notify", KEY_MAX),
                    task.account_id,
                    task.subject,
                    task.description,
                    task.due,
                    owner_id=task.owner_id,
                    notify=targets,
                )
            )

    def tag(self, rule: str, tag: str | None, on: bool) -> None:
        if tag is not None:
            kind: ActionKind = "tag_add" if on else "tag_remove"
            key = task_key(self.ctx.account_id, rule, tag)
            self.actions.append(Action(kind, rule, key, self.ctx.account_id, tag=tag))

    def set_field(self, rule: str, name: str, value: FieldValue) -> None:
        key = task_key(self.ctx.account_id, rule, name)
        self.actions.append(
            Action("field", rule, key, self.ctx.account_id, field=name, value=value)
        )

    def episode(self, rule: str, active: bool) -> date | None:
        """Record the state; the start of the running episode, or today for a new one."""
        if not active:
            return None
        start = self.ctx.episodes.get(rule, self.today)
        self.episodes[rule] = start
        return start


def _answered(answer: NpsAnswer) -> datetime:
    return answer.responded_at


def _recent_detractor(b: _Builder) -> NpsAnswer | None:
    """The latest NPS answer if it is a detractor's within the detractor rule's lookback."""
    rule, latest = b.config.rules.detractor, b.ctx.latest_nps
    if latest is None or latest.score > rule.max_nps:
        return None
    return latest if b.now - latest.responded_at <= timedelta(days=rule.lookback_days) else None


def _detractor(b: _Builder) -> None:
    rule = b.config.rules.detractor
    latest = b.ctx.latest_nps
    is_detractor = latest is not None and latest.score <= rule.max_nps
    age = None if latest is None else b.now - latest.responded_at
    paused = is_detractor and age is not None and age <= timedelta(days=rule.pause_marketing_days)
    b.set_field("detractor", "marketing_paused", paused)
    latest = _recent_detractor(b)
    if latest is None:
        return
    answered = latest.responded_at.date()
    due = (latest.responded_at + timedelta(hours=rule.due_hours)).date()
    key = b.task("detractor", latest.id, rule.subject, rule.description, max(due, b.today))
    b.notify(key, rule.notify)
    remeasure = answered + timedelta(days=rule.remeasure_days)
    b.task("detractor_remeasure", latest.id, rule.remeasure_subject, "", remeasure)
    b.steps("detractor", latest.id, answered, rule.steps)


def _promoter(b: _Builder) -> None:
    rule = b.config.rules.promoter
    latest = b.ctx.latest_nps
    is_promoter = latest is not None and latest.score >= rule.min_nps
    b.tag("promoter", rule.tag, is_promoter)
    if latest is None or not is_promoter:
        return
    if b.now - latest.responded_at <= timedelta(days=rule.lookback_days):
        due = max(latest.responded_at.date() + timedelta(days=rule.due_days), b.today)
        b.task("promoter", latest.id, rule.subject, rule.description, due)


def _churn_risk(b: _Builder, margin: float) -> None:
    rule, ctx = b.config.rules.churn_risk, b.ctx
    drop = None if ctx.score is None or ctx.score_30d_ago is None else ctx.score_30d_ago - ctx.score
    reasons = []
    if ctx.score is not None and ctx.score < rule.below:
        reasons.append(f"health {ctx.score:.0f} < {rule.below:g}")
    if drop is not None and drop >= rule.drop:
        reasons.append(f"down {drop:.0f} points in 30 days")
    if ctx.urgent_tickets_30d >= rule.urgent_tickets:
        reasons.append(f"{ctx.urgent_tickets_30d} urgent tickets in 30 days")
    if rule.champion_left and ctx.champion_left:
        reasons.append("champion left")
    detractor = _recent_detractor(b) if rule.detractor else None
    if detractor is not None:
        reasons.append(f"NPS detractor ({detractor.score}/10)")
    was = "churn_risk" in ctx.episodes
    stays = was and (
        ctx.score is None
        or ctx.score < rule.below + margin
        or (drop is not None and drop > rule.drop - margin)
    )
    start = b.episode("churn_risk", bool(reasons) or stays)
    b.tag("churn_risk", rule.tag, start is not None)
    if start is None:
        return
    why = "; ".join(reasons) or "still inside the recovery band"
    key = b.task(
        "churn_risk",
        start,
        rule.subject,
        rule.description,
        start + timedelta(days=rule.due_days),
        reasons=why,
    )
    b.notify(key, rule.notify)
    b.steps("churn_risk", start, start, rule.steps, reasons=why)


def _expansion(b: _Builder, margin: float) -> None:
    rule, ctx = b.config.rules.expansion, b.ctx
    score, lic = ctx.score, ctx.license_utilisation
    enters = (
        score is not None and lic is not None and score > rule.above and lic > rule.license_above
    )
    stays = (
        "expansion" in ctx.episodes
        and (score is None or score > rule.above - margin)
        and (lic is None or lic > rule.license_above - rule.license_margin)
    )
    start = b.episode("expansion", enters or stays)
    if start is not None:
        b.task(
            "expansion",
            start,
            rule.subject,
            rule.description,
            start + timedelta(days=rule.due_days),
        )


def _renewal(b: _Builder) -> None:
    renewal = b.ctx.renewal_date
    if renewal is None:
        return
    days_left = (renewal - b.today).days
    if days_left < 0:
        return
    for step in b.config.rules.renewal.ordered():
        if days_left <= step.days:
            due = max(renewal - timedelta(days=step.days), b.today)
            b.task(
                "renewal",
                f"{renewal.isoformat()}:{step.days}",
                step.subject,
                step.description,
                due,
                step.assignee,
                days=str(days_left),
            )
            return


def _silent(b: _Builder) -> None:
    rule, last = b.config.rules.silent, b.ctx.last_activity
    if last is None:
        return
    idle = (b.today - last.date()).days
    if idle < rule.days:
        return
    # the episode starts the day the silence is first seen; new activity ends it
    seen = b.ctx.episodes.get("silent")
    start = seen if seen is not None and seen > last.date() else b.today
    b.episodes["silent"] = start
    period = last.date().isoformat()
    b.task(
        "silent",
        period,
        rule.subject,
        rule.description,
        b.today + timedelta(days=rule.due_days),
        days=str(idle),
    )
    b.steps("silent", period, start, rule.steps, days=str(idle))


def _onboarding(b: _Builder) -> None:
    rule, ctx = b.config.rules.onboarding, b.ctx
    start = ctx.onboarding_started
    if start is None:
        return
    day = (b.today - start).days
    if not 0 <= day <= rule.window_days:
        return
    due = b.today + timedelta(days=rule.due_days)
    if ctx.first_login is None and day >= rule.no_login_days:
        b.task(
            "onboarding_no_login", start.isoformat(), rule.no_login_subject, "", due, days=str(day)
        )
    if ctx.first_value is None and day >= rule.no_value_days:
        key = b.task(
            "onboarding_no_value", start.isoformat(), rule.no_value_subject, "", due, days=str(day)
        )
        b.notify(key, rule.notify_no_value)
    b.steps("onboarding", start.isoformat(), start, rule.steps, days=str(day))


def _adoption(b: _Builder) -> None:
    rule, start = b.config.rules.adoption, b.ctx.onboarding_started
    if start is not None and rule.from_day <= (b.today - start).days <= rule.to_day:
        b.steps("adoption", start.isoformat(), start, rule.steps)


def _cadence(b: _Builder) -> CadenceStatus | None:
    """The account's touchpoint cadence; with `create_tasks`, a task per missed
    touchpoint, keyed by the touchpoint's calendar period (once per period)."""
    config = b.config.cadence
    status = cadence_status(config, b.ctx.segment, b.ctx.touches, b.ctx.onboarding_started, b.today)
    if status is None or not config.create_tasks:
        return status
    points = config.segments[status.segment]
    for name in status.missed:
        point = points[name]
        assert point is not None  # `missed` names configured touchpoints only
        seen = [b.ctx.touches[c] for c in point.counts if c in b.ctx.touches]
        window = WINDOW_DAYS[point.every]
        days = f"over {window}" if not seen else str((b.today - max(seen).date()).days)
        period = f"{period_label(point.every, b.today)}:{name}"
        due = b.today + timedelta(days=point.due_days)
        b.task("cadence", period, point.subject, point.description, due, point.assignee, days=days)
    return status


def evaluate(ctx: RuleContext, config: RulesConfig, now: datetime) -> Evaluation:
    """The actions every enabled playbook asks for, and the states active after this run."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    b = _Builder(ctx, config, now)
    rules, margin = config.rules, config.score_margin
    account = (ctx.segment, lifecycle_stage(ctx, b.today))
    if rules.detractor.applies_to(*account):
        _detractor(b)
        detractor_escalation(b)
    if rules.promoter.applies_to(*account):
        _promoter(b)
    if rules.churn_risk.applies_to(*account):
        _churn_risk(b, margin)
    if rules.expansion.applies_to(*account):
        _expansion(b, margin)
    if rules.renewal.applies_to(*account):
        _renewal(b)
    if rules.silent.applies_to(*account):
        _silent(b)
    if rules.onboarding.applies_to(*account):
        _onboarding(b)
    if rules.adoption.applies_to(*account):
        _adoption(b)
    if rules.handoff.applies_to(*account):
        handoff(b)
    if rules.advocacy.applies_to(*account):
        advocacy(b)
    cadence = _cadence(b)
    return Evaluation(tuple(b.actions), dict(b.episodes), cadence)
