"""Score history and rule episodes round-trip through the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from csbridge.store.store import Store, open_store
from csbridge.sync.history import HistoryEntry, load_history, save_history

NOW = datetime(2026, 11, 23, 6, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def entry(key: str, score: float, status: str, **episodes: date) -> HistoryEntry:
    return HistoryEntry(key, score, status, 0.8, {"score": score}, episodes)


def test_previous_status_score_30_days_ago_and_episodes(store: Store) -> None:
    started = date(2026, 10, 20)
    save_history(store, [entry("a", 72.0, "healthy")], NOW - timedelta(days=40), model_hash="m")
    save_history(store, [entry("a", 70.0, "attention")], NOW - timedelta(days=31), model_hash="m")
    save_history(
        store,
        [entry("a", 55.0, "critical", churn_risk=started)],
        NOW - timedelta(days=1),
        model_hash="m",
    )
    save_history(store, [entry("b", 90.0, "healthy")], NOW - timedelta(days=2), model_hash="m")
    history = load_history(store, NOW)
    assert history["a"].previous_status == "critical"
    assert history["a"].score_30d_ago == 70.0  # the latest at least 30 days old
    assert history["a"].episodes == {"churn_risk": started}
    assert history["b"].score_30d_ago is None and history["b"].episodes == {}
    # a run replaces each account's episodes: a closed episode disappears
    save_history(store, [entry("a", 70.0, "attention")], NOW, model_hash="m")
    assert load_history(store, NOW + timedelta(hours=1))["a"].episodes == {}


def test_history_older_than_the_lookback_is_not_read(store: Store) -> None:
    save_history(store, [entry("a", 60.0, "attention")], NOW - timedelta(days=60), model_hash="m")
    assert "a" not in load_history(store, NOW)


def test_the_episode_log_keeps_each_episode_with_its_end(store: Store) -> None:
    from sqlalchemy import select

    from csbridge.store.tables import episode_log

    first, second = date(2026, 11, 1), date(2026, 11, 20)
    days = [
        (NOW - timedelta(days=22), {"churn_risk": first, "silent": first}),
        (NOW - timedelta(days=21), {"churn_risk": first, "silent": first}),  # runs on
        (NOW - timedelta(days=10), {"silent": first}),  # churn risk ended
        (NOW - timedelta(days=3), {"silent": first, "churn_risk": second}),  # a new one
    ]
    for at, episodes in days:
        save_history(store, [entry("a", 50.0, "critical", **episodes)], at, model_hash="m")
    save_history(store, [entry("b", 90.0, "healthy")], NOW, model_hash="m")  # another account
    log = episode_log.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(log.rule, log.started_on, log.ended_on).order_by(log.rule, log.started_on)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("churn_risk", first, (NOW - timedelta(days=10)).date()),
        ("churn_risk", second, None),
        ("silent", first, None),
    ]


def test_a_run_of_many_accounts_is_saved_from_its_spool_chunk_by_chunk(store: Store) -> None:
    from sqlalchemy import func, select

    from csbridge.store.tables import episode_log, rule_episodes, score_history
    from csbridge.sync.history import CHUNK
    from csbridge.sync.spool import Spool

    keys = [f"acct-{n:04d}" for n in range(CHUNK * 2 + 201)]  # three chunks
    started, later = date(2026, 11, 1), date(2026, 11, 22)
    earlier = [entry(k, 40.0, "critical", silent=started) for k in keys]
    assert save_history(store, earlier, NOW - timedelta(days=1), model_hash="m") == len(keys)
    # the next run: even accounts keep their episode, odd ones end it and begin another
    spool: Spool[HistoryEntry] = Spool()
    try:
        for at in range(0, len(keys), 7):  # as `csbridge run` adds its batches
            spool.add(
                [
                    entry(k, 45.0, "critical", silent=started)
                    if n % 2 == 0
                    else entry(k, 45.0, "critical", churn_risk=later)
                    for n, k in enumerate(keys[at : at + 7], start=at)
                ]
            )
        assert [e.account_key for e in spool] == keys  # in order, and readable twice
        assert save_history(store, spool, NOW, model_hash="m") == len(keys)
    finally:
        spool.close()
    log = episode_log.c
    with store.engine.connect() as conn:
        scores = conn.execute(select(func.count()).select_from(score_history)).scalar_one()
        active = conn.execute(select(rule_episodes.c.account_key, rule_episodes.c.rule)).all()
        rows = conn.execute(select(log.account_key, log.rule, log.ended_on)).all()
    assert scores == 2 * len(keys)
    assert sorted(active) == [
        (k, "silent" if n % 2 == 0 else "churn_risk") for n, k in enumerate(keys)
    ]
    ended = NOW.date()
    assert sorted(rows) == sorted(
        [(k, "silent", None if n % 2 == 0 else ended) for n, k in enumerate(keys)]
        + [(k, "churn_risk", None) for n, k in enumerate(keys) if n % 2]
    )
    history = load_history(store, NOW + timedelta(hours=1))
    assert history[keys[-1]].episodes == {"silent": started}
    assert history[keys[-2]].episodes == {"churn_risk": later}
