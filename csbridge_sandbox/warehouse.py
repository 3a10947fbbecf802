"""The sandbox's Mixpanel events as a warehouse table, and the SQL that aggregates them.

A company with a warehouse keeps raw product events in a table and lets the warehouse
fold them into daily usage. `load_events` writes the seeded world's events (the same
ones the Mixpanel emulator exports, duplicates included) into `events` on any
SQLAlchemy URL; `USAGE_SQL` is the query a `sources.warehouse` config runs against it:
per account and UTC day, distinct users, sessions (30-minute gaps, as the Mixpanel
fold counts them), distinct events and the last event, incremental by day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)

from csbridge_sandbox.world.model import World
from csbridge_sandbox.world.usage import iter_events_between

BATCH = 5_000
metadata = MetaData()
events = Table(
    "events",
    metadata,
    Column("account", String(255), nullable=False),
    Column("day", Date, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("insert_id", String(64), nullable=False),
    Column("event", String(255), nullable=False),
)

USAGE_SQL = """
WITH e AS (
  SELECT account, day, user_id, insert_id, ts,
         CASE WHEN ts - lag(ts) OVER (PARTITION BY account, day, user_id ORDER BY ts) <= 1800
              THEN 0 ELSE 1 END AS starts
  FROM events
  WHERE day >= :watermark
)
SELECT account, day,
       count(DISTINCT user_id) AS active_users,
       sum(starts) AS sessions,
       count(DISTINCT insert_id) AS events,
       to_timestamp(max(ts)) AS last_event_at
FROM e
GROUP BY account, day
ORDER BY day
"""


def load_events(url: str, world: World, first: date, last: date) -> int:
    """Create `events` at `url` (if absent) and insert the world's events of [first, last]."""
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        count = 0
        with engine.begin() as connection:
            rows: list[dict[str, object]] = []
            for event in iter_events_between(world, first, last):
                props = event["properties"]
                rows.append(
                    {
                        "account": props["company_domain"],
                        "day": datetime.fromtimestamp(props["time"], UTC).date(),
                        "ts": props["time"],
                        "user_id": props["distinct_id"],
                        "insert_id": props["$insert_id"],
                        "event": event["event"],
                    }
                )
                if len(rows) >= BATCH:
                    connection.execute(insert(events), rows)
                    count += len(rows)
                    rows = []
            if rows:
                connection.execute(insert(events), rows)
                count += len(rows)
        return count
    finally:
        engine.dispose()
