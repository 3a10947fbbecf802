"""Desired CRM state for one account: its score, its context and its rule actions. Pure.

Fields are written under the CRM's API names from the field mapping
(`csbridge/mappings/defaults/<crm>.yaml`, internal name → API name). An internal name
the mapping does not know (e.g. `marketing_paused` or `tags` before a deployment maps
them) is reported in `DesiredState.unmapped` rather than guessed.

The status band is sticky: with `bands` given, an account keeps its previous status
while its score stays within `margin` points of that band, so it does not flap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from csbridge.mappings.fields import CrmFieldMapping
from csbridge.models import FieldValue
from csbridge.scoring.bands import Band, band_for
from csbridge.scoring.explain import NO_EXPLANATION, Explanation
from csbridge.scoring.nps import nps_category
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.rules_context import Action, RuleContext
from csbridge.sync.changes import DesiredState, Notification, TaskToCreate
from csbridge.text_fit import fit_prose

TOUCH_FIELDS = ("health_updated",)
"""Internal fields written only along with another change (they differ every run)."""


def sticky_band(score: float, previous: str | None, bands: Sequence[Band], margin: float) -> str:
    """The band of `score`, unless `previous` still holds it within `margin` points."""
    current = band_for(score, bands)
    names = [b.name for b in bands]
    if previous is None or previous == current or previous not in names:
        return current
    i = names.index(previous)
    low = bands[i - 1].bound if i > 0 else None
    high = bands[i].bound
    above_low = low is None or score > low - margin
    below_high = high is None or score < high + margin
    return previous if above_low and below_high else current


def _score_fields(
    score: ScoreResult | None,
    ctx: RuleContext,
    bands: Sequence[Band] | None,
    margin: float,
    explanation: Explanation,
) -> dict[str, FieldValue]:
    if score is None or score.score is None:
        return {}
    value = round(score.score, 1)
    status = score.status
    if bands:
        status = sticky_band(score.score, ctx.previous_status, bands, margin)
    trend = None if ctx.score_30d_ago is None else round(score.score - ctx.score_30d_ago, 1)
    fields: dict[str, FieldValue] = {
        "health_score": value,
        "health_status": status,
        "health_trend": trend,
        "health_segment": score.segment,
        "health_coverage": round(score.coverage * 100, 1),
        "health_drivers": explanation.drivers or None,
        "health_previous": None if ctx.previous_score is None else round(ctx.previous_score, 1),
        "health_why": explanation.why or None,
    }
    for dim in score.dimensions:
        fields[f"dimension.{dim.name}"] = None if dim.score is None else round(dim.score, 1)
    probability = score.data.get("churn_probability")
    if probability is not None:  # a calibrated model: churn within its horizon, in %
        fields["health_churn_probability"] = round(probability * 100, 1)
    return fields


def desired_state(
    score: ScoreResult | None,
    ctx: RuleContext,
    actions: Sequence[Action],
    mapping: CrmFieldMapping,
    now: datetime,
    *,
    record_id: str | None = None,
    bands: Sequence[Band] | None = None,
    margin: float = 5.0,
    explanation: Explanation = NO_EXPLANATION,
) -> DesiredState:
    """What the account's CRM record should hold: fields, owned tags, tasks, notifications.

    `explanation` is the score in words (`csbridge.scoring.explain.explain`): the drivers
    and the "why" text, with the model's labels, never raw indicator keys.
    """
    internal = _score_fields(score, ctx, bands, margin, explanation)
    # dimension fields exist only where the mapping was built with the model's dimensions
    for name in [n for n in internal if n.startswith("dimension.") and n not in mapping.write]:
        del internal[name]
    latest = ctx.latest_nps
    if latest is not None:
        internal["nps_category"] = nps_category(latest.score)
    tags: set[str] = set()
    tasks: list[TaskToCreate] = []
    notes: list[Notification] = []
    for action in actions:
        if action.account_id != ctx.account_id:
            raise ValueError(
                f"action {action.key} is for {action.account_id}, not {ctx.account_id}"
            )
        if action.kind == "field" and action.field is not None:
            internal[action.field] = action.value
        elif action.kind == "tag_add" and action.tag is not None:
            tags.add(action.tag)
        elif action.kind == "tag_remove":
            # tags are a desired set: one is on while some rule adds it, and the plan
            # removes an owned tag no rule adds, so a rule's "off" needs no entry here
            continue
        elif action.kind == "task":
            tasks.append(
                TaskToCreate(
                    action.key,
                    action.account_id,
                    action.rule,
                    fit_prose(action.subject),
                    action.description,
                    action.due,
                    action.assignee,
                    action.owner_id,
                )
            )
        elif action.kind == "notify":
            notes.append(
                Notification(
                    action.key,
                    action.account_id,
                    action.rule,
                    action.subject,
                    action.description,
                    action.notify,
                    action.owner_id,
                )
            )
    fields, unmapped = _to_api(internal, mapping)
    touch: dict[str, FieldValue] = {}
    if internal:
        touch, missing = _to_api({name: now.isoformat() for name in TOUCH_FIELDS}, mapping)
        unmapped += missing
    if tags and "tags" not in mapping.write:
        unmapped += ("tags",)
    return DesiredState(
        account_id=ctx.account_id,
        record_id=record_id or ctx.account_id,
        fields=fields,
        touch_fields=touch,
        tags=frozenset(tags),
        tasks=tuple(tasks),
        notifications=tuple(notes),
        unmapped=tuple(sorted(set(unmapped))),
    )


def _to_api(
    internal: dict[str, FieldValue], mapping: CrmFieldMapping
) -> tuple[dict[str, FieldValue], tuple[str, ...]]:
    fields: dict[str, FieldValue] = {}
    unmapped: list[str] = []
    for name, value in internal.items():
        spec = mapping.write.get(name)
        if spec is None:
            unmapped.append(name)
        else:
            fields[spec.api_name] = fit_prose(value) if isinstance(value, str) else value
    return fields, tuple(unmapped)
