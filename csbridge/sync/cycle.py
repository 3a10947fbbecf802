"""One scoring cycle: facts → signals → score → rules → desired CRM state → plan.

`Cycle` holds what a process scores and plans with, built once (`Cycle.build`): the
models (`model:`, `model_per_segment:`), the playbook rules, each CRM's field mapping
and how long a CS platform's score alert holds. `csbridge run`, `csbridge plan` and the
webhook worker's reactions all go through one, so every path computes the same fields,
tags and task keys, and the worker reads no model, rules or mapping file per alert.
Writers are not part of it: they are built per run or per reaction from the registry,
since a Salesforce session expires and our client does not renew it, so a writer kept
for a worker's lifetime would fail after an idle night.

Scoring and planning are pure apart from their inputs; `Cycle.history` and
`Cycle.ledger` read them from the store (score history, episodes, platform scores; the
write ledger); the caller stores the outcome (`history_entries`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from csbridge.config import Settings
from csbridge.mappings.fields import Crm, CrmFieldMapping, load_field_mapping
from csbridge.scoring import Engine, ScoringModel
from csbridge.scoring.cadence import last_touches
from csbridge.scoring.explain import explain
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.rules import Evaluation, RuleContext, evaluate
from csbridge.scoring.rules_config import RulesConfig, load_rules
from csbridge.scoring.segment_models import SegmentModels, load_segment_models
from csbridge.scoring.signal_types import CustomerSignals
from csbridge.scoring.signals import CustomerFacts, SignalOptions
from csbridge.store.store import Store
from csbridge.sync.changes import ChangeSet, DesiredState, LedgerState
from csbridge.sync.context import rule_context
from csbridge.sync.desired import desired_state, sticky_band
from csbridge.sync.history import History, HistoryEntry, load_history
from csbridge.sync.ledger import read_ledger
from csbridge.sync.plan import ledger_states, plan

NO_HISTORY = History()
Ledger = tuple[dict[str, LedgerState], frozenset[str], frozenset[str]]  # see `read_ledger`


@dataclass(frozen=True)
class Scored:
    """One customer after scoring and rules: the inputs of its desired CRM state."""

    facts: CustomerFacts
    signals: CustomerSignals
    result: ScoreResult
    ctx: RuleContext
    evaluation: Evaluation
    status: str | None  # the band written (sticky), None without a score
    engine: Engine  # the model that scored it (`model_per_segment`, else `model`)


@dataclass(frozen=True)
class Cycle:
    """The models, rules and CRM field mappings of one process (see the module doc)."""

    models: SegmentModels
    rules: RulesConfig
    mappings: Mapping[Crm, CrmFieldMapping]
    alert_hold: timedelta

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        rules: str | None = None,
        mappings: Mapping[Crm, str | None] | None = None,
    ) -> Cycle:
        """Read the model, the rules (`rules` over `settings.rules`) and the mapping of
        each CRM of `crm.targets` (plus `mappings`: CRM → mapping file override)."""
        models = load_segment_models(settings.model, settings.model_per_segment)
        paths: dict[Crm, str | None] = {
            t: getattr(settings.crm, t).mapping for t in settings.crm.targets
        }
        paths.update(mappings or {})
        every = [e.model for e in models.engines()]
        return cls(
            models,
            load_rules(rules or settings.rules),
            {t: model_mapping(t, path, *every) for t, path in paths.items()},
            timedelta(days=settings.webhooks.alert_hold_days),
        )

    def history(
        self, store: Store, now: datetime, only: Sequence[str] | None = None
    ) -> dict[str, History]:
        """What earlier runs and reactions left, with the fresh CS-platform scores."""
        return load_history(store, now, only, hold=self.alert_hold)

    def score(
        self,
        customers: Sequence[CustomerFacts],
        now: datetime,
        history: Mapping[str, History] | None = None,
        options: SignalOptions | None = None,
    ) -> list[Scored]:
        """`score_customers` with this cycle's models and rules."""
        return score_customers(customers, self.models, self.rules, now, history, options)

    def ledger(
        self, store: Store, target: Crm, desired: Mapping[str, DesiredState] | None = None
    ) -> Ledger:
        """What csbridge last wrote into `target`: fields and tags per record (only the
        records of `desired` when given: what `plan` reads), the task keys created, the
        notification keys handled."""
        mapping = self.mappings[target]
        records = None if desired is None else [d.record_id for d in desired.values()]
        return read_ledger(store, target, mapping.object, mapping.tag_field, records)

    def desired(
        self, scored: Sequence[Scored], target: Crm, now: datetime
    ) -> dict[str, DesiredState]:
        """The desired state in `target` of each of `scored` with an account there."""
        return desired_states(scored, target, self.mappings[target], self.rules, now)

    def plan(self, desired: Mapping[str, DesiredState], ledger: Ledger) -> ChangeSet:
        """`desired` (see `desired`) against `target`'s `ledger`."""
        written, done, notified = ledger
        return plan(
            desired,
            ledger_states(desired, written, done, notified),
            owned_tags=self.rules.owned_tags,
        )


def score_customers(
    customers: Sequence[CustomerFacts],
    models: SegmentModels,
    rules: RulesConfig,
    now: datetime,
    history: Mapping[str, History] | None = None,
    options: SignalOptions | None = None,
) -> list[Scored]:
    """Score every customer and run the playbooks with what earlier runs left.

    A fresh CS-platform score alert (`History.platform`) changes what the rules read
    (its score and previous score drive the churn-risk trigger), not the fields written
    (score, trend, previous score: `Scored.ctx` stays csbridge's own), so the platform's
    previous score is never written as our trend (`csbridge.sync.platform_scores`).
    """
    history = history or {}
    signals, results, engines = models.score(customers, now, options)
    scored = []
    for facts, signal, result, engine in zip(customers, signals, results, engines, strict=True):
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
            touches=last_touches(facts.activities, facts.contacts, now),
        )
        # the rules read a fresh platform score; the fields written (trend, previous
        # score) keep csbridge's own history
        alert = past.platform
        seen = (
            ctx
            if alert is None
            else replace(ctx, score=alert.score, score_30d_ago=alert.previous_score)
        )
        evaluation = evaluate(seen, rules, now)
        scored.append(Scored(facts, signal, result, ctx, evaluation, status, engine))
    return scored


def model_mapping(crm: Crm, path: str | Path | None, *models: ScoringModel) -> CrmFieldMapping:
    """The CRM's field mapping with the fields the models bring (dimensions, probability)."""
    dimensions = list(dict.fromkeys(d for m in models for d in m.dimensions))
    calibrated = any(m.calibration is not None for m in models)
    return load_field_mapping(crm, path, dimensions, churn_probability=calibrated)


def in_targets(customers: Sequence[CustomerFacts], targets: Collection[str]) -> list[CustomerFacts]:
    """The customers with an account in at least one of the CRMs csbridge writes."""
    return [c for c in customers if any(a.source in targets for a in c.accounts)]


def desired_states(
    scored: Sequence[Scored],
    target: str,
    mapping: CrmFieldMapping,
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
            bands=item.engine.model.bands,
            margin=rules.score_margin,
            explanation=explain(
                item.engine.model, item.result, item.signals.values, item.signals.given_by
            ),
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
            payload=_payload(item),
            episodes=item.evaluation.episodes,
            signals=item.signals.values,
            model_hash=item.engine.model_hash,
        )
        for item in scored
    ]


def _payload(item: Scored) -> dict[str, Any]:
    """The stored result, with the account's touchpoint cadence (for the reports)."""
    cadence = item.evaluation.cadence
    payload = item.result.as_dict()
    return payload if cadence is None else {**payload, "cadence": cadence.as_dict()}
