"""The seeded synthetic customer base every emulator serves.

`build_world(accounts, seed, now)` is deterministic for its arguments. Accounts carry a
behaviour `profile` that shapes their tickets, NPS answers and usage; Mixpanel events are
not stored but derived per (group, day) by `iter_events` (see `world_usage.py`). About 2 %
of Zendesk organizations and of Mixpanel group keys match no CRM account, on purpose.
The fields CSMs fill in and last year's closed contracts come from `csm_input.py`.
"""

from __future__ import annotations

import gc
import random
from datetime import UTC, date, datetime, timedelta

from csbridge_sandbox.world import names
from csbridge_sandbox.world.csm_input import contract_history
from csbridge_sandbox.world.model import (
    Account,
    Contact,
    NpsAnswer,
    Opportunity,
    Owner,
    SatisfactionRating,
    Ticket,
    UsagePlan,
    World,
    ZendeskOrg,
    ZendeskUser,
)
from csbridge_sandbox.world.names import between, pick
from csbridge_sandbox.world.tickets import TicketFactory
from csbridge_sandbox.world.usage import iter_events, iter_events_between

__all__ = [
    "Account",
    "Contact",
    "NpsAnswer",
    "Opportunity",
    "Owner",
    "SatisfactionRating",
    "Ticket",
    "UsagePlan",
    "World",
    "ZendeskOrg",
    "ZendeskUser",
    "build_world",
    "default_now",
    "iter_events",
    "iter_events_between",
]

HISTORY_DAYS = 90
PROFILES = (
    ("champion", 0.15),
    ("healthy", 0.35),
    ("attention", 0.18),
    ("at_risk", 0.12),
    ("silent", 0.08),
    ("onboarding", 0.12),
)
PLANS = (
    ("starter", 0.45, 6_000, 24_000),
    ("growth", 0.38, 24_000, 90_000),
    ("enterprise", 0.17, 90_000, 480_000),
)
# profile -> (events per active user per day, share of users active, NPS score range)
PROFILE_USAGE = {
    "champion": (9.0, 0.9, (8, 10)),
    "healthy": (5.0, 0.7, (6, 10)),
    "attention": (3.0, 0.45, (4, 8)),
    "at_risk": (2.0, 0.3, (0, 6)),
    "silent": (1.5, 0.3, (3, 7)),
    "onboarding": (4.0, 0.6, (7, 10)),
}
ZENDESK_ORG_BASE = 360_000_000_000
ZENDESK_USER_BASE = 370_000_000_000
HUBSPOT_BASES = {
    "company": 10_000_000_000,
    "contact": 20_000_000_000,
    "deal": 30_000_000_000,
    "feedback": 40_000_000_000,
    "owner": 50_000_000,
}


def default_now() -> datetime:
    """Today 00:00 UTC: the anchor that keeps generated data recent yet stable within a day."""
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for name, weight in weighted:
        roll -= weight
        if roll <= 0:
            return name
    return weighted[-1][0]


def _owners(rng: random.Random) -> tuple[tuple[Owner, ...], Owner]:
    people = []
    for i in range(7):
        first, last = pick(rng, names.FIRST_NAMES), pick(rng, names.LAST_NAMES)
        people.append(
            Owner(
                id=f"owner-{i + 1}",
                salesforce_id=names.salesforce_id("005", 100 + i),
                hubspot_id=str(HUBSPOT_BASES["owner"] + 1 + i),
                email=f"{first.lower()}.{last.lower()}@csbridge-vendor.example",
                first_name=first,
                last_name=last,
                role="manager" if i == 6 else "csm",
            )
        )
    return tuple(people[:6]), people[6]


def _domain(rng: random.Random, name: str, used: set[str]) -> str:
    base = name.lower().replace(" ", "")
    tld = pick(rng, names.TLDS)
    domain = f"{base}.{tld}"
    n = 2
    while domain in used:
        domain = f"{base}{n}.{tld}"
        n += 1
    used.add(domain)
    return domain


def build_world(accounts: int = 500, seed: int = 7, now: datetime | None = None) -> World:
    """Generate owners, accounts, contacts, deals, NPS answers, Zendesk data and usage plans."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects: skip the useless GC passes
    try:
        return _build(accounts, seed, now)
    finally:
        if collecting:
            gc.enable()


def _build(accounts: int, seed: int, now: datetime | None) -> World:
    anchor = now if now is not None else default_now()
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=UTC)
    rng = random.Random(f"csbridge-world:{seed}")
    csms, manager = _owners(rng)
    used_domains: set[str] = set()
    used_names: set[str] = set()
    tickets = TicketFactory(rng, anchor)
    agents = tickets.agents()
    accts: list[Account] = []
    contacts: list[Contact] = []
    opps: list[Opportunity] = []
    nps: list[NpsAnswer] = []
    orgs: list[ZendeskOrg] = []
    users: list[ZendeskUser] = list(agents)
    plans: list[UsagePlan] = []
    today = anchor.date()
    for i in range(accounts):
        profile = _pick(rng, PROFILES)
        name = f"{pick(rng, names.NAME_FIRST)} {pick(rng, names.NAME_SECOND)}"
        domain = _domain(rng, name, used_domains)
        roll, plan, low, high = rng.random(), "enterprise", 90_000, 480_000
        for p_name, share, p_low, p_high in PLANS:
            roll -= share
            if roll <= 0:
                plan, low, high = p_name, p_low, p_high
                break
        arr = int(round(min(high, low * (high / low) ** rng.random()), -2))
        seats = max(5, int(arr / rng.uniform(400, 1100)))
        age_days = between(rng, 2, 45) if profile == "onboarding" else between(rng, 120, 1800)
        created = anchor - timedelta(days=age_days, seconds=int(rng.random() * 86_400))
        lifecycle = "onboarding" if age_days < 60 else ("adoption" if age_days < 365 else "mature")
        key = f"acct-{i + 1:05d}"
        org_id = ZENDESK_ORG_BASE + i + 1
        fit = _pick(rng, (("high", 0.35), ("medium", 0.45), ("low", 0.2)))
        potential = _pick(rng, (("high", 0.3), ("medium", 0.45), ("low", 0.25)))
        account = Account(
            key=key,
            name=name if name not in used_names else f"{name} {i + 1}",
            domain=domain,
            industry=pick(rng, names.INDUSTRIES),
            arr=arr,
            seats=seats,
            plan=plan,
            fit=fit,
            potential=potential,
            owner=pick(rng, csms).id,
            renewal_date=today + timedelta(days=between(rng, 1, 365)),
            created_at=created,
            lifecycle=lifecycle,
            profile=profile,
            salesforce_id=names.salesforce_id("001", i + 1),
            hubspot_id=str(HUBSPOT_BASES["company"] + i + 1),
            zendesk_org_id=org_id,
        )
        accts.append(account)
        used_names.add(account.name)
        people = _contacts(rng, account, len(contacts), len(users), anchor)
        contacts.extend(people)
        orgs.append(ZendeskOrg(org_id, account.name, domain, key, created, created))
        users.extend(
            ZendeskUser(
                c.zendesk_user_id,
                f"{c.first_name} {c.last_name}",
                c.email,
                org_id,
                "end-user",
                c.created_at,
                c.created_at,
            )
            for c in people
        )
        opps.extend(_opportunities(rng, account, len(opps), anchor))
        nps.extend(_nps(rng, account, people, len(nps), anchor))
        tickets.for_org(org_id, profile, [c.zendesk_user_id for c in people], created)
        plans.append(_usage_plan(rng, len(plans), domain, profile, people, created, today))
    _orphans(rng, accounts, used_domains, orgs, users, plans, tickets, anchor)
    opps.extend(contract_history(seed, accts, len(opps), HUBSPOT_BASES["deal"], anchor))
    return World(
        seed=seed,
        now=anchor,
        history_days=HISTORY_DAYS,
        owners=csms,
        manager=manager,
        accounts=tuple(accts),
        contacts=tuple(contacts),
        opportunities=tuple(opps),
        nps_answers=tuple(nps),
        zendesk_orgs=tuple(orgs),
        zendesk_users=tuple(users),
        tickets=tuple(tickets.tickets),
        satisfaction_ratings=tuple(tickets.ratings),
        usage_plans=tuple(plans),
    )


def _contacts(
    rng: random.Random, account: Account, offset: int, user_offset: int, now: datetime
) -> list[Contact]:
    count = pick(rng, (1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8))
    roles = ["champion", "exec_sponsor", "admin"][:count] + ["user"] * max(0, count - 3)
    left_odds = 0.35 if account.profile == "at_risk" else 0.03
    out = []
    local_parts: set[str] = set()
    for j, role in enumerate(roles):
        first, last = pick(rng, names.FIRST_NAMES), pick(rng, names.LAST_NAMES)
        local = f"{first}.{last}".lower()
        while local in local_parts:
            local += str(j)
        local_parts.add(local)
        n = offset + j + 1
        out.append(
            Contact(
                key=f"contact-{n:06d}",
                account_key=account.key,
                first_name=first,
                last_name=last,
                email=f"{local}@{account.domain}",
                title=pick(rng, names.TITLES[role]),
                role=role,
                salesforce_id=names.salesforce_id("003", n),
                hubspot_id=str(HUBSPOT_BASES["contact"] + n),
                left_company=role == "champion" and rng.random() < left_odds,
                zendesk_user_id=ZENDESK_USER_BASE + user_offset + j + 1,
                created_at=max(account.created_at, now - timedelta(days=between(rng, 3, 900))),
            )
        )
    return out


def _opportunities(
    rng: random.Random, account: Account, offset: int, now: datetime
) -> list[Opportunity]:
    specs = [("renewal", account.arr, account.renewal_date)]
    if account.profile in ("champion", "healthy") and rng.random() < 0.45:
        specs.append(
            (
                "upsell",
                int(account.arr * rng.uniform(0.1, 0.5)),
                now.date() + timedelta(days=between(rng, 10, 120)),
            )
        )
    if account.profile == "at_risk" and rng.random() < 0.4:
        specs.append(("downgrade", -int(account.arr * rng.uniform(0.1, 0.4)), account.renewal_date))
    if account.lifecycle == "onboarding":
        specs.append(("new", account.arr, account.created_at.date()))
    out = []
    for j, (kind, amount, close) in enumerate(specs):
        n = offset + j + 1
        stage = "Closed Won" if close < now.date() else pick(rng, names.OPPORTUNITY_STAGES_OPEN)
        out.append(
            Opportunity(
                key=f"opp-{n:06d}",
                account_key=account.key,
                type=kind,
                amount=amount,
                stage=stage,
                close_date=close,
                salesforce_id=names.salesforce_id("006", n),
                hubspot_id=str(HUBSPOT_BASES["deal"] + n),
                created_at=max(account.created_at, now - timedelta(days=between(rng, 20, 200))),
            )
        )
    return out


def _nps(
    rng: random.Random, account: Account, people: list[Contact], offset: int, now: datetime
) -> list[NpsAnswer]:
    low, high = PROFILE_USAGE[account.profile][2]
    answers = pick(rng, (0, 1, 1, 2, 3)) if account.profile != "onboarding" else pick(rng, (0, 1))
    out = []
    age = max(1, (now - account.created_at).days)
    for j in range(answers):
        score = between(rng, low, high)
        group = "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")
        n = offset + j + 1
        out.append(
            NpsAnswer(
                key=f"nps-{n:06d}",
                account_key=account.key,
                contact_key=pick(rng, people).key,
                score=score,
                comment=pick(rng, names.NPS_COMMENTS[group]),
                submitted_at=now
                - timedelta(
                    days=between(rng, 1, min(age, 360)), seconds=int(rng.random() * 86_400)
                ),
                salesforce_id=names.salesforce_id("a0N", n),
                hubspot_id=str(HUBSPOT_BASES["feedback"] + n),
            )
        )
    return out


def _usage_plan(
    rng: random.Random,
    index: int,
    domain: str,
    profile: str,
    people: list[Contact],
    created: datetime,
    today: date,
) -> UsagePlan:
    per_user, active_share, _ = PROFILE_USAGE[profile]
    users = tuple(c.email for c in people if not c.left_company)
    extra = between(rng, 0, 12) if profile in ("champion", "healthy") else between(rng, 0, 3)
    users += tuple(f"user{k}@{domain}" for k in range(extra))
    active = max(1, round(len(users) * active_share))
    silent_since = today - timedelta(days=between(rng, 15, 45)) if profile == "silent" else None
    trend = -0.6 if profile == "at_risk" else (0.3 if profile == "onboarding" else 0.0)
    return UsagePlan(
        index=index,
        domain=domain,
        profile=profile,
        users=users[: max(active, 1)] or (domain,),
        daily_events=per_user * active,
        breadth=8 if profile == "champion" else between(rng, 2, 6),
        start=created.date() + timedelta(days=between(rng, 0, 3)),
        silent_since=silent_since,
        trend=trend,
    )


def _orphans(
    rng: random.Random,
    accounts: int,
    used: set[str],
    orgs: list[ZendeskOrg],
    users: list[ZendeskUser],
    plans: list[UsagePlan],
    tickets: TicketFactory,
    now: datetime,
) -> None:
    """About 2 % extra Zendesk orgs and Mixpanel groups that match no CRM account."""
    extra = max(1, round(accounts * 0.02))
    start = (now - timedelta(days=400)).date()
    for k in range(extra):
        org_name = f"{pick(rng, names.NAME_FIRST)} {pick(rng, names.NAME_SECOND)} Trial"
        domain = _domain(rng, org_name, used)
        org_id = ZENDESK_ORG_BASE + accounts + k + 1
        created = now - timedelta(days=between(rng, 30, 400))
        orgs.append(ZendeskOrg(org_id, f"{org_name} {k + 1}", domain, None, created, created))
        user_id = ZENDESK_USER_BASE + len(users) + 1
        users.append(
            ZendeskUser(
                user_id, "Trial User", f"trial{k}@{domain}", org_id, "end-user", created, created
            )
        )
        tickets.for_org(org_id, "healthy", [user_id], created)
        group_domain = _domain(rng, f"{pick(rng, names.NAME_FIRST)} Prospect", used)
        plans.append(
            UsagePlan(
                index=len(plans),
                domain=group_domain,
                profile="healthy",
                users=(f"eval@{group_domain}",),
                daily_events=4.0,
                breadth=3,
                start=start,
                silent_since=None,
                trend=0.0,
            )
        )
