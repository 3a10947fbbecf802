"""Score history and rule episodes: what one run leaves for the next.

- `score_history`: one row per account and run (score, the status written, coverage,
  the full result and the raw signals as JSON). The next run reads the status written
  last (the sticky band starts from it) and the score 30 days ago (the trend and the
  20-point-drop trigger); `history export` reads the signals.
- `rule_episodes`: the playbook states active after the run (rule → start date), so
  hysteresis holds between runs: an account hovering on a threshold keeps its episode,
  its tag and its one task.
- `episode_log`: every episode with the day it began and the day it ended (the run
  that no longer found it active), for the playbook outcomes of the reports.
- `platform_scores` (`csbridge.sync.platform_scores`): a CS platform's fresh score
  alert, which the rules read instead of csbridge's own score (`History.platform`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from csbridge.store.facts import as_utc
from csbridge.store.store import Store
from csbridge.store.tables import episode_log, rule_episodes, score_history
from csbridge.sync.platform_scores import PlatformScore, fresh_platform_scores

TREND_DAYS = 30
LOOKBACK_DAYS = 45  # history older than this is not read (the trend needs 30 days)
CHUNK = 500  # accounts saved per statement (and per `IN` list)


@dataclass(frozen=True)
class History:
    """What earlier runs say about one account."""

    previous_status: str | None = None
    score_30d_ago: float | None = None
    episodes: Mapping[str, date] = field(default_factory=dict)
    previous_score: float | None = None  # the latest score of an earlier (UTC) day
    previous_segment: str | None = None  # the segment of the latest score
    platform: PlatformScore | None = None  # a CS platform's fresh score alert, for the rules


@dataclass(frozen=True)
class HistoryEntry:
    """One account's outcome of this run, to be stored."""

    account_key: str
    score: float | None
    status: str | None
    coverage: float | None
    payload: dict[str, Any]
    episodes: Mapping[str, date]
    signals: Mapping[str, Any] | None = None  # the raw signals scored, kept for calibration
    model_hash: str | None = None  # the model that scored it, when not the run's default


def load_history(
    store: Store,
    now: datetime,
    only: Sequence[str] | None = None,
    *,
    hold: timedelta | None = None,
) -> dict[str, History]:
    """Every account's (or `only` these accounts') previous status, score 30 days ago
    and open episodes; with `hold`, its freshest CS-platform score alerted within it."""
    since = now - timedelta(days=LOOKBACK_DAYS)
    cutoff = now - timedelta(days=TREND_DAYS)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    latest: dict[str, tuple[datetime, str | None, str | None]] = {}
    older: dict[str, tuple[datetime, float | None]] = {}
    before: dict[str, tuple[datetime, float | None]] = {}
    scores = select(
        score_history.c.account_key,
        score_history.c.scored_at,
        score_history.c.score,
        score_history.c.band,
        score_history.c.payload["segment"].as_string(),
    ).where(score_history.c.scored_at >= since, score_history.c.scored_at <= now)
    started = select(rule_episodes.c.account_key, rule_episodes.c.rule, rule_episodes.c.started_on)
    if only is not None:
        scores = scores.where(score_history.c.account_key.in_(list(only)))
        started = started.where(rule_episodes.c.account_key.in_(list(only)))
    with store.engine.connect() as conn:
        rows = conn.execute(scores)
        for key, raw_at, score, band, segment in rows:
            at = as_utc(raw_at)
            assert at is not None
            if key not in latest or at > latest[key][0]:
                latest[key] = (at, band, segment)
            if at <= cutoff and (key not in older or at > older[key][0]):
                older[key] = (at, score)
            if at < today and (key not in before or at > before[key][0]):
                before[key] = (at, score)
        episodes: dict[str, dict[str, date]] = {}
        for key, rule, started_on in conn.execute(started):
            episodes.setdefault(key, {})[rule] = started_on
    platforms = {} if hold is None else fresh_platform_scores(store, now, hold, only)
    keys = set(latest) | set(older) | set(episodes) | set(platforms)
    return {
        key: History(
            previous_status=latest[key][1] if key in latest else None,
            score_30d_ago=older[key][1] if key in older else None,
            episodes=episodes.get(key, {}),
            previous_score=before[key][1] if key in before else None,
            previous_segment=latest[key][2] if key in latest else None,
            platform=platforms.get(key),
        )
        for key in keys
    }


def save_history(
    store: Store,
    entries: Iterable[HistoryEntry],
    now: datetime,
    *,
    model_hash: str,
    run_id: str | None = None,
) -> int:
    """Append this run's scores and replace each account's episodes, in one transaction.

    The entries (one per account) are taken `CHUNK` at a time, so a run's can stream
    in from its spool (`csbridge.sync.spool`) without all being held at once."""
    saved = 0
    with store.engine.begin() as conn:
        entries = iter(entries)
        while items := list(islice(entries, CHUNK)):
            _save_chunk(conn, items, now, model_hash, run_id)
            saved += len(items)
    return saved


def _save_chunk(
    conn: Connection,
    items: Sequence[HistoryEntry],
    now: datetime,
    model_hash: str,
    run_id: str | None,
) -> None:
    """`save_history` for a few accounts, in the caller's transaction."""
    conn.execute(
        insert(score_history),
        [
            {
                "account_key": e.account_key,
                "scored_at": now,
                "model_hash": e.model_hash or model_hash,
                "score": e.score,
                "band": e.status,
                "coverage": e.coverage,
                "run_id": run_id,
                "payload": e.payload,
                "signals": None if e.signals is None else dict(e.signals),
            }
            for e in items
        ],
    )
    _log_episodes(conn, items, now.date())
    conn.execute(
        delete(rule_episodes).where(rule_episodes.c.account_key.in_([e.account_key for e in items]))
    )
    episodes = [
        {"account_key": e.account_key, "rule": rule, "started_on": started, "updated_at": now}
        for e in items
        for rule, started in e.episodes.items()
    ]
    if episodes:
        conn.execute(insert(rule_episodes), episodes)


def _log_episodes(conn: Connection, items: Sequence[HistoryEntry], today: date) -> None:
    """Begin the log of each new episode of `items`; end those no longer active."""
    log = episode_log.c
    now_active = {(e.account_key, rule, start) for e in items for rule, start in e.episodes.items()}
    logged: set[tuple[str, str, date]] = set()
    running: set[tuple[str, str, date]] = set()
    query = select(log.account_key, log.rule, log.started_on, log.ended_on).where(
        log.account_key.in_([e.account_key for e in items])
    )
    for key, rule, started, ended in conn.execute(query):
        logged.add((key, rule, started))
        if ended is None:
            running.add((key, rule, started))
    for key, rule, started in sorted(running - now_active):
        conn.execute(
            update(episode_log)
            .where(and_(log.account_key == key, log.rule == rule, log.started_on == started))
            .values(ended_on=today)
        )
    new = sorted(now_active - logged)
    if new:
        conn.execute(
            insert(episode_log), [{"account_key": k, "rule": r, "started_on": s} for k, r, s in new]
        )
