"""One scoring cycle: facts → signals → score → rules → desired CRM state, with history.

Shared by `csbridge plan`, `csbridge run` and the webhook worker's reactions, so every
path computes the same fields, tags and task keys. Pure apart from its inputs: the
caller loads the portfolio and the history and stores the outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from csbridge.mappings.fields import Crm, CrmFieldMapping, load_field_mapping
from csbridge.scoring import Engine, ScoringModel
from csbridge.scoring.explain import explain
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.rules import Evaluation, RuleContext, evaluate
from csbridge.scoring.rules_config import RulesConfig
from csbridge.scoring.signal_types import CustomerSignals
from csbridge.scoring.signals import CustomerFacts, SignalOptions, portfolio_signals
from csbridge.sync.changes import DesiredState
from csbridge.sync.context import rule_context
from csbridge.sync.desired import desired_state, sticky_band
from csbridge.sync.history import History, HistoryEntry

NO_HISTORY = History()


@dataclass(frozen=True)
class Scored:
    """One customer after scoring and rules: the inputs of its desired CRM state."""

    facts: CustomerFacts
    signals: CustomerSignals
    result: ScoreResult
    ctx: RuleContext
    evaluation: Evaluation
    status: str | None  # the band written (sticky), None without a score


def score_customers(
    customers: Sequence[CustomerFacts],
    engine: Engine,
    rules: RulesConfig,
    now: datetime,
    history: Mapping[str, History] | None = None,
    options: SignalOptions | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Scored]:
    """Score every customer and run the playbooks with what earlier runs left.

    `overrides` (customer key → RuleContext fields) changes what the rules read for a
    customer, not the fields written (score, trend, previous score: `Scored.ctx` stays
    csbridge's own): a CS platform's alert makes its own health score drive the
    churn-risk trigger (`csbridge.webhooks.reaction`) without its previous score being
    written as our trend.
    """
    history = history or {}
    signals = portfolio_signals(customers, now, engine.model, options)
    results = engine.score_many([(s.key, s.values, None, s.attributes) for s in signals])
    scored = []
    for facts, signal, result in zip(customers, signals, results, strict=True):
        past = history.get(facts.key, NO_HISTORY)
        status = None
        if result.score is not None:
            status = sticky_band(
                result.score, past.previous_status, engine.model.bands, rules.score_margin
            )
        champion = any(
            k.endswith(".champion_present") and v == "left" for k, v in signal.values.items()
        )
        ctx = rule_context(
            facts.key,
            facts,
            now,
            score=result.score,
            status=status,
            score_30d_ago=past.score_30d_ago,
            previous_status=past.previous_status,
            previous_score=past.previous_score,
            episodes=past.episodes,
            champion_left=champion,
            key_features=options.key_features if options else (),
            segment=result.segment,
        )
        # the rules read the override; the fields written (trend, previous score) keep
        # csbridge's own history, so the next run does not undo them
        seen = replace(ctx, **overrides[facts.key]) if overrides and facts.key in overrides else ctx
        evaluation = evaluate(seen, rules, now)
        scored.append(Scored(facts, signal, result, ctx, evaluation, status))
    return scored


def model_mapping(crm: Crm, path: str | Path | None, model: ScoringModel) -> CrmFieldMapping:
    """The CRM's field mapping with the fields the model brings (dimensions, probability)."""
    return load_field_mapping(
        crm, path, list(model.dimensions), churn_probability=model.calibration is not None
    )


def in_targets(customers: Sequence[CustomerFacts], targets: Collection[str]) -> list[CustomerFacts]:
    """The customers with an account in at least one of the CRMs csbridge writes."""
    return [c for c in customers if any(a.source in targets for a in c.accounts)]


def desired_states(
    scored: Sequence[Scored],
    target: str,
    mapping: CrmFieldMapping,
    engine: Engine,
    rules: RulesConfig,
    now: datetime,
) -> dict[str, DesiredState]:
    """Each scored customer with an account in `target` → its desired CRM state."""
    states = {}
    for item in scored:
        account = next((a for a in item.facts.accounts if a.source == target), None)
        if account is None:
            continue
        # tasks go to their assignee in this CRM (owner ids differ between CRMs)
        people = rules.assignees.for_crm(target)
        actions = [
            replace(a, owner_id=people.resolve(a.assignee, account.owner_id))
            for a in item.evaluation.actions
        ]
        states[item.facts.key] = desired_state(
            item.result,
            item.ctx,
            actions,
            mapping,
            now,
            record_id=account.id,
            bands=engine.model.bands,
            margin=rules.score_margin,
            explanation=explain(engine.model, item.result, item.signals.values),
        )
    return states


def history_entries(scored: Sequence[Scored]) -> list[HistoryEntry]:
    """What to store of this cycle: score, status written, coverage, episodes, signals."""
    return [
        HistoryEntry(
            account_key=item.facts.key,
            score=item.result.score,
            status=item.status,
            coverage=item.result.coverage,
            payload=item.result.as_dict(),
            episodes=item.evaluation.episodes,
            signals=item.signals.values,
        )
        for item in scored
    ]
