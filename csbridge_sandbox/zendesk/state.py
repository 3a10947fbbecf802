"""The Zendesk emulator's mutable state: tickets ordered by `generated_timestamp`.

The world is never mutated: `update_ticket` replaces the app's copy of a ticket and bumps its
`generated_timestamp` to now, so it comes back in the next incremental export, as in Zendesk.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from csbridge_sandbox.world.model import (
    SatisfactionRating,
    Ticket,
    World,
    ZendeskOrg,
    ZendeskUser,
)
from csbridge_sandbox.zendesk.render import epoch


class ZendeskState:
    """Tickets, organizations, users and ratings as one Zendesk account holds them."""

    def __init__(self, world: World, clock: Callable[[], float] = time.time) -> None:
        self.world = world
        self.clock = clock
        self.lock = threading.Lock()
        self.tickets: dict[int, Ticket] = {t.id: t for t in world.tickets}
        self.generated: dict[int, int] = {t.id: epoch(t.updated_at) for t in world.tickets}
        self.order: list[tuple[int, int]] = sorted((g, i) for i, g in self.generated.items())
        self.orgs: list[ZendeskOrg] = sorted(world.zendesk_orgs, key=lambda o: o.id)
        self.orgs_by_id = {o.id: o for o in self.orgs}
        self.users: list[ZendeskUser] = sorted(world.zendesk_users, key=lambda u: u.id)
        self.users_by_id = {u.id: u for u in self.users}
        self.ratings: list[SatisfactionRating] = sorted(
            world.satisfaction_ratings, key=lambda r: r.id
        )
        self.ratings_by_ticket = {r.ticket_id: r for r in self.ratings}
        # (updated epoch, id, record) per incremental export, built on first use
        self.timelines: dict[str, list[tuple[int, int, Any]]] = {}

    def now(self) -> int:
        """The current Unix time (the real clock: exports hide the most recent minute of it)."""
        return int(self.clock())

    def update_ticket(self, ticket_id: int, **changes: Any) -> Ticket:
        """Change a ticket as an agent would: `updated_at` and `generated_timestamp` become now."""
        with self.lock:
            old = self.tickets[ticket_id]
            now = self.now()
            ticket = replace(old, updated_at=datetime.fromtimestamp(now, UTC), **changes)
            self.tickets[ticket_id] = ticket
            self.order.remove((self.generated[ticket_id], ticket_id))
            self.generated[ticket_id] = now
            bisect.insort(self.order, (now, ticket_id))
            return ticket

    def update_org_fields(
        self, org_id: int, values: dict[str, str | int | float | bool | None]
    ) -> ZendeskOrg:
        """Set organization fields as an admin would: every organization then carries each
        field (null where unset), and this one's `updated_at` becomes now."""
        with self.lock:
            keys = list(dict.fromkeys([*(k for k, _ in self.orgs[0].fields), *values]))
            now = datetime.fromtimestamp(self.now(), UTC)
            orgs = []
            for org in self.orgs:
                have = {**dict(org.fields), **(values if org.id == org_id else {})}
                fields = tuple((k, have.get(k)) for k in keys)
                stamp = now if org.id == org_id else org.updated_at
                orgs.append(replace(org, fields=fields, updated_at=stamp))
            self.orgs = orgs
            self.orgs_by_id = {o.id: o for o in orgs}
            self.timelines.clear()  # the exports rebuild their order on next use
            return self.orgs_by_id[org_id]

    def changed_after(
        self, key: tuple[int, int], visible_until: int, limit: int, exclude_deleted: bool
    ) -> tuple[list[tuple[int, Ticket]], bool]:
        """Up to `limit` (generated, ticket) pairs ordered after `key`, and whether more remain.

        Only tickets generated before `visible_until` are visible.
        """
        with self.lock:
            start = bisect.bisect_right(self.order, key)
            out: list[tuple[int, Ticket]] = []
            index = start
            while index < len(self.order):
                generated, ticket_id = self.order[index]
                if generated >= visible_until:
                    return out, False
                ticket = self.tickets[ticket_id]
                if not (exclude_deleted and ticket.status == "deleted"):
                    if len(out) == limit:
                        return out, True
                    out.append((generated, ticket))
                index += 1
            return out, False

    def changed_since(
        self, start_time: int, visible_until: int, limit: int, exclude_deleted: bool
    ) -> tuple[list[tuple[int, Ticket]], bool]:
        """Time-based export page: tickets generated at or after `start_time`.

        The page is extended past `limit` while tickets share the last timestamp, as Zendesk
        does, so a loop restarting at `end_time` always progresses.
        """
        page, more = self.changed_after((start_time, 0), visible_until, limit, exclude_deleted)
        if more and page:
            last = page[-1][0]
            extra, more = self.changed_after(
                (last, page[-1][1].id), min(visible_until, last + 1), 10**9, exclude_deleted
            )
            page.extend(extra)
            rest, _ = self.changed_after((last + 1, 0), visible_until, 1, exclude_deleted)
            more = bool(rest)
        return page, more
