"""The account fields the config's `signals:` section names, for the CRM sources.

Each CRM source pulls them beside its mapped fields (Salesforce: when describe shows the
org has them; HubSpot: as company properties). An entry none of whose fields the CRM has
is said once per pull, in one line naming the config key, the CRM and the field, in the
run report (`missing_fields`) and the log; the pull goes on.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from csbridge.connectors.protocol import SourceContext

log = structlog.get_logger("csbridge.connectors.signal_fields")


def wanted_fields(context: SourceContext) -> list[str]:
    """Every account field the `signals:` section names beyond its defaults, once each."""
    entries = context.settings.signals.account_fields()
    return list(dict.fromkeys(name for _, names in entries for name in names))


def report_missing(
    context: SourceContext, where: str, available: Iterable[str], fold_case: bool
) -> None:
    """One line for each `signals:` entry none of whose fields `where` has (e.g.
    `signals.custom_fields: Salesforce Account has no field Community_Level_X__c`)."""
    fold = str.lower if fold_case else str
    have = {fold(name) for name in available}
    lines: list[str] = context.report.setdefault("missing_fields", [])
    for key, names in context.settings.signals.account_fields():
        if any(fold(name) in have for name in names):
            continue
        what = f"field {names[0]}" if len(names) == 1 else "any of the fields " + ", ".join(names)
        line = f"{key}: {where} has no {what}"
        if line not in lines:
            lines.append(line)
            log.warning("pull.missing_field", notice=line)
