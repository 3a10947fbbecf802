"""A CS platform's score alerts round-trip through the store (SQLite and PostgreSQL): the
latest per platform is kept, and the history hands the rules the freshest one while it
holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from csbridge.store.store import Store, open_store
from csbridge.sync.history import load_history
from csbridge.sync.platform_scores import PlatformScore, save_platform_score

NOW = datetime(2026, 11, 23, 6, tzinfo=UTC)
HOLD = timedelta(days=14)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def alert(platform: str, score: float, days_ago: float, event: str) -> PlatformScore:
    return PlatformScore(platform, score, 75.0, NOW - timedelta(days=days_ago), event)


def test_a_newer_alert_replaces_the_platforms_last_and_an_older_one_does_not(
    store: Store,
) -> None:
    assert save_platform_score(store, "acme.com", alert("gainsight", 35.0, 3, "gs-1"))
    assert save_platform_score(store, "acme.com", alert("gainsight", 42.0, 1, "gs-2"))
    assert not save_platform_score(store, "acme.com", alert("gainsight", 20.0, 2, "gs-late"))
    held = load_history(store, NOW, hold=HOLD)["acme.com"].platform
    assert held is not None and (held.score, held.event_id) == (42.0, "gs-2")
    assert held.alerted_at == NOW - timedelta(days=1) and held.previous_score == 75.0


def test_the_freshest_platform_holds_only_within_the_window(store: Store) -> None:
    save_platform_score(store, "acme.com", alert("gainsight", 35.0, 5, "gs-1"))
    save_platform_score(store, "acme.com", alert("churnzero", 48.0, 2, "cz-1"))
    save_platform_score(store, "globex.com", alert("gainsight", 30.0, 15, "gs-old"))
    history = load_history(store, NOW, hold=HOLD)
    fresh = history["acme.com"].platform
    assert fresh is not None and fresh.platform == "churnzero"
    assert "globex.com" not in history  # 15 days old: the run's own rules decide
    later = load_history(store, NOW + timedelta(days=10), hold=HOLD)["acme.com"].platform
    assert later is not None and later.platform == "churnzero"  # 12 days old: still holds
    assert "acme.com" not in load_history(store, NOW + timedelta(days=13), hold=HOLD)
    assert "acme.com" not in load_history(store, NOW, hold=timedelta(days=1))
    assert "acme.com" not in load_history(store, NOW)  # without a hold: not read
    before = load_history(store, NOW - timedelta(days=4), hold=HOLD)["acme.com"].platform
    assert before is not None and before.platform == "gainsight"  # churnzero: not yet then
