"""Zendesk tickets, agents and CSAT ratings for the synthetic customer base.

Ticket ids are assigned in creation order once every organization has its tickets, the way
Zendesk numbers them; the ticket rate, priority mix, reply times and CSAT scores follow the
account's behaviour profile.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from csbridge_sandbox.world import names
from csbridge_sandbox.world.model import SatisfactionRating, Ticket, ZendeskUser
from csbridge_sandbox.world.names import between, pick

TICKET_HISTORY_DAYS = 120
FIRST_TICKET_ID = 1001
FIRST_RATING_ID = 380_000_000_001
AGENT_BASE = 370_000_000_000
GROUP_ID = 360_000_100_001
# profile -> (tickets per 30 days, share urgent, share good among rated, reply-time scale)
TICKET_PROFILE = {
    "champion": (0.8, 0.02, 0.92, 0.6),
    "healthy": (1.2, 0.03, 0.85, 1.0),
    "attention": (2.0, 0.06, 0.65, 1.4),
    "at_risk": (3.5, 0.18, 0.4, 2.2),
    "silent": (0.3, 0.02, 0.7, 1.0),
    "onboarding": (3.0, 0.04, 0.8, 1.0),
}


class TicketFactory:
    """Collects tickets org by org; `tickets` and `ratings` hold the numbered results."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self._drafts: list[dict[str, Any]] = []
        self._numbered: tuple[list[Ticket], list[SatisfactionRating]] | None = None

    def agents(self) -> list[ZendeskUser]:
        """The support agents who are assigned tickets (ids right after the user base)."""
        created = self.now - timedelta(days=1500)
        out = []
        for i in range(8):
            first, last = pick(self.rng, names.FIRST_NAMES), pick(self.rng, names.LAST_NAMES)
            out.append(
                ZendeskUser(
                    AGENT_BASE + i + 1,
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}@support.csbridge-vendor.example",
                    None,
                    "admin" if i == 0 else "agent",
                    created,
                    created,
                )
            )
        return out

    def for_org(self, org_id: int, profile: str, requesters: list[int], created: datetime) -> None:
        """Generate the organization's tickets over the last 120 days (or since it was created)."""
        rate, urgent_share, _, reply_scale = TICKET_PROFILE[profile]
        rng = self.rng
        start = max(created, self.now - timedelta(days=TICKET_HISTORY_DAYS))
        span = (self.now - start).total_seconds() - 3600
        if span <= 0:
            return
        expected = rate * span / (30 * 86_400)
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            opened = start + timedelta(seconds=int(rng.random() * span))
            self._drafts.append(
                self._ticket(
                    org_id, opened, pick(rng, requesters), urgent_share, reply_scale, profile
                )
            )

    def _ticket(
        self,
        org_id: int,
        opened: datetime,
        requester: int,
        urgent_share: float,
        reply_scale: float,
        profile: str,
    ) -> dict[str, Any]:
        rng = self.rng
        age_h = (self.now - opened).total_seconds() / 3600
        roll = rng.random()
        priority: str | None
        if roll < urgent_share:
            priority = "urgent"
        else:
            priority = pick(rng, ("high", "normal", "normal", "normal", "low", None))
        reply = int(rng.expovariate(1 / (240 * reply_scale))) + 3
        full = reply + int(rng.expovariate(1 / (1800 * reply_scale))) + 10
        replies = between(rng, 1, 6)
        reopens = 1 if rng.random() < 0.08 * reply_scale else 0
        solved_at: datetime | None = None
        if age_h * 60 > full and rng.random() < 0.93:
            solved_at = opened + timedelta(minutes=full)
            days_since = (self.now - solved_at).days
            status = "closed" if days_since > 4 else "solved"
            updated = min(
                self.now - timedelta(minutes=2),
                solved_at
                + timedelta(days=4 if status == "closed" else 0, minutes=between(rng, 0, 90)),
            )
            satisfaction = self._csat(profile)
        else:
            status = pick(rng, ("new", "open", "open", "pending", "hold"))
            updated = min(
                self.now - timedelta(minutes=2), opened + timedelta(minutes=min(age_h * 60, reply))
            )
            satisfaction = "unoffered"
            if status == "new":
                reply, replies = 0, 0
            full = 0
        if rng.random() < 0.01:
            status, satisfaction = "deleted", "unoffered"
        return dict(
            org_id=org_id,
            requester_id=requester,
            assignee_id=AGENT_BASE + 1 + int(rng.random() * 8),
            subject=pick(rng, names.TICKET_SUBJECTS),
            status=status,
            priority=priority,
            type=pick(rng, ("question", "incident", "problem", "task")),
            channel=pick(rng, ("web", "email", "email", "api")),
            created_at=opened,
            updated_at=max(updated, opened),
            solved_at=solved_at,
            satisfaction=satisfaction,
            reply_minutes=reply if replies else None,
            first_resolution_minutes=full if solved_at else None,
            full_resolution_minutes=full if solved_at else None,
            replies=replies,
            reopens=reopens,
            tags=(profile.replace("_", "-"),) if priority == "urgent" else (),
        )

    def _csat(self, profile: str) -> str:
        roll = self.rng.random()
        if roll < 0.3:
            return "unoffered"
        if roll < 0.5:
            return "offered"
        return "good" if self.rng.random() < TICKET_PROFILE[profile][2] else "bad"

    def _finish(self) -> tuple[list[Ticket], list[SatisfactionRating]]:
        if self._numbered is None:
            ordered = sorted(self._drafts, key=lambda t: (t["created_at"], t["org_id"]))
            tickets = [Ticket(id=FIRST_TICKET_ID + n, **t) for n, t in enumerate(ordered)]
            ratings: list[SatisfactionRating] = []
            for ticket in tickets:
                if ticket.satisfaction not in ("good", "bad", "offered") or not ticket.solved_at:
                    continue
                rated = min(
                    self.now - timedelta(minutes=1),
                    ticket.solved_at + timedelta(hours=between(self.rng, 1, 48)),
                )
                comment = ""
                if ticket.satisfaction in names.CSAT_COMMENTS:
                    comment = pick(self.rng, names.CSAT_COMMENTS[ticket.satisfaction])
                ratings.append(
                    SatisfactionRating(
                        FIRST_RATING_ID + len(ratings),
                        ticket.id,
                        ticket.requester_id,
                        ticket.assignee_id,
                        GROUP_ID,
                        ticket.satisfaction,
                        comment,
                        rated,
                        rated,
                    )
                )
            self._numbered = (tickets, ratings)
        return self._numbered

    @property
    def tickets(self) -> list[Ticket]:
        """All tickets, numbered in creation order."""
        return self._finish()[0]

    @property
    def ratings(self) -> list[SatisfactionRating]:
        """CSAT ratings (offered / good / bad) of solved tickets."""
        return self._finish()[1]
