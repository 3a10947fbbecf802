"""The synthetic customer base: deterministic, realistic, joined by domain."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from csbridge_sandbox.world.build import World, build_world, default_now, iter_events
from csbridge_sandbox.world.names import salesforce_id

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(accounts=400, seed=11, now=NOW)


def test_same_arguments_give_the_same_world(world: World) -> None:
    again = build_world(accounts=400, seed=11, now=NOW)
    assert again.accounts == world.accounts
    assert again.tickets == world.tickets
    assert again.nps_answers == world.nps_answers
    day = NOW.date() - timedelta(days=3)
    assert list(iter_events(again, day)) == list(iter_events(world, day))


def test_another_seed_gives_another_world(world: World) -> None:
    other = build_world(accounts=400, seed=12, now=NOW)
    assert [a.domain for a in other.accounts] != [a.domain for a in world.accounts]


def test_default_now_is_today_midnight_utc() -> None:
    now = default_now()
    assert now.tzinfo is UTC
    assert (now.hour, now.minute, now.second) == (0, 0, 0)
    assert datetime.now(UTC) - now < timedelta(days=1)


def test_ids_and_domains_are_unique(world: World) -> None:
    for values in (
        [a.domain for a in world.accounts],
        [a.name for a in world.accounts],
        [a.salesforce_id for a in world.accounts],
        [c.email for c in world.contacts],
        [t.id for t in world.tickets],
        [o.name for o in world.zendesk_orgs],
        [u.id for u in world.zendesk_users],
    ):
        assert len(values) == len(set(values))


def test_salesforce_ids_are_18_characters_with_the_right_prefix(world: World) -> None:
    assert all(
        len(a.salesforce_id) == 18 and a.salesforce_id.startswith("001") for a in world.accounts
    )
    assert all(c.salesforce_id.startswith("003") for c in world.contacts)
    assert all(o.salesforce_id.startswith("006") for o in world.opportunities)
    assert all(o.salesforce_id.startswith("005") for o in world.owners)
    # the case-safe suffix encodes which of the first 15 characters are upper case
    assert salesforce_id("001", 5) == "0015g0000000005AAA"
    assert salesforce_id("a0N", 5)[-3:] == "EAA"


def test_profiles_follow_the_intended_mix(world: World) -> None:
    shares = Counter(a.profile for a in world.accounts)
    assert set(shares) == {"champion", "healthy", "attention", "at_risk", "silent", "onboarding"}
    assert shares["healthy"] > shares["at_risk"] > 0
    assert all(a.lifecycle == "onboarding" for a in world.accounts if a.profile == "onboarding")


def test_every_account_has_contacts_a_renewal_and_an_owner(world: World) -> None:
    by_account = world.contacts_by_account
    for account in world.accounts:
        assert 1 <= len(by_account[account.key]) <= 8
        assert account.owner in world.owners_by_id
        assert account.renewal_date > NOW.date()
    renewals = {o.account_key for o in world.opportunities if o.type == "renewal"}
    assert renewals == {a.key for a in world.accounts}


def test_about_two_percent_of_orgs_and_groups_match_no_account(world: World) -> None:
    domains = {a.domain for a in world.accounts}
    orphan_orgs = [o for o in world.zendesk_orgs if o.domain not in domains]
    orphan_groups = [p for p in world.usage_plans if p.domain not in domains]
    assert orphan_orgs and all(o.account_key is None for o in orphan_orgs)
    assert 0.01 <= len(orphan_orgs) / len(world.zendesk_orgs) <= 0.03
    assert 0.01 <= len(orphan_groups) / len(world.usage_plans) <= 0.03


def test_at_risk_accounts_have_more_urgent_tickets_and_worse_nps(world: World) -> None:
    by_org = {a.zendesk_org_id: a for a in world.accounts}
    urgent: Counter[str] = Counter()
    for ticket in world.tickets:
        account = by_org.get(ticket.org_id)
        if account and ticket.priority == "urgent":
            urgent[account.profile] += 1
    profiles = Counter(a.profile for a in world.accounts)
    assert urgent["at_risk"] / profiles["at_risk"] > 3 * urgent["champion"] / profiles["champion"]
    profile_of = {a.key: a.profile for a in world.accounts}
    scores: dict[str, list[int]] = {}
    for answer in world.nps_answers:
        scores.setdefault(profile_of[answer.account_key], []).append(answer.score)
    assert max(scores["at_risk"]) <= 6 < min(scores["champion"])


def test_tickets_are_numbered_in_creation_order_and_in_the_past(world: World) -> None:
    created = [t.created_at for t in world.tickets]
    assert created == sorted(created)
    assert all(t.updated_at <= NOW and t.created_at <= t.updated_at for t in world.tickets)
    statuses = Counter(t.status for t in world.tickets)
    assert statuses["closed"] > statuses["open"] > 0 and statuses["deleted"] > 0
    solved = [t for t in world.tickets if t.status in ("solved", "closed")]
    assert all(t.solved_at is not None and t.full_resolution_minutes for t in solved)


def test_ratings_point_at_solved_tickets(world: World) -> None:
    tickets = world.tickets_by_id
    assert world.satisfaction_ratings
    for rating in world.satisfaction_ratings:
        ticket = tickets[rating.ticket_id]
        assert rating.score == ticket.satisfaction in ("good", "bad", "offered")
        assert ticket.solved_at is not None and rating.created_at >= ticket.solved_at


def test_events_carry_the_group_key_and_follow_the_profiles(world: World) -> None:
    today = NOW.date()
    per_profile: Counter[str] = Counter()
    insert_ids: Counter[str] = Counter()
    plan_of = {p.domain: p for p in world.usage_plans}
    for back in range(1, 15):
        for event in iter_events(world, today - timedelta(days=back)):
            props = event["properties"]
            insert_ids[props["$insert_id"]] += 1
            per_profile[plan_of[props["company_domain"]].profile] += 1
            day_start = datetime.combine(today - timedelta(days=back), datetime.min.time(), UTC)
            assert 0 <= props["time"] - day_start.timestamp() < 86_400
    assert per_profile["silent"] == 0  # silent accounts: nothing in the last 14 days
    counts = Counter(p.profile for p in world.usage_plans)
    assert per_profile["champion"] / counts["champion"] > 2 * (
        per_profile["at_risk"] / counts["at_risk"]
    )
    assert any(n == 2 for n in insert_ids.values())  # a few deliberate duplicates
    assert list(iter_events(world, today)) == []  # nothing from today or later
    assert list(iter_events(world, today - timedelta(days=world.history_days + 1))) == []


def test_silent_accounts_used_the_product_before(world: World) -> None:
    silent = [p for p in world.usage_plans if p.profile == "silent"]
    assert silent and all(p.silent_since is not None for p in silent)
    earlier = NOW.date() - timedelta(days=60)
    domains = {p.domain for p in silent}
    seen = {
        e["properties"]["company_domain"]
        for back in range(0, 14)
        for e in iter_events(world, earlier - timedelta(days=back))
    }
    assert domains & seen


def test_world_does_not_depend_on_the_process_hash_seed() -> None:
    import subprocess
    import sys

    script = (
        "import hashlib, datetime as d;"
        "from csbridge_sandbox.world.build import build_world, iter_events;"
        "w = build_world(60, 5, d.datetime(2026, 3, 1, tzinfo=d.UTC));"
        "ev = list(iter_events(w, d.date(2026, 2, 20)));"
        "print(hashlib.sha256(repr((w.accounts, w.contacts, w.tickets, w.nps_answers, ev))"
        ".encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 65
