"""Words people read instead of the model's keys: "usage.dau_mau" → "DAU/MAU ratio".

An indicator's label is the first clause of its description in the model (the text
before ";" or "(", e.g. "Share of key features in use"); a dimension, band, rule or
segment name is spelled out ("at_risk" → "At Risk").
"""

from __future__ import annotations

import re

from csbridge.connectors.crm_schema import option_label
from csbridge.scoring.model import ScoringModel
from csbridge.scoring.rules_context import split_key

SYSTEMS = {
    "salesforce": "Salesforce",
    "hubspot": "HubSpot",
    "zendesk": "Zendesk",
    "mixpanel": "Mixpanel",
    "warehouse": "Warehouse",
}
ACRONYMS = {"qbr": "QBR", "nps": "NPS", "csat": "CSAT", "ces": "CES", "arr": "ARR"}
RULES = {
    "detractor": "NPS detractor follow-up",
    "detractor_remeasure": "NPS re-measure after a detractor",
    "promoter": "NPS promoter thank-you",
    "churn_risk": "Churn risk",
    "expansion": "Expansion opportunity",
    "renewal": "Renewal step",
    "silent": "Silent account",
    "onboarding": "Onboarding",
    "adoption": "Adoption",
    "handoff": "Post-sale handoff",
    "advocacy": "Advocacy (Champion)",
    "cadence": "Missed touchpoint (cadence)",
}


def name(value: str | None) -> str:
    """A key spelled out for people; "-" for none."""
    if not value:
        return "-"
    return SYSTEMS.get(value) or ACRONYMS.get(value) or option_label(value)


def indicator(model: ScoringModel, key: str) -> str:
    """The label of `dimension.indicator` from the model's description."""
    dimension, _, short = key.partition(".")
    found = model.dimensions.get(dimension)
    spec = found.indicators.get(short) if found is not None else None
    if spec is None or not spec.description:
        return name(short or key)
    return re.split(r";|\(|, as a ", spec.description, maxsplit=1)[0].strip().rstrip(".,")


def rule(value: str) -> str:
    """A playbook rule's name for people."""
    return RULES.get(value, name(value))


def task(key: str) -> str:
    """A csbridge task's playbook and, for a step of a sequence, the step: "Churn risk:
    call", so a rule's several tasks of one account do not read as repeats."""
    parts = split_key(key)
    if parts is not None:
        name_, period = parts.rule, parts.period
    elif key.count(":") >= 2:  # a rule split_key does not list (cadence)
        _, name_, period = key.split(":", 2)
    else:
        return key
    _, colon, step = period.rpartition(":")
    if not colon or not step:
        return rule(name_)
    return f"{rule(name_)}: {f'D-{step}' if step.isdigit() else step.replace('_', ' ')}"
