"""Text that fits where it goes: storable by SQLite and PostgreSQL, within a target's length.

A leaf module (it imports nothing of ours), so the pure scoring code, the store and the
CRM writers share one rule for each case:

- `storable`: NUL is dropped and lone surrogates become U+FFFD, in any string nested
  in dicts and lists (dict keys included). PostgreSQL refuses NUL in text and JSON,
  and neither database driver can encode a lone surrogate, so one such vendor value
  would otherwise abort the page (and the run) it came in.
- `fit_key`: a key (id, task key) longer than the limit keeps a readable prefix and ends
  in a hash of the whole text, so it stays unique and deterministic; short keys are
  returned unchanged, so existing keys never move.
- `fit_prose`: prose (subjects, descriptions, names) is cut with an ellipsis.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_HASH_CHARS = 16
ELLIPSIS = "…"
KEY_MAX = TEXT_MAX = 255  # Salesforce Text fields and Subject; our store's key columns


def storable_text(text: str) -> str:
    """`text` without NUL and with each lone surrogate replaced by U+FFFD."""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(value: Any) -> Any:
    """`value` with `storable_text` applied to every string in it (lists, tuples, dicts)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


def fit_key(text: str, limit: int = KEY_MAX) -> str:
    """`text` if it fits in `limit` characters, else a prefix + `~` + 16 hex of its SHA-256."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return f"{text[: limit - _HASH_CHARS - 1]}~{digest}"


def fitted_prefix(key: str, limit: int = KEY_MAX) -> str | None:
    """The readable start `fit_key` kept of a key it shortened; None for a key it left
    whole (shorter than `limit`, or not ending in `~` and the hash)."""
    head, tilde, digest = key.rpartition("~")
    if len(key) != limit or not tilde or len(digest) != _HASH_CHARS:
        return None
    return head if all(c in "0123456789abcdef" for c in digest) else None


def fit_prose(text: str, limit: int = TEXT_MAX) -> str:
    """`text` if it fits in `limit` characters, else cut to end with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS
