"""CRM activity of the synthetic customer base: what CSMs log and what customers answer.

Derived from the World (its own random stream per account, so the rest of the world is
unchanged): CS emails and the customer's replies, calls, meetings (QBRs among them,
held or not), notes, campaigns (webinars, events, trainings) with who was invited and
who attended, and each contact's marketing-email counts. Each behaviour follows the
account's profile: champions and healthy accounts answer, attend and show up more;
at-risk and silent accounts less.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from csbridge_sandbox.world import names
from csbridge_sandbox.world.model import Account, Contact, World
from csbridge_sandbox.world.names import between

# profile -> (reply / attendance / show-up odds, marketing open rate)
RESPONSIVENESS = {
    "champion": (0.75, 0.55),
    "healthy": (0.55, 0.4),
    "attention": (0.35, 0.25),
    "at_risk": (0.15, 0.1),
    "silent": (0.05, 0.06),
    "onboarding": (0.6, 0.45),
}
CAMPAIGNS = (("Webinar", 12), ("Event", 3), ("Training", 3))
CAMPAIGN_DAYS = 180
ACTIVITY_DAYS = 365
HUBSPOT_ENGAGEMENT_BASE = 60_000_000_000


@dataclass(frozen=True, slots=True)
class Campaign:
    """A marketing / CS campaign: a webinar, an event or a training on one day."""

    key: str
    name: str
    type: str
    start: date
    salesforce_id: str


@dataclass(frozen=True, slots=True)
class Invitation:
    """A contact invited to a campaign (a Salesforce CampaignMember); `attended` or not."""

    key: str
    campaign_key: str
    contact_key: str
    account_key: str
    attended: bool
    responded_on: date | None
    salesforce_id: str


@dataclass(frozen=True, slots=True)
class Engagement:
    """A logged activity: kind call / email / meeting / note; `outcome` for meetings
    (COMPLETED, NO_SHOW, CANCELED); `direction` for calls and emails; `opened` for the
    emails we sent (tracked); `email_id` the Salesforce EmailMessage of an email."""

    key: str
    account_key: str
    contact_key: str
    kind: str
    direction: str | None
    at: datetime
    subject: str
    outcome: str | None
    salesforce_id: str
    hubspot_id: str
    opened: bool | None = None
    email_id: str | None = None


@dataclass(frozen=True)
class WorldActivities:
    """Every campaign, invitation and engagement, and marketing-email counts by contact."""

    campaigns: tuple[Campaign, ...]
    invitations: tuple[Invitation, ...]
    engagements: tuple[Engagement, ...]
    marketing: dict[str, tuple[int, int, int]]  # contact key -> (delivered, opened, clicked)


def build_activities(world: World) -> WorldActivities:
    """The activities of `world` (deterministic for the world's seed and `now`)."""
    rng = random.Random(f"csbridge-activities:{world.seed}")
    today = world.now.date()
    campaigns: list[Campaign] = []
    for kind, count in CAMPAIGNS:
        for _ in range(count):
            start = today - timedelta(days=between(rng, 3, CAMPAIGN_DAYS))
            n = len(campaigns) + 1
            campaigns.append(
                Campaign(
                    f"campaign-{n:03d}", f"{kind} {n}", kind, start, names.salesforce_id("701", n)
                )
            )
    invitations: list[Invitation] = []
    engagements: list[Engagement] = []
    marketing: dict[str, tuple[int, int, int]] = {}
    for account in world.accounts:
        arng = random.Random(f"csbridge-activities:{world.seed}:{account.key}")
        people = [c for c in world.contacts_by_account.get(account.key, []) if not c.left_company]
        if not people:
            continue
        odds, open_rate = RESPONSIVENESS[account.profile]
        odds = min(1.0, max(0.0, arng.gauss(odds, 0.1)))
        for contact in people:
            delivered = between(arng, 4, 30)
            opened = sum(1 for _ in range(delivered) if arng.random() < open_rate)
            clicked = sum(1 for _ in range(opened) if arng.random() < 0.3)
            marketing[contact.key] = (delivered, opened, clicked)
        for campaign in campaigns:
            if campaign.start < account.created_at.date():
                continue
            for contact in people:
                if arng.random() >= 0.35:
                    continue
                attended = arng.random() < odds
                n = len(invitations) + 1
                invitations.append(
                    Invitation(
                        f"invite-{n:06d}",
                        campaign.key,
                        contact.key,
                        account.key,
                        attended,
                        campaign.start if attended else None,
                        names.salesforce_id("00v", n),
                    )
                )
        _engagements(arng, world, account, people, odds, engagements)
    return WorldActivities(tuple(campaigns), tuple(invitations), tuple(engagements), marketing)


def _engagements(
    rng: random.Random,
    world: World,
    account: Account,
    people: list[Contact],
    odds: float,
    out: list[Engagement],
) -> None:
    """A year of CS emails (and replies), calls, QBRs and other meetings, and notes."""
    start = max(account.created_at, world.now - timedelta(days=ACTIVITY_DAYS))
    span = max(int((world.now - start).total_seconds()), 3600)

    def add(
        kind: str,
        direction: str | None,
        at: datetime,
        subject: str,
        outcome: str | None,
        opened: bool | None = None,
    ) -> None:
        n = len(out) + 1
        contact = rng.choice(people)
        prefix = "00U" if kind == "meeting" else "00T"
        out.append(
            Engagement(
                f"activity-{n:06d}",
                account.key,
                contact.key,
                kind,
                direction,
                at,
                subject,
                outcome,
                names.salesforce_id(prefix, 500_000 + n),
                str(HUBSPOT_ENGAGEMENT_BASE + n),
                opened,
                names.salesforce_id("02s", n) if kind == "email" else None,
            )
        )

    def when() -> datetime:
        return start + timedelta(seconds=rng.randrange(span))

    for _ in range(between(rng, 6, 14)):
        sent = when()
        opened = rng.random() < min(1.0, odds + 0.15)
        add("email", "outbound", sent, "Checking in", None, opened)
        if rng.random() < odds and sent + timedelta(days=2) < world.now:
            add(
                "email",
                "inbound",
                sent + timedelta(hours=between(rng, 1, 40)),
                "Re: Checking in",
                None,
            )
    for _ in range(between(rng, 1, 5)):
        inbound = rng.random() < odds / 2
        add("call", "inbound" if inbound else "outbound", when(), "Call", None)
    qbrs = 4 if account.plan != "starter" else 2
    for q in range(qbrs):
        at = world.now - timedelta(days=between(rng, 5, 80) + q * (ACTIVITY_DAYS // qbrs))
        if at < account.created_at:
            continue
        outcome = "COMPLETED" if rng.random() < odds + 0.2 else rng.choice(("NO_SHOW", "CANCELED"))
        add("meeting", None, at, f"QBR Q{q + 1} - {account.name}", outcome)
    for _ in range(between(rng, 0, 3)):
        outcome = "COMPLETED" if rng.random() < odds + 0.3 else "CANCELED"
        add("meeting", None, when(), "Product review", outcome)
    for _ in range(between(rng, 0, 4)):
        add("note", None, when(), "Account note", None)
