"""The stored facts of every customer, joined across systems (I/O side of the signals).

`load_portfolio(store, key, now)` reads the accounts, builds the identity index
(`csbridge.mappings.identity.build_index`), then reads contacts, deals, tickets,
survey answers and usage days and groups them by customer. Nothing is dropped
silently: Zendesk organizations, Mixpanel group keys and facts that join no CRM
account are counted, with examples, in `Portfolio.report`.

Usage days are read from 100 days before `now` (the signals look back 90), survey
answers from 366 days before; tickets, contacts and deals are read whole (an open
ticket can be old).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from csbridge.mappings.identity import (
    ANCHORS,
    IdentityIndex,
    IdentityKey,
    UnmatchedReport,
    build_index,
)
from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay
from csbridge.scoring.signals import CustomerFacts
from csbridge.store.store import Store

USAGE_DAYS = 100
SURVEY_DAYS = 366


@dataclass
class Portfolio:
    """Every CRM customer with its facts, plus what matched no customer."""

    index: IdentityIndex
    customers: list[CustomerFacts]

    @property
    def report(self) -> UnmatchedReport:
        """Accounts, group keys and facts that joined no customer."""
        return self.index.report

    def unmatched(self) -> list[dict[str, object]]:
        """The unmatched report as JSON-ready rows."""
        return [
            {
                "source": e.source,
                "kind": e.kind,
                "reason": e.reason,
                "count": e.count,
                "examples": list(e.examples),
            }
            for _, e in sorted(self.report.entries.items())
        ]


def load_portfolio(
    store: Store,
    key: IdentityKey = "domain",
    now: datetime | None = None,
    anchors: Sequence[str] = ANCHORS,
) -> Portfolio:
    """Read the store and group every fact by customer (see the module doc)."""
    accounts = store.load(Account)
    index = build_index(accounts, key, anchors)
    by_id: dict[tuple[str, str], Account] = {(a.source, a.id): a for a in accounts}
    usage_since = None if now is None else now - timedelta(days=USAGE_DAYS)
    survey_since = None if now is None else now - timedelta(days=SURVEY_DAYS)
    contacts = index.group("contacts", store.load(Contact))
    opps = index.group("opportunities", store.load(Opportunity))
    tickets = index.group("tickets", store.load(Ticket))
    surveys = index.group("surveys", store.load(SurveyResponse, since=survey_since))
    usage = group_usage(index, store.load(UsageDay, since=usage_since))
    customers = []
    for customer_key, customer in sorted(index.customers.items()):
        order = [s for s in anchors if s in customer.ids]
        order += sorted(s for s in customer.ids if s not in anchors)
        own = [by_id[(s, customer.ids[s])] for s in order if (s, customer.ids[s]) in by_id]
        days = usage.get(customer_key, [])
        customers.append(
            CustomerFacts(
                key=customer_key,
                accounts=own,
                contacts=contacts.get(customer_key, []),
                opportunities=opps.get(customer_key, []),
                tickets=tickets.get(customer_key, []),
                surveys=surveys.get(customer_key, []),
                usage=days,
                crm=next((s for s in anchors if s in customer.ids), None),
                systems=frozenset(customer.ids) | ({"mixpanel"} if days else frozenset()),
            )
        )
    return Portfolio(index, customers)


def group_usage(index: IdentityIndex, days: Sequence[UsageDay]) -> dict[str, list[UsageDay]]:
    """Usage days by customer; each unmatched Mixpanel group key is reported once."""
    by_group: dict[tuple[str, str], list[UsageDay]] = {}
    for day in days:
        by_group.setdefault((day.source, day.account_id), []).append(day)
    grouped: dict[str, list[UsageDay]] = {}
    for (source, group), group_days in sorted(by_group.items()):
        customer = index.resolve(source, group)
        if customer is None:
            index.report.add(source, "group keys", "no CRM account with that key", group)
            continue
        grouped.setdefault(customer, []).extend(group_days)
    return grouped
