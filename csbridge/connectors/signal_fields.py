"""The account fields the config's `signals:` section names, for the sources of accounts.

The CRM sources pull them beside their mapped fields (Salesforce: when describe shows the
org has them; HubSpot: as company properties); Zendesk organizations carry their own
fields. Each source says which fields it has (`seen_fields`); after the pull, an entry
none of whose fields any of them has is said once, in one line naming the config key,
the sources and the field, in the run report (`missing_fields`) and the log. A field only
one source has is not missing: the customers' accounts there provide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import structlog

from csbridge.connectors.protocol import SourceContext
from csbridge.scoring.signal_types import SignalSettings

log = structlog.get_logger("csbridge.connectors.signal_fields")


def wanted_fields(context: SourceContext) -> list[str]:
    """Every account field the `signals:` section names beyond its defaults, once each."""
    entries = context.settings.signals.account_fields()
    return list(dict.fromkeys(name for _, names in entries for name in names))


def seen_fields(
    context: SourceContext, where: str, available: Iterable[str], fold_case: bool
) -> None:
    """Note that `where` (e.g. "Salesforce Account") has the fields `available`."""
    fold = str.lower if fold_case else str
    context.account_fields[where] = (fold_case, frozenset(fold(name) for name in available))


def missing_notes(
    signals: SignalSettings, seen: Mapping[str, tuple[bool, frozenset[str]]]
) -> list[str]:
    """One line for each `signals:` entry none of whose fields any source in `seen` has
    (e.g. `signals.custom_fields: Salesforce Account has no field Community_Level_X__c`)."""
    if not seen:
        return []
    wheres = " and ".join(seen)
    verb = "has" if len(seen) == 1 else "have"
    lines: list[str] = []
    for key, names in signals.account_fields():
        if any(_has(fold, have, name) for fold, have in seen.values() for name in names):
            continue
        what = f"field {names[0]}" if len(names) == 1 else "any of the fields " + ", ".join(names)
        line = f"{key}: {wheres} {verb} no {what}"
        if line not in lines:
            lines.append(line)
            log.warning("pull.missing_field", notice=line)
    return lines


def _has(fold_case: bool, have: frozenset[str], name: str) -> bool:
    return (name.lower() if fold_case else name) in have
