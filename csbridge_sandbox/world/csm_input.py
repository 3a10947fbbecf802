"""What CSMs and billing write on an account, and the contracts of the past year.

Both follow the account's profile and draw from their own random stream per account
(seed, account key), so adding them leaves every other record of the world as it was.

- `inputs`: the fields `init-crm` creates for CSMs (relationship quality, community
  level, referrals in 12 months) and for a billing integration (days past due), filled
  in for most accounts but not all, as real CSM input is.
- `contract_history`: last year's contract (the renewal a year before the coming one, or
  the first deal of a younger account), closed won, then for some accounts an upsell
  or a downgrade closed since: the contract movement of the last 12 months.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from csbridge_sandbox.world import names
from csbridge_sandbox.world.model import Account, Opportunity
from csbridge_sandbox.world.names import between

Weights = tuple[tuple[str, float], ...]
RELATIONSHIP: dict[str, Weights] = {
    "champion": (("excellent", 0.6), ("good", 0.4)),
    "healthy": (("excellent", 0.25), ("good", 0.55), ("neutral", 0.2)),
    "attention": (("good", 0.3), ("neutral", 0.5), ("difficult", 0.2)),
    "at_risk": (("good", 0.1), ("neutral", 0.35), ("difficult", 0.55)),
    "silent": (("good", 0.1), ("neutral", 0.5), ("difficult", 0.4)),
    "onboarding": (("excellent", 0.1), ("good", 0.6), ("neutral", 0.3)),
}
COMMUNITY: dict[str, Weights] = {
    "champion": (("active", 0.5), ("contributor", 0.4), ("lurker", 0.1)),
    "healthy": (("active", 0.15), ("contributor", 0.35), ("lurker", 0.4), ("none", 0.1)),
    "attention": (("contributor", 0.15), ("lurker", 0.45), ("none", 0.4)),
    "at_risk": (("lurker", 0.35), ("none", 0.65)),
    "silent": (("lurker", 0.2), ("none", 0.8)),
    "onboarding": (("contributor", 0.1), ("lurker", 0.5), ("none", 0.4)),
}
# profile -> (highest referrals count, share of accounts up to date with invoices,
#             days past due when late: low, high)
PROFILE_MONEY = {
    "champion": (4, 0.9, (5, 20)),
    "healthy": (2, 0.85, (5, 30)),
    "attention": (1, 0.6, (10, 45)),
    "at_risk": (0, 0.35, (20, 90)),
    "silent": (0, 0.4, (15, 75)),
    "onboarding": (1, 0.8, (5, 30)),
}
# profile -> (share with an upsell closed this year, share with a downgrade)
MOVEMENT = {
    "champion": (0.45, 0.0),
    "healthy": (0.3, 0.03),
    "attention": (0.1, 0.12),
    "at_risk": (0.02, 0.4),
    "silent": (0.0, 0.25),
    "onboarding": (0.0, 0.0),
}
FILLED = {"relationship": 0.85, "community": 0.8, "referrals": 0.75, "days_past_due": 0.95}


@dataclass(frozen=True, slots=True)
class CsmInputs:
    """The values of the CSM-input fields of one account (None: left empty)."""

    relationship: str | None
    community: str | None
    referrals: int | None
    days_past_due: int | None


def _rng(seed: int, account: Account, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{account.key}:{purpose}")


def _weighted(rng: random.Random, weights: Weights) -> str:
    roll = rng.random()
    for name, weight in weights:
        roll -= weight
        if roll <= 0:
            return name
    return weights[-1][0]


def inputs(seed: int, account: Account) -> CsmInputs:
    """The account's CSM-input fields, following its profile, some left empty."""
    rng = _rng(seed, account, "inputs")
    filled = {name: rng.random() < share for name, share in FILLED.items()}
    most, on_time, (late_low, late_high) = PROFILE_MONEY[account.profile]
    relationship = _weighted(rng, RELATIONSHIP[account.profile])
    community = _weighted(rng, COMMUNITY[account.profile])
    referrals = between(rng, 0, most)
    late = 0 if rng.random() < on_time else between(rng, late_low, late_high)
    return CsmInputs(
        relationship if filled["relationship"] else None,
        community if filled["community"] else None,
        referrals if filled["referrals"] else None,
        late if filled["days_past_due"] else None,
    )


def contract_history(
    seed: int, accounts: Sequence[Account], offset: int, deal_base: int, now: datetime
) -> list[Opportunity]:
    """Closed-won deals of the last year for every account past onboarding, numbered
    from `offset` (the ids after the world's other deals)."""
    out: list[Opportunity] = []
    for account in accounts:
        if account.lifecycle == "onboarding":
            continue
        rng = _rng(seed, account, "contracts")
        last_year = account.renewal_date - timedelta(days=365)
        first = account.created_at.date()
        start, kind = (last_year, "renewal") if last_year > first else (first, "new")
        specs = [(kind, account.arr, start)]
        upsell, downgrade = MOVEMENT[account.profile]
        roll = rng.random()
        days = (now.date() - start).days
        if roll < upsell + downgrade and days > 1:
            close = start + timedelta(days=between(rng, 1, days - 1))
            share = rng.uniform(0.1, 0.4)
            if roll < upsell:
                specs.append(("upsell", int(account.arr * share), close))
            else:
                specs.append(("downgrade", -int(account.arr * share), close))
        for kind, amount, close in specs:
            n = offset + len(out) + 1
            out.append(
                Opportunity(
                    key=f"opp-{n:06d}",
                    account_key=account.key,
                    type=kind,
                    amount=amount,
                    stage="Closed Won",
                    close_date=close,
                    salesforce_id=names.salesforce_id("006", n),
                    hubspot_id=str(deal_base + n),
                    created_at=max(
                        account.created_at,
                        datetime.combine(close, now.timetz()) - timedelta(days=30),
                    ),
                )
            )
    return out
