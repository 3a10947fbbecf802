"""Pure scoring: models, the engine, survey metrics and segments. No I/O, no clock."""

from csbridge.scoring.engine import AccountIn, Engine, ScoringInputError
from csbridge.scoring.model import PRESETS, ScoringModel, load_model, parse_model
from csbridge.scoring.nps import CesSummary, ces, csat, nps, nps_category
from csbridge.scoring.results import DimensionResult, Driver, ScoreResult

__all__ = [
    "PRESETS",
    "AccountIn",
    "CesSummary",
    "DimensionResult",
    "Driver",
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
