"""The stored facts of every customer, joined across systems (I/O side of the signals).

`load_portfolio(store, key, now)` reads the accounts, builds the identity index
(`csbridge.mappings.identity.build_index`), then reads contacts, deals, tickets,
survey answers, CRM activities and usage days and groups them by customer. Nothing is dropped
silently: Zendesk organizations, Mixpanel group keys and facts that join no CRM
account are counted, with examples, in `Portfolio.report`.

Usage days are read from 100 days before `now` (the signals look back 90), survey
answers and activities from 366 days before; tickets, contacts and deals are read whole (an open
ticket can be old). Of the indicator values a warehouse gave, only each account's latest
per indicator as of `now` is read (the database picks it from their history).

`load_customer` is the same for one customer (a webhook reaction): it builds the
index from every account, then reads only the facts of that customer's accounts, so
its cost does not grow with the portfolio's facts. `usage_rates` gives the
portfolio's sessions and minutes per user from the last 30 days of usage alone (the
benchmarks are their medians).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from csbridge.mappings.identity import (
    ANCHORS,
    KEYED_SOURCES,
    IdentityIndex,
    IdentityKey,
    UnmatchedReport,
    build_index,
)
from csbridge.models import (
    Account,
    Activity,
    Contact,
    IndicatorValue,
    Opportunity,
    Record,
    SurveyResponse,
    Ticket,
    UsageDay,
)
from csbridge.scoring.signal_groups import per_user_rates
from csbridge.scoring.signals import CustomerFacts
from csbridge.store.store import Store

USAGE_DAYS = 100
SURVEY_DAYS = 366  # also the activities' window (QBRs over a year)
BENCHMARK_DAYS = 31  # sessions and minutes per user are counted over the last 30 days
KEYED_KINDS: tuple[type[UsageDay | IndicatorValue], ...] = (UsageDay, IndicatorValue)
"""The facts of keyed sources, whose account id is an identity key: their groups."""
R = TypeVar("R", bound=Record)
K = TypeVar("K", UsageDay, IndicatorValue)


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
        return self.report.rows()


def load_portfolio(
    store: Store,
    key: IdentityKey = "domain",
    now: datetime | None = None,
    anchors: Sequence[str] = ANCHORS,
) -> Portfolio:
    """Read the store and group every fact by customer (see the module doc)."""
    accounts = store.load(Account)
    index = build_index(accounts, key, anchors)
    return _gather(store, index, accounts, now, anchors, sorted(index.customers), None)


def load_customer(
    store: Store,
    source: str,
    account_id: str,
    key: IdentityKey = "domain",
    now: datetime | None = None,
    anchors: Sequence[str] = ANCHORS,
) -> Portfolio:
    """The customer that `source`'s `account_id` belongs to, with every fact
    `load_portfolio` would give it; no customer when the id joins none. The report
    covers only the facts read."""
    accounts = store.load(Account)
    index = build_index(accounts, key, anchors)
    customer = index.resolve(source, account_id)
    if customer is None:
        return Portfolio(index, [])
    members: dict[str, list[str]] = {}
    for (member_source, member_id), found in index.by_source_id.items():
        if found == customer:
            members.setdefault(member_source, []).append(member_id)
    # Mixpanel group keys and warehouse accounts join by their value, however it is spelled
    for source in KEYED_SOURCES:
        spelled = [
            group
            for group in keyed_groups(store, source)
            if index.resolve(source, group) == customer
        ]
        members[source] = sorted({*members.get(source, []), *spelled})
    return _gather(store, index, accounts, now, anchors, [customer], members)


def load_customers(
    store: Store,
    index: IdentityIndex,
    accounts: Sequence[Account],
    keys: Sequence[str],
    members: Mapping[str, Sequence[tuple[str, str]]],
    now: datetime | None = None,
    anchors: Sequence[str] = ANCHORS,
    usage_days: int = USAGE_DAYS,
) -> Portfolio:
    """`keys`' customers with the facts `load_portfolio` gives them, reading only their
    accounts' facts, so a caller can walk a large portfolio a slice at a time.
    `members` maps customer key → the (source, id) of its accounts and usage groups
    (`members_of`); `accounts` holds at least `keys`' accounts; usage reaches
    `usage_days` back."""
    return _gather(
        store, index, accounts, now, anchors, keys, ids_by_source(members, keys), usage_days
    )


def members_of(store: Store, index: IdentityIndex) -> dict[str, list[tuple[str, str]]]:
    """Customer key → the (source, id) of every account that joined it and of every
    usage group (Mixpanel group key, warehouse account) that resolves to it."""
    members: dict[str, list[tuple[str, str]]] = {}
    for (source, account_id), key in index.by_source_id.items():
        if source not in KEYED_SOURCES:
            members.setdefault(key, []).append((source, account_id))
    for source in KEYED_SOURCES:
        for group in keyed_groups(store, source):
            found = index.resolve(source, group)
            if found is not None:
                members.setdefault(found, []).append((source, group))
    return members


def keyed_groups(store: Store, source: str) -> list[str]:
    """The account ids (usage groups) a keyed source's usage days and indicator values carry."""
    return sorted({group for kind in KEYED_KINDS for group in store.account_ids(kind, source)})


def ids_by_source(
    members: Mapping[str, Sequence[tuple[str, str]]], keys: Sequence[str]
) -> dict[str, list[str]]:
    """`keys`' member ids by source (see `members_of`)."""
    out: dict[str, list[str]] = {}
    for key in keys:
        for source, account_id in members.get(key, ()):
            out.setdefault(source, []).append(account_id)
    return out


def load_members(
    store: Store,
    record_type: type[R],
    members: Mapping[str, Sequence[str]] | None,
    since: datetime | None = None,
) -> list[R]:
    """Stored facts of one type: every one (`members` None), or those of `members`'
    account ids (source → ids), in the store's order."""
    if members is None:
        return store.load(record_type, since=since)
    return [
        fact
        for source, ids in sorted(members.items())
        if ids
        for fact in store.load(record_type, source=source, account_ids=ids, since=since)
    ]


def latest_member_values(
    store: Store, members: Mapping[str, Sequence[str]] | None, now: datetime | None
) -> list[IndicatorValue]:
    """Each account's latest indicator values as of `now` (the database picks them from
    the history, `Store.latest_values`): every account's (`members` None), or those of
    `members`' account ids (source → ids), in the store's order."""
    if members is None:
        return store.latest_values(now)
    return [
        value
        for source, ids in sorted(members.items())
        if ids
        for value in store.latest_values(now, source=source, account_ids=ids)
    ]


def usage_rates(
    store: Store, index: IdentityIndex, now: datetime, targets: Collection[str]
) -> list[tuple[float | None, float | None]]:
    """Sessions and minutes per user of each customer in `targets`' CRMs, from the last
    30 days of usage only: what the scheduled run takes the benchmarks' medians of."""
    usage = group_usage(index, store.load(UsageDay, since=now - timedelta(days=BENCHMARK_DAYS)))
    return [
        per_user_rates(CustomerFacts(customer_key, usage=usage.get(customer_key, [])), now)
        for customer_key, customer in sorted(index.customers.items())
        if any(source in targets for source in customer.ids)
    ]


def _gather(
    store: Store,
    index: IdentityIndex,
    accounts: Sequence[Account],
    now: datetime | None,
    anchors: Sequence[str],
    keys: Sequence[str],
    members: Mapping[str, Sequence[str]] | None,
    usage_days: int = USAGE_DAYS,
) -> Portfolio:
    """`keys`' customers with their facts: every fact, or only those of `members`'
    account ids (source → ids)."""

    def load(record_type: type[R], since: datetime | None = None) -> list[R]:
        return load_members(store, record_type, members, since)

    by_id: dict[tuple[str, str], Account] = {(a.source, a.id): a for a in accounts}
    usage_since = None if now is None else now - timedelta(days=usage_days)
    survey_since = None if now is None else now - timedelta(days=SURVEY_DAYS)
    contacts = index.group("contacts", load(Contact))
    opps = index.group("opportunities", load(Opportunity))
    tickets = index.group("tickets", load(Ticket))
    surveys = index.group("surveys", load(SurveyResponse, survey_since))
    activities = index.group("activities", load(Activity, survey_since))
    usage = group_usage(index, load(UsageDay, usage_since))
    indicators = group_usage(index, latest_member_values(store, members, now))
    customers = []
    for customer_key in keys:
        customer = index.customers[customer_key]
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
                activities=activities.get(customer_key, []),
                indicators=indicators.get(customer_key, []),
                crm=next((s for s in anchors if s in customer.ids), None),
                systems=frozenset(customer.ids)
                | {fact.source for fact in (*days, *indicators.get(customer_key, []))},
            )
        )
    return Portfolio(index, customers)


def group_usage(index: IdentityIndex, days: Sequence[K]) -> dict[str, list[K]]:
    """Usage days (or indicator values) by customer; each unmatched group key is reported
    once."""
    by_group: dict[tuple[str, str], list[K]] = {}
    for day in days:
        by_group.setdefault((day.source, day.account_id), []).append(day)
    grouped: dict[str, list[K]] = {}
    for (source, group), group_days in sorted(by_group.items()):
        customer = index.resolve(source, group)
        if customer is None:
            index.report.add(source, "group keys", "no CRM account with that key", group)
            continue
        grouped.setdefault(customer, []).extend(group_days)
    return grouped
