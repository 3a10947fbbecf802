"""A scoring model per segment (seed 000 asks for weights per segment).

`model:` scores every account and places it in a segment with its segment matrix (the
segment follows from ARR and the account's attributes, never from the score);
`model_per_segment:` names another model for some segments, which then scores those
accounts instead. The segment matrix stays `model:`'s: a per-segment model's own
`segments:` is replaced by it, so an account's segment is the same whichever model
scores it. Signals are computed for the model that scores the account, against the
whole portfolio's benchmarks (given in the options when scoring a batch of it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from csbridge.errors import CsbridgeError
from csbridge.scoring.engine import Engine
from csbridge.scoring.model import load_model
from csbridge.scoring.results import ScoreResult
from csbridge.scoring.signal_types import CustomerFacts, CustomerSignals, SignalOptions
from csbridge.scoring.signals import compute_signals, per_user_rates, with_benchmarks


@dataclass(frozen=True)
class SegmentModels:
    """The default engine and the engines of the segments that have their own model."""

    default: Engine
    by_segment: Mapping[str, Engine] = field(default_factory=dict)

    def engines(self) -> list[Engine]:
        """Every distinct engine, the default first."""
        found = {self.default.model_hash: self.default}
        for engine in self.by_segment.values():
            found.setdefault(engine.model_hash, engine)
        return list(found.values())

    def score(
        self,
        customers: Sequence[CustomerFacts],
        now: datetime,
        options: SignalOptions | None = None,
    ) -> tuple[list[CustomerSignals], list[ScoreResult], list[Engine]]:
        """Each customer's signals and score, and the engine that scored it; per-user
        rates against `customers`' medians unless both benchmarks are set in `options`
        (a batch of a larger portfolio: `Batches.benchmarks`)."""
        opts = options or SignalOptions()
        if not (opts.session_benchmark and opts.time_benchmark):
            opts = with_benchmarks(opts, [per_user_rates(c, now) for c in customers])
        signals = [compute_signals(c, now, self.default.model, opts) for c in customers]
        results = self.default.score_many([(s.key, s.values, None, s.attributes) for s in signals])
        engines = [self.default] * len(customers)
        groups: dict[str, list[int]] = {}
        for i, result in enumerate(results):
            segment = result.segment
            if segment is not None and segment in self.by_segment:
                groups.setdefault(segment, []).append(i)
        for segment, rows in groups.items():
            engine = self.by_segment[segment]
            again = [compute_signals(customers[i], now, engine.model, opts) for i in rows]
            scored = engine.score_many([(s.key, s.values, None, s.attributes) for s in again])
            for i, signal, result in zip(rows, again, scored, strict=True):
                signals[i], results[i], engines[i] = signal, result, engine
        return signals, results, engines


def models_used(engines: Iterable[Engine]) -> dict[str, int]:
    """Accounts per model that scored them, as `name (hash)`."""
    counts = Counter(f"{e.model.name} ({e.model_hash})" for e in engines)
    return dict(sorted(counts.items()))


def load_segment_models(model: str, per_segment: Mapping[str, str]) -> SegmentModels:
    """`model:` and `model_per_segment:` of the config; one-line errors name the key."""
    default = load_model(model)
    if not per_segment:
        return SegmentModels(Engine(default))
    if default.segments is None:
        raise CsbridgeError(
            f"model_per_segment: model {model!r} has no segments to place accounts in; "
            "give it a segments: matrix (e.g. segments: arr-touch)"
        )
    names = default.segments.segment_names()
    engines: dict[str, Engine] = {}
    for segment, ref in per_segment.items():
        if segment not in names:
            raise CsbridgeError(
                f"model_per_segment.{segment}: not a segment of model {default.name!r}; "
                f"use one of {', '.join(names)}"
            )
        try:
            own = load_model(ref)
        except CsbridgeError as exc:
            raise CsbridgeError(f"model_per_segment.{segment}: {exc}") from None
        engines[segment] = Engine(own.model_copy(update={"segments": default.segments}))
    return SegmentModels(Engine(default), engines)
