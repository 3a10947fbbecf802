"""JSON Lines of accounts decoded straight into a model's columns, for `csbridge score`.

An account decodes (msgspec) into a struct whose fields are the model's indicators, each
typed as its transform takes it (a number, a category, a category or a number), so the
types are checked in C while parsing and each indicator's column is read off the structs
without a dict per account. A chunk this cannot take as it is (a blank line, a key the
model does not know, a value of the wrong type, an empty id, invalid JSON) is None: the
caller reads it line by line, whose checks name the line and the field
(`account_files.parse_chunk`). What a decoded chunk scores to is the same either way.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from csbridge.scoring.engine import Batch, Engine, SignalColumn
from csbridge.scoring.model import LinearTransform, TableTransform


class RowDecoder:
    """Decodes a model's accounts from JSON Lines into a `Batch`."""

    def __init__(self, engine: Engine):
        self.engine = engine
        transforms = engine.transforms
        fields = [f"f{i}" for i in range(len(engine.keys))]
        dropped = {f"d{i}": key for i, key in enumerate(engine.model.dropped_indicators)}
        signals = msgspec.defstruct(
            "Signals",
            [(f, *_typed(t)) for f, t in zip(fields, transforms, strict=True)]
            + [(f, Any, None) for f in dropped],
            rename=dict(zip(fields, engine.keys, strict=True)) | dropped,
            forbid_unknown_fields=True,
            frozen=True,
            gc=False,
        )
        account = msgspec.defstruct(
            "Account",
            [
                ("id", str),
                ("signals", signals, signals()),
                # as read (not converted): its checks and their messages are the engine's
                ("indicator_scores", dict[str, Any], msgspec.field(default_factory=dict)),
                ("attributes", dict[str, Any], msgspec.field(default_factory=dict)),
            ],
            forbid_unknown_fields=True,
            gc=False,
        )
        self.decoder = msgspec.json.Decoder(account)
        self.columns = [
            (attrgetter(f), isinstance(t, LinearTransform))
            for f, t in zip(fields, transforms, strict=True)
        ]
        self.parts = [attrgetter(name) for name in ("signals", "indicator_scores", "attributes")]

    def decode(self, data: bytes, lines: int) -> Batch | None:
        """The accounts of `data`, `lines` whole lines of JSON Lines, or None when a line
        needs reading line by line (see the module's docstring)."""
        try:
            accounts = self.decoder.decode_lines(data)
        except msgspec.MsgspecError:
            return None
        if len(accounts) != lines:  # blank lines are skipped: their numbers would be lost
            return None
        ids = list(map(attrgetter("id"), accounts))
        if not all(ids):
            return None
        signals, given, attributes = (list(map(part, accounts)) for part in self.parts)
        everyone = np.arange(len(ids))
        columns: list[SignalColumn] = [
            (everyone, np.fromiter(map(field, signals), np.float64, len(ids)))
            if numeric
            else (everyone, list(map(field, signals)))
            for field, numeric in self.columns
        ]
        given_columns, errors = self.engine.section(given, "indicator_scores")
        return Batch(ids, columns, given_columns, attributes, tuple(errors))


def _typed(transform: LinearTransform | TableTransform) -> tuple[Any, Any]:
    """The type and default of a transform's field: a number (NaN when absent: JSON
    has no NaN); a category, or with bins either, an integer kept one so that a message
    about it shows it as written (None when absent)."""
    if isinstance(transform, LinearTransform):
        return float, math.nan
    return (str | int | float if transform.bins else str), None
