"""Raw health signals of one customer, from its stored facts and `now` (pure: no I/O, no clock).

`compute_signals(facts, now, model, options)` returns the raw value of every indicator
of `model` that these sources can feed, keyed like the model (`usage.dau_mau`), in the
units the presets expect. An indicator the facts cannot feed is left out: the engine
then renormalises and the score's `coverage` says how much of the model had data.
Signals are computed *for a model* because two presets give one indicator name two
units (`csat`: a top-2-box share in seed-5d, a 1-5 mean in seed-6d); the model's own
transform decides (see CSAT below), so a custom YAML model works the same way.

Windows end at `now`. Usage windows are whole days: the 30 days before `now`'s date
(the current day is still partial), the "previous 30" the 30 before those.

Which facts count: the customer's CRM facts (contacts, deals, NPS/CSAT answers from a
CRM) come from ONE CRM, the primary one (`CustomerFacts.crm`: the first of
Salesforce, HubSpot that holds the customer), so a company kept in both CRMs is not
counted twice (`CustomerFacts.primary_crm_only()`). Zendesk and Mixpanel facts are
always used. Usage indicators need the customer to have usage days in Mixpanel at
all (then 30 silent days give 0, not "missing"); ticket indicators need a matched
Zendesk organization or tickets.

The rule behind each indicator is in `signal_rules.py`, where it is computed; the
engagement and relationship signals from CRM activities are in `activity_signals.py`;
sentiment, executive logins and the fields CSMs fill in are in `feedback_signals.py`.
A value given as is (`CustomerFacts.indicators`, from a warehouse signals query; the
latest dated no later than `now`) wins over a mapped custom field
(`signals.custom_fields`), which wins over the computed one; `CustomerSignals.given_by`
names the keys whose value was given, and by which source.
Beside the model-keyed values, `CustomerSignals` carries `last_seen_at` (the last
product event, for the silent-account rule), `catalogue` (every signal with data by
indicator name, whatever the model: the playbooks read `champion_present` or
`license_utilization` even under seed-5d) and the segment `attributes` (`arr` of the
primary account, plus `options.attribute_fields` read from custom fields).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from statistics import median
from typing import Any, Literal

from csbridge.models import IndicatorValue
from csbridge.scoring import signal_rules as rule
from csbridge.scoring.activity_signals import activity_signals
from csbridge.scoring.feedback_signals import feedback_signals
from csbridge.scoring.model import LinearTransform, ScoringModel
from csbridge.scoring.signal_groups import (
    crm_signals,
    per_user_rates,
    support_signals,
    survey_signals,
    usage_signals,
)
from csbridge.scoring.signal_types import (
    CustomerFacts,
    CustomerSignals,
    SignalOptions,
    SignalValue,
)

__all__ = [
    "CustomerFacts",
    "CustomerSignals",
    "SignalOptions",
    "SignalValue",
    "compute_signals",
    "csat_unit",
    "per_user_rates",
    "portfolio_benchmark",
    "portfolio_signals",
    "with_benchmarks",
]


def compute_signals(
    facts: CustomerFacts,
    now: datetime,
    model: ScoringModel,
    options: SignalOptions | None = None,
) -> CustomerSignals:
    """The raw values of `model`'s indicators for one customer (see the module doc).

    session_frequency and time_in_product need the benchmarks in `options`
    (`with_benchmarks` fills them from a portfolio)."""
    opts = options or SignalOptions()
    facts = facts.primary_crm_only()
    raw = catalogue(facts, now, opts, csat_unit(model, opts))
    given = given_values(facts.indicators, now)
    values: dict[str, SignalValue] = {}
    for dim_name, dim in model.dimensions.items():
        for name in dim.indicators:
            key = f"{dim_name}.{name}"
            mapped = opts.custom_fields.get(key)
            chosen = given.get(key)
            value: object = None if chosen is None else chosen.value
            if value is None and mapped:
                value = rule.first_custom(facts.accounts, mapped)
            if isinstance(value, str):  # HubSpot gives every property as text
                value = _number_or_text(value)
            if value is None:
                value = raw.get(name)
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                values[key] = value
    attributes: dict[str, Any] = {}
    primary = facts.accounts[0] if facts.accounts else None
    if primary is not None and primary.arr is not None:
        attributes["arr"] = primary.arr
    for attribute, names in opts.attribute_fields.items():
        value = rule.first_custom(facts.accounts, *names)
        if value is not None:
            attributes[attribute] = value.strip().lower() if isinstance(value, str) else value
    known = {k: v for k, v in raw.items() if v is not None}
    known.update({key.split(".", 1)[1]: v.value for key, v in given.items()})
    given_by = {key: v.source for key, v in given.items() if key in values}
    last_seen = rule.last_seen(facts.usage)
    return CustomerSignals(facts.key, values, attributes, last_seen, known, given_by)


def given_values(values: Sequence[IndicatorValue], now: datetime) -> dict[str, IndicatorValue]:
    """Indicator key → the value a source gave as is (a warehouse query): of its history,
    the latest `as_of` not after `now` (an undated value counts when no dated one does)."""
    oldest = datetime.min.replace(tzinfo=UTC)
    dated = sorted(values, key=lambda v: (v.as_of or oldest, v.account_id))
    return {v.indicator: v for v in dated if v.as_of is None or v.as_of <= now}


def _number_or_text(value: str) -> float | str:
    """A mapped field's text as a number when it is one (`"41"` → 41.0), else as is."""
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def portfolio_signals(
    customers: Sequence[CustomerFacts],
    now: datetime,
    model: ScoringModel,
    options: SignalOptions | None = None,
) -> list[CustomerSignals]:
    """Signals of every customer; per-user rates against the portfolio's medians (unless
    both benchmarks are set in `options`)."""
    opts = options or SignalOptions()
    if not (opts.session_benchmark and opts.time_benchmark):
        opts = with_benchmarks(opts, [per_user_rates(c, now) for c in customers])
    return [compute_signals(c, now, model, opts) for c in customers]


def with_benchmarks(
    options: SignalOptions, rates: Sequence[tuple[float | None, float | None]]
) -> SignalOptions:
    """`options` whose unset session and time benchmarks are the medians of the customers'
    (sessions, minutes) per user (`per_user_rates`)."""
    return options.model_copy(
        update={
            "session_benchmark": options.session_benchmark
            or portfolio_benchmark([sessions for sessions, _ in rates]),
            "time_benchmark": options.time_benchmark
            or portfolio_benchmark([minutes for _, minutes in rates]),
        }
    )


def csat_unit(model: ScoringModel, options: SignalOptions) -> Literal["share", "mean"]:
    """As configured; else "share" when the model's csat anchors lie within 0..1, or "mean"."""
    if options.csat_unit is not None:
        return options.csat_unit
    for dim in model.dimensions.values():
        transform = dim.indicators["csat"].transform if "csat" in dim.indicators else None
        if isinstance(transform, LinearTransform):
            inside = max(abs(transform.zero_at), abs(transform.full_at)) <= 1.0
            return "share" if inside else "mean"
    return "share"


def catalogue(
    facts: CustomerFacts,
    now: datetime,
    options: SignalOptions,
    unit: Literal["share", "mean"],
) -> dict[str, SignalValue | None]:
    """Every signal these sources can feed, by indicator name (None: no data)."""
    out: dict[str, SignalValue | None] = {}
    out.update(usage_signals(facts, now, options))
    out.update(support_signals(facts, now, options))
    out.update(survey_signals(facts, now, unit))
    out.update(crm_signals(facts, now, options))
    out.update(activity_signals(facts, now, options))
    out.update(feedback_signals(facts, now, options))
    return out


def portfolio_benchmark(values: Sequence[float | None]) -> float | None:
    """The median of the customers' per-user rates (those above zero)."""
    known = [v for v in values if v is not None and v > 0]
    return median(known) if known else None
