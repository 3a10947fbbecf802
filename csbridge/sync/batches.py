"""The portfolio a batch of customers at a time, in memory bounded by the batch.

`Batches(store, key, now)` builds the identity index from a streamed read of the
accounts, keeping of each only what identity needs, then:

- `customers(keys)` yields `keys`' customers (`size` at a time, in key order) with the
  facts `load_portfolio` gives them, each batch read by one query per source and fact
  kind (`account_id` among the batch's ids, bound as one array: `store.id_list`), so
  one batch of records is held at a time;
- `benchmarks(options, keys)` fills the session and time benchmarks with the medians over
  `keys`' customers, from their last 31 days of usage read batch by batch, the database
  taking the few fields needed out of each payload (what `portfolio_signals` computes
  over the whole portfolio);
- `report_unmatched()` adds the facts that join no customer to the index's report as
  `load_portfolio` does, reading their ids only.

Concatenated, the batches are what `load_portfolio` gives: the same customers in the
same order with the same facts, so scores and plans do not depend on the batch size.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Connection

from csbridge.mappings.identity import ANCHORS, IdentityKey, UnmatchedReport, build_index
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
from csbridge.scoring.signal_types import CustomerFacts, SignalOptions
from csbridge.scoring.signals import per_user_rates, with_benchmarks
from csbridge.store.facts import fact_select
from csbridge.store.store import Store
from csbridge.store.tables import usage_days
from csbridge.sync.portfolio import (
    BENCHMARK_DAYS,
    SURVEY_DAYS,
    USAGE_DAYS,
    group_usage,
    ids_by_source,
    load_customers,
    load_members,
    members_of,
)

BATCH = 2000  # customers per batch
CHUNK = 5000  # rows fetched at a time when streaming


class Batches:
    """The store's customers as of `now`, read a batch at a time (see the module doc)."""

    def __init__(
        self,
        store: Store,
        key: IdentityKey,
        now: datetime,
        *,
        anchors: Sequence[str] = ANCHORS,
        size: int | None = None,
    ) -> None:
        self.store, self.now, self.anchors = store, now, anchors
        self.size = size or BATCH
        self.index = build_index(_identity_accounts(store), key, anchors)
        self.keys = sorted(self.index.customers)
        self.members = members_of(store, self.index)

    @property
    def report(self) -> UnmatchedReport:
        return self.index.report

    def in_targets(self, targets: Collection[str]) -> list[str]:
        """The customers with an account in at least one of `targets`' CRMs."""
        return [k for k in self.keys if any(s in targets for s in self.index.customers[k].ids)]

    def customers(self, keys: Sequence[str] | None = None) -> Iterator[list[CustomerFacts]]:
        """`keys`' customers (default: all) with their facts, one batch at a time."""
        wanted = self.keys if keys is None else keys
        for start in range(0, len(wanted), self.size):
            part = wanted[start : start + self.size]
            accounts = load_members(self.store, Account, ids_by_source(self.members, part))
            yield load_customers(
                self.store, self.index, accounts, part, self.members, self.now, self.anchors
            ).customers

    def benchmarks(self, options: SignalOptions, keys: Sequence[str]) -> SignalOptions:
        """`options` with the unset benchmarks the medians of `keys`' per-user rates."""
        if options.session_benchmark and options.time_benchmark:
            return options
        since = self.now - timedelta(days=BENCHMARK_DAYS)
        rates = []
        with self.store.engine.connect() as conn:
            for start in range(0, len(keys), self.size):
                part = keys[start : start + self.size]
                days = _rate_days(conn, ids_by_source(self.members, part), since)
                usage = group_usage(self.index, days)
                rates += [
                    per_user_rates(CustomerFacts(key, usage=usage.get(key, [])), self.now)
                    for key in part
                ]
        return with_benchmarks(options, rates)

    def report_unmatched(self) -> UnmatchedReport:
        """Add the facts that join no customer to the report (once) and return it."""
        survey_since = self.now - timedelta(days=SURVEY_DAYS)
        kinds: list[tuple[str, type[Record], datetime | None]] = [
            ("contacts", Contact, None),
            ("opportunities", Opportunity, None),
            ("tickets", Ticket, None),
            ("surveys", SurveyResponse, survey_since),
            ("activities", Activity, survey_since),
        ]
        with self.store.engine.connect() as conn:
            for kind, record_type, since in kinds:
                query = fact_select(record_type, ("source", "id", "account_id"), since=since)
                for source, fact_id, account_id in conn.execution_options(yield_per=CHUNK).execute(
                    query
                ):
                    if self.index.resolve(source, account_id) is None:
                        reason = "no account id" if account_id is None else "account not in the CRM"
                        self.report.add(source, kind, reason, fact_id)
            since = self.now - timedelta(days=USAGE_DAYS)
            groups = fact_select(UsageDay, ("source", "account_id"), since=since)
            values = fact_select(IndicatorValue, ("source", "account_id"))
            seen = {
                (source, group)
                for query in (groups, values)
                for source, group in conn.execute(query.order_by(None).distinct())
            }
        for source, group in sorted(seen):  # as `group_usage` walks them
            if self.index.resolve(source, group) is None:
                self.report.add(source, "group keys", "no CRM account with that key", group)
        return self.report


def _identity_accounts(store: Store) -> Iterator[Account]:
    """Every stored account (not deleted), streamed, keeping only what identity reads."""
    with store.engine.connect() as conn:
        rows = conn.execution_options(yield_per=CHUNK).execute(fact_select(Account))
        for (payload,) in rows:
            account = Account.model_validate_json(payload)
            yield Account(  # validating the few fields is 5x cheaper than `model_construct`
                source=account.source,
                id=account.id,
                name=account.name,
                domain=account.domain,
                domains=account.domains,
                external_id=account.external_id,
            )


@dataclass(frozen=True, slots=True)
class _RateDay:
    """What `per_user_rates` reads of a usage day, taken out of the payload by the database."""

    source: str
    account_id: str
    day: date
    users: str | None
    active_users: int
    sessions: int
    active_seconds: float | None


def _rate_days(
    conn: Connection, members: Mapping[str, Sequence[str]], since: datetime
) -> list[UsageDay]:
    """`members`' usage days from `since`, in the store's order, with only the fields the
    per-user rates read (no payload decoded in Python)."""
    payload = usage_days.c.payload
    extracted = (
        payload["users"].as_string(),
        payload["active_users"].as_integer(),
        payload["sessions"].as_integer(),
        payload["active_seconds"].as_float(),
    )
    rows: list[_RateDay] = []
    for source, ids in sorted(members.items()):
        columns = ("source", "account_id", "day")
        query = fact_select(UsageDay, columns, source=source, account_ids=ids, since=since)
        rows += [_RateDay(*row) for row in conn.execute(query.add_columns(*extracted)).all()]
    return cast(list[UsageDay], rows)  # duck-typed: the rates read only these fields
