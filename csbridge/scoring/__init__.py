"""Pure scoring: models, the engine, survey metrics and segments. No I/O, no clock."""

from csbridge.scoring.engine import Engine, ScoreResult, ScoringInputError
from csbridge.scoring.model import PRESETS, ScoringModel, load_model, parse_model
from csbridge.scoring.nps import CesSummary, ces, csat, nps, nps_category

__all__ = [
    "PRESETS",
    "CesSummary",
    "Engine",
    "ScoreResult",
    "ScoringInputError",
    "ScoringModel",
    "ces",
    "csat",
    "load_model",
    "nps",
    "nps_category",
    "parse_model",
]
