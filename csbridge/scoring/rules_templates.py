"""The placeholders a task's subject or description may use, and their check."""

from __future__ import annotations

import string

TEMPLATE_FIELDS = frozenset(
    {
        "score",
        "status",
        "nps",
        "verbatim",
        "reasons",
        "days",
        "renewal_date",
        "license",
        "last_activity",
        "context",
    }
)
"""The names a task subject or description may use in braces."""


def check_template(text: str) -> str:
    """`text` if every name it uses in braces is a template field; else ValueError."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"bad braces in {text!r}: {exc}") from None
    unknown = sorted(names - TEMPLATE_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; use {', '.join(sorted(TEMPLATE_FIELDS))}"
        )
    return text
