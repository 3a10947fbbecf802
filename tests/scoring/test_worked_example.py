"""The seed's worked example (seed 000, "Calcul Exemple": Acme Corp)."""

import pytest

from csbridge.scoring import Engine, load_model

ACME = {
    "usage.dau_mau": 60,
    "usage.feature_adoption": 75,
    "usage.session_frequency": 70,
    "usage.time_in_product": 80,
    "engagement.email_open_rate": 85,
    "engagement.webinar_attendance": 50,
    "engagement.support_engagement": 70,
    "engagement.community_activity": 30,
    "satisfaction.nps": 50,
    "satisfaction.csat": 80,
    "satisfaction.support_tickets": 60,
    "growth.contract_growth": 50,
    "growth.user_expansion": 70,
    "growth.referrals": 0,
    "relationship.exec_sponsor": 90,
    "relationship.multi_threading": 100,
    "relationship.qbr_participation": 80,
}


def test_acme_corp_scores_64_attention():
    result = Engine(load_model("seed-5d")).score("acme", indicator_scores=ACME)
    dims = {d.name: d.score for d in result.dimensions}
    assert dims == {
        "usage": 70.25,
        "engagement": 61.5,
        "satisfaction": 62.0,
        "growth": 41.0,
        "relationship": 90.0,
    }
    assert result.score == 64.0
    assert result.status == "attention"
    assert result.coverage == 1.0


def test_acme_contributions_add_up_to_the_score():
    result = Engine(load_model("seed-5d")).score("acme", indicator_scores=ACME)
    contributions = {d.name: d.contribution for d in result.dimensions}
    assert contributions["growth"] == pytest.approx(6.15)
    assert contributions["relationship"] == pytest.approx(9.0)
    assert sum(contributions.values()) == pytest.approx(64.0, abs=0.02)


def test_acme_drivers_point_at_the_seed_recommendation():
    # The seed recommends focusing on growth (referrals) and engagement (community).
    result = Engine(load_model("seed-5d")).score("acme", indicator_scores=ACME)
    down = [d.indicator for d in result.drivers if d.direction == "down"]
    up = [d.indicator for d in result.drivers if d.direction == "up"]
    assert down[:2] == ["growth.referrals", "engagement.community_activity"]
    assert up[0] == "engagement.email_open_rate"
    # Impacts are weight x distance from the account's own score: referrals 0.15*0.3*(0-64).
    assert result.drivers[0].impact == pytest.approx(-2.88)
