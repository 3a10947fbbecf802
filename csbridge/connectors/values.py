"""CRM field values into canonical ones, shared by the CRM connectors: numbers, the
domain of a website, seniority from a title, contact roles, the kind of an opportunity."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from csbridge.models import OpportunityKind, Seniority


def to_float(value: Any) -> float | None:
    """Numbers (or numeric strings) → float; anything else → None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_int(value: Any) -> int | None:
    """Numbers → int (Salesforce returns Number fields as floats)."""
    number = to_float(value)
    return None if number is None else int(number)


def domain_from_website(value: Any) -> str | None:
    """`https://www.Acme.com/path` → `acme.com`."""
    if not value:
        return None
    text = str(value).strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    host = re.split(r"[/?#:]", text, maxsplit=1)[0]
    if host.startswith("www."):
        host = host[4:]
    return host or None


_SENIORITY_RULES: tuple[tuple[Seniority, re.Pattern[str]], ...] = (
    ("vp", re.compile(r"\b(vp|svp|evp|avp|vice president|vice-president)\b")),
    (
        "executive",
        re.compile(
            r"\b(chief|ceo|cto|cfo|coo|cio|ciso|cro|cmo|cpo|cco|cdo|founder|co-founder|owner|"
            r"president|managing director|general manager|c-level)\b"
        ),
    ),
    ("director", re.compile(r"\b(director|head of|head)\b")),
    ("manager", re.compile(r"\b(manager|lead|supervisor|team lead)\b")),
)


def seniority_from_title(title: str | None) -> Seniority:
    """Title → executive (C-level) / vp / director / manager / individual; unknown if empty."""
    if not title or not title.strip():
        return "unknown"
    text = title.lower()
    for level, pattern in _SENIORITY_RULES:
        if pattern.search(text):
            return level
    return "individual"


def normalise_role(value: str) -> str:
    """`Executive Sponsor` / `exec sponsor` → `executive_sponsor`; `Champion` → `champion`."""
    text = re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")
    aliases = {
        "exec_sponsor": "executive_sponsor",
        "sponsor": "executive_sponsor",
        "economic_buyer": "decision_maker",
        "decision_maker": "decision_maker",
    }
    return aliases.get(text, text)


def roles_from(values: Iterable[Any]) -> tuple[str, ...]:
    """Role strings (a multi-select picklist is `a;b`) → sorted unique normalised roles."""
    roles: set[str] = set()
    for value in values:
        if not value:
            continue
        for part in str(value).split(";"):
            if part.strip():
                roles.add(normalise_role(part))
    return tuple(sorted(roles))


def opportunity_kind(opp_type: Any) -> OpportunityKind:
    """Opportunity `Type` picklist value → new_business / renewal / upsell / downgrade / other."""
    text = str(opp_type or "").lower()
    if "renew" in text:
        return "renewal"
    if any(word in text for word in ("downgrade", "contraction", "downsell", "down-sell")):
        return "downgrade"
    if any(word in text for word in ("upsell", "up-sell", "expansion", "upgrade", "cross")):
        return "upsell"
    if "new" in text:
        return "new_business"
    return "other"
