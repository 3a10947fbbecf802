"""The inbox worker: claim a row, parse it strictly, react, and end it with a reason.

Every claimed row ends as `processed`, `parked` (unknown account, unknown event
type) or `dead_lettered` (invalid payload, raw bytes kept in `dead_letters`).
The reaction is injected (`React`): `csbridge.webhooks.reaction.sync_reaction` goes
through rules → plan → apply when `crm.targets` is set; without a CRM to write,
`account_lookup_reaction` only resolves the account against the stored CRM accounts:
unknown → parked "unknown account", known → processed "no reaction configured yet".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine, or_, select

from csbridge.store.lock import RunLockedError
from csbridge.store.tables import accounts, contacts
from csbridge.webhooks import inbox
from csbridge.webhooks.adapters import ADAPTERS
from csbridge.webhooks.alert import (
    Alert,
    InvalidPayload,
    NotAnAlert,
    React,
    ReactionOutcome,
    UnknownEventType,
)
from csbridge.webhooks.metrics import Metrics

log = structlog.get_logger("csbridge.webhooks.worker")
NO_REACTION = "no reaction configured yet"
MAX_ATTEMPTS = 10


def find_account(engine: Engine, alert: Alert) -> str | None:
    """The stored account (source:id) an alert's key points to, or None."""
    live = accounts.c.deleted.is_(False)
    with engine.connect() as connection:
        if alert.key_kind == "contact":
            owner = connection.execute(
                select(contacts.c.source, contacts.c.account_id).where(
                    contacts.c.source == alert.key_source,
                    contacts.c.id == alert.account_key,
                    contacts.c.deleted.is_(False),
                )
            ).first()
            if owner is None or owner.account_id is None:
                return None
            where = [accounts.c.source == owner.source, accounts.c.id == owner.account_id]
        elif alert.key_kind == "account":
            where = [accounts.c.source == alert.key_source, accounts.c.id == alert.account_key]
        else:
            key = alert.account_key
            where = [
                or_(
                    accounts.c.id == key,
                    accounts.c.domain == key.lower(),
                    accounts.c.external_id == key,
                )
            ]
        row = connection.execute(
            select(accounts.c.source, accounts.c.id).where(live, *where).limit(1)
        ).first()
    return None if row is None else f"{row.source}:{row.id}"


def account_lookup_reaction(engine: Engine) -> React:
    """The reaction without `crm.targets`: resolve the account, act on nothing."""

    def react(alert: Alert) -> ReactionOutcome:
        account = find_account(engine, alert)
        if account is None:
            return ReactionOutcome("parked", f"unknown account: {alert.account_key[:120]}")
        return ReactionOutcome("processed", f"{NO_REACTION} (account {account})")

    return react


def handle(row: inbox.InboxRow, react: React) -> tuple[str, str]:
    """(terminal status, reason) for one claimed row. Reaction errors propagate."""
    adapter = ADAPTERS.get(row.source)
    if adapter is None:
        return "parked", f"unknown source {row.source}"
    try:
        alert = adapter.parse(row.body, row.event_id)
    except NotAnAlert as exc:
        return "processed", f"not an alert: {exc.reason}"
    except UnknownEventType as exc:
        return "parked", exc.reason
    except InvalidPayload as exc:
        return "dead_lettered", exc.reason
    outcome = react(alert)
    return outcome.status, outcome.reason


def run_once(
    engine: Engine,
    react: React,
    *,
    lease_seconds: float = 60.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: Metrics | None = None,
) -> tuple[int, str] | None:
    """Claim and finish one row; returns (row id, status), or None if nothing was waiting.

    If the reaction raises, the row stays claimed and is retried once its lease expires;
    a row claimed more than `MAX_ATTEMPTS` times is dead-lettered. A reaction refused
    because a scheduled run holds the store's lock is "deferred": retried after the
    lease without spending an attempt, however long the run.
    """
    row = inbox.claim(engine, clock(), lease_seconds)
    if row is None:
        return None
    bound = log.bind(inbox_id=row.id, source=row.source, event_id=row.event_id[:80])
    if row.attempts > MAX_ATTEMPTS:
        status, reason = "dead_lettered", f"gave up after {MAX_ATTEMPTS} attempts"
    else:
        try:
            status, reason = handle(row, react)
        except RunLockedError:  # a scheduled run is writing: retry after the lease, free
            inbox.defer(engine, row)
            bound.info("webhook_deferred", reason="a run holds the store's lock")
            return row.id, "deferred"
        except Exception as exc:
            bound.error(
                "webhook_reaction_failed", error=exc.__class__.__name__, attempt=row.attempts
            )
            raise
    if not inbox.finish(engine, row, status, reason, clock()):
        bound.warning("webhook_lease_lost", status=status)
        return row.id, "lease_lost"
    if metrics is not None:
        metrics.inc("csbridge_webhook_rows_finished_total", source=row.source, status=status)
    level = bound.info if status == "processed" else bound.warning
    level("webhook_finished", status=status, reason=reason, attempt=row.attempts)
    return row.id, status


def run(
    engine: Engine,
    react: React,
    stop: threading.Event,
    *,
    lease_seconds: float = 60.0,
    poll_seconds: float = 0.5,
    metrics: Metrics | None = None,
) -> None:
    """Work until `stop` is set: drain the inbox, then poll every `poll_seconds`."""
    while not stop.is_set():
        try:
            done = run_once(engine, react, lease_seconds=lease_seconds, metrics=metrics)
        except Exception as exc:  # a reaction or database error: log, back off, go on
            log.error("webhook_worker_error", error=exc.__class__.__name__)
            done = None
        if done is None:
            stop.wait(poll_seconds)
