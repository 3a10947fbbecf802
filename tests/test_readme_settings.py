"""The settings reference (docs/settings.md, linked from the README) names every config key
and its CSBRIDGE_ variable."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from csbridge.config import Settings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "settings.md"


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        key = prefix + name
        nested = [
            t
            for t in (field.annotation, *typing.get_args(field.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if nested and key not in ("webhooks.sources", "sources.warehouse.queries"):
            yield from keys(nested[0], key + ".")
        else:
            yield key


def test_every_setting_is_in_the_reference() -> None:
    assert "(docs/settings.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = [
        key
        for key in keys(Settings)
        if f"| `{key}` | `CSBRIDGE_{key.upper().replace('.', '__')}` |" not in reference
    ]
    assert missing == []
