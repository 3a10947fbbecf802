"""The README's settings reference names every config key and its CSBRIDGE_ variable."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from csbridge.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


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
    text = README.read_text(encoding="utf-8")
    reference = text[text.index("### Settings reference") :]
    missing = [
        key
        for key in keys(Settings)
        if f"| `{key}` | `CSBRIDGE_{key.upper().replace('.', '__')}` |" not in reference
    ]
    assert missing == []
