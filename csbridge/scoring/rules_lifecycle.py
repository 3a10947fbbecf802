"""The playbooks at the edges of the customer lifecycle: the post-sale handoff, the
detractor's escalation and advocacy for the Champion band. Pure; `rules.evaluate` calls
them with its builder.

- handoff (seed 002 "Nouveau Client (Handoff)"): steps from the closed-won date of the
  latest won new-business deal, keyed `handoff:{close date}:{step}`, while the deal is
  at most `to_day` days old. The welcome email and kickoff are the onboarding sequence's
  steps; the handoff holds the Sales → CS steps only.
- detractor escalation (seed 000 "J+30 : RE-MESURE ... si pas d'amélioration :
  escalade churn-prevention"): on the re-measure day of the latest detractor answer, when
  no newer answer is above `max_nps` (the seed's re-measure is a new NPS: no answer, or
  a detractor again, is no improvement), a task for `escalate_assignee`, keyed
  `detractor:{answer id}:escalate`, within `lookback_days` of that day.
- advocacy (seed 000's band 86-100 "Champion: Advocacy, case study, referral"): an
  episode while the account's status is `band` (the status is already sticky by
  `score_margin`); its own task, then the steps, once per episode.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csbridge.scoring.rules import _Builder


def handoff(b: _Builder) -> None:
    rule, won = b.config.rules.handoff, b.ctx.closed_won
    if won is not None and 0 <= (b.today - won).days <= rule.to_day:
        b.steps("handoff", won.isoformat(), won, rule.steps)


def detractor_escalation(b: _Builder) -> None:
    rule = b.config.rules.detractor
    if rule.escalate_subject is None:
        return
    answers = sorted(b.ctx.nps_answers, key=lambda a: a.responded_at)
    detractors = [a for a in answers if a.score <= rule.max_nps]
    if not detractors:
        return
    answer = detractors[-1]
    day = answer.responded_at.date() + timedelta(days=rule.remeasure_days)
    if not 0 <= (b.today - day).days <= rule.lookback_days:
        return
    if any(a.responded_at > answer.responded_at and a.score > rule.max_nps for a in answers):
        return  # improved: the re-measure is no longer a detractor
    b.task(
        "detractor",
        f"{answer.id}:escalate",
        rule.escalate_subject,
        rule.escalate_description,
        max(day, b.today) + timedelta(days=rule.escalate_due_days),
        rule.escalate_assignee,
        nps=str(answer.score),
    )


def advocacy(b: _Builder) -> None:
    rule = b.config.rules.advocacy
    start = b.episode("advocacy", b.ctx.status == rule.band)
    if start is None:
        return
    due = start + timedelta(days=rule.due_days)
    b.task("advocacy", start, rule.subject, rule.description, due)
    b.steps("advocacy", start, start, rule.steps)
