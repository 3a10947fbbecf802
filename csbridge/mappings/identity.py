"""Identity resolution: which Zendesk organization, Mixpanel group and CRM account are one customer.

The CRM accounts (Salesforce, HubSpot) are the anchors: each gets a canonical key,
its normalised domain by default (`identity.key: domain`) or its external id
(`identity.key: external_id`). Other systems join on that key:

- a Zendesk organization through its `external_id`, then its `domain_names`;
- a Mixpanel group through the value of its group key (e.g. `company_domain`), and a
  warehouse row through its `account` column: both are identity keys (`KEYED_SOURCES`);
- a fact (ticket, survey, usage day, contact...) through its `(source, account_id)`.

Nothing is dropped silently: every record that matches no account is counted in an
`UnmatchedReport` with a few example ids, for the run report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from csbridge.models import Account, Record
from csbridge.text_fit import fit_key

IdentityKey = Literal["domain", "external_id"]
ANCHORS: tuple[str, ...] = ("salesforce", "hubspot")
KEYED_SOURCES: tuple[str, ...] = ("mixpanel", "warehouse")  # their account ids are identity keys
DOMAIN_MAX = 253  # the longest name DNS allows; a longer value is hashed to fit the key columns
EXAMPLES = 5
F = TypeVar("F", bound=Record)


def normalise_domain(value: object) -> str | None:
    """`https://www.Acme.com/path` → `acme.com`; None for empty or non-domain values."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if "@" in text:  # an email address: keep its domain
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    host = re.split(r"[/?#:]", text, maxsplit=1)[0].rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return fit_key(host, DOMAIN_MAX) if "." in host else None


@dataclass(frozen=True)
class Customer:
    """One customer across systems: its canonical key and its id in each system."""

    key: str
    name: str
    ids: Mapping[str, str]


@dataclass
class Unmatched:
    """Records of one kind from one source that joined no customer."""

    source: str
    kind: str
    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        """Count one more; keep the first few ids as examples."""
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


@dataclass
class UnmatchedReport:
    """Everything that matched no customer, by (source, kind, reason)."""

    entries: dict[tuple[str, str, str], Unmatched] = field(default_factory=dict)

    def add(self, source: str, kind: str, reason: str, example: str) -> None:
        """Record one unmatched record."""
        key = (source, kind, reason)
        self.entries.setdefault(key, Unmatched(source, kind, reason)).add(example)

    @property
    def total(self) -> int:
        """Unmatched records of every kind."""
        return sum(entry.count for entry in self.entries.values())

    def rows(self) -> list[dict[str, object]]:
        """The report as JSON-ready rows."""
        return [
            {
                "source": e.source,
                "kind": e.kind,
                "reason": e.reason,
                "count": e.count,
                "examples": list(e.examples),
            }
            for _, e in sorted(self.entries.items())
        ]

    def lines(self) -> list[str]:
        """Human-readable lines for the run report."""
        return [
            f"{e.source} {e.kind}: {e.count} unmatched ({e.reason}), e.g. {', '.join(e.examples)}"
            for _, e in sorted(self.entries.items())
        ]


@dataclass
class IdentityIndex:
    """Canonical key per (source, account id), built from the accounts each system holds."""

    key: IdentityKey
    customers: dict[str, Customer] = field(default_factory=dict)
    by_source_id: dict[tuple[str, str], str] = field(default_factory=dict)
    report: UnmatchedReport = field(default_factory=UnmatchedReport)

    def resolve(self, source: str, account_id: str | None) -> str | None:
        """The customer key for an account id as `source` knows it, or None.

        Mixpanel and warehouse ids are identity-key values, so they are normalised and
        looked up as keys.
        """
        if account_id is None:
            return None
        found = self.by_source_id.get((source, account_id))
        if found is not None or source not in KEYED_SOURCES:
            return found
        candidate = normalise_domain(account_id) if self.key == "domain" else account_id.strip()
        return candidate if candidate in self.customers else None

    def group(self, kind: str, facts: Iterable[F]) -> dict[str, list[F]]:
        """Facts grouped by customer key; the rest go into the unmatched report."""
        grouped: dict[str, list[F]] = {}
        for fact in facts:
            account_id = getattr(fact, "account_id", None)
            customer = self.resolve(fact.source, account_id)
            if customer is None:
                reason = "no account id" if account_id is None else "account not in the CRM"
                self.report.add(fact.source, kind, reason, fact.id)
                continue
            grouped.setdefault(customer, []).append(fact)
        return grouped


def _anchor_key(account: Account, key: IdentityKey) -> str | None:
    if key == "external_id":
        return account.external_id.strip() if account.external_id else None
    for value in (account.domain, *account.domains):
        domain = normalise_domain(value)
        if domain:
            return domain
    return None


def _candidate_keys(account: Account, key: IdentityKey) -> list[str]:
    if key == "external_id":
        return [account.external_id.strip()] if account.external_id else []
    values = (account.external_id, account.domain, *account.domains)
    return [d for d in (normalise_domain(v) for v in values) if d]


def build_index(
    accounts: Iterable[Account], key: IdentityKey = "domain", anchors: Sequence[str] = ANCHORS
) -> IdentityIndex:
    """Join every system's accounts on `key`, with the CRM accounts as anchors."""
    index = IdentityIndex(key)
    ids: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    rank = {source: n for n, source in enumerate(anchors)}  # name from the first anchor CRM
    # each account as the few strings identity reads (sorted whole, a record each would
    # hold every account's fields at once: the peak of a large portfolio)
    rows = sorted(
        (
            rank.get(account.source, len(rank)),
            account.source,
            account.id,
            account.name if account.source in rank else "",
            _anchor_key(account, key) if account.source in rank else None,
            () if account.source in rank else tuple(_candidate_keys(account, key)),
        )
        for account in accounts
        if not account.deleted
    )
    others = []
    for row in rows:
        _, source, account_id, name, customer, _ = row
        if source not in rank:
            others.append(row)
            continue
        if customer is None:
            index.report.add(source, "accounts", f"no {key}", account_id)
            continue
        if source in ids.get(customer, {}):
            index.report.add(source, "accounts", f"duplicate {key} {customer}", account_id)
            continue
        ids.setdefault(customer, {})[source] = account_id
        names.setdefault(customer, name)
        index.by_source_id[(source, account_id)] = customer
    for _, source, account_id, _, _, candidates in others:
        match = next((c for c in candidates if c in ids), None)
        if match is None:
            index.report.add(source, "accounts", "no CRM account with that key", account_id)
            continue
        ids[match].setdefault(source, account_id)
        index.by_source_id[(source, account_id)] = match
    index.customers = {k: Customer(k, names[k], dict(v)) for k, v in ids.items()}
    return index
