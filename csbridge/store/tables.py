"""SQLAlchemy Core tables: the whole durable state of csbridge.

Facts keep the canonical record as JSON (`payload`) plus the few columns that are
queried or indexed; the natural key is (source, id), so a re-read upserts instead of
duplicating. Migrations in `csbridge/store/migrations/versions/` must match these
definitions (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UTCDateTime = DateTime(timezone=True)


def _fact_table(name: str, *extra: Column[object]) -> Table:
    """A fact table: (source, id) primary key, account link, last-modified, tombstone, JSON."""
    return Table(
        name,
        metadata,
        Column("source", String(32), primary_key=True),
        Column("id", String(255), primary_key=True),
        Column("account_id", String(255), nullable=True, index=True),
        Column("updated_at", UTCDateTime, nullable=True),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("payload", JSON, nullable=False),
        Column("stored_at", UTCDateTime, nullable=False),
        *extra,
    )


runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("command", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(32), nullable=False),
    Column("report", JSON, nullable=True),
)

cursors = Table(
    "cursors",
    metadata,
    Column("stream", String(128), primary_key=True),
    Column("token", Text, nullable=True),
    Column("watermark", UTCDateTime, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

accounts = _fact_table(
    "accounts",
    Column("name", String(512), nullable=True),
    Column("domain", String(255), nullable=True, index=True),
    Column("external_id", String(255), nullable=True),
)
contacts = _fact_table("contacts", Column("email", String(320), nullable=True))
opportunities = _fact_table(
    "opportunities",
    Column("kind", String(32), nullable=True),
    Column("close_date", Date, nullable=True),
)
tickets = _fact_table(
    "tickets",
    Column("created_at", UTCDateTime, nullable=True),
    Column("status", String(32), nullable=True),
    Column("priority", String(16), nullable=True),
)
surveys = _fact_table(
    "surveys",
    Column("kind", String(8), nullable=False),
    Column("score", Float, nullable=True),
    Column("responded_at", UTCDateTime, nullable=True),
)
usage_days = _fact_table("usage_days", Column("day", Date, nullable=False))
indicator_values = _fact_table(
    "indicator_values",
    Column("indicator", String(128), nullable=False),
    Column("as_of", UTCDateTime, nullable=True),  # dated values are history (0011)
)
owners = _fact_table("owners", Column("email", String(320), nullable=True))
activities = _fact_table(
    "activities",
    Column("kind", String(16), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=True),
)

Index("ix_tickets_account_created", tickets.c.account_id, tickets.c.created_at)
Index("ix_surveys_account_responded", surveys.c.account_id, surveys.c.responded_at)
Index("ix_activities_account_occurred", activities.c.account_id, activities.c.occurred_at)
UniqueConstraint(usage_days.c.source, usage_days.c.account_id, usage_days.c.day)

score_history = Table(
    "score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_key", String(255), nullable=False),
    Column("scored_at", UTCDateTime, nullable=False),
    Column("model_hash", String(64), nullable=False),
    Column("score", Float, nullable=True),
    Column("band", String(32), nullable=True),
    Column("coverage", Float, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("signals", JSON, nullable=True),  # the raw signals scored, for `history export`
    Index("ix_score_history_account_scored", "account_key", "scored_at"),
)

write_ledger = Table(
    "write_ledger",
    metadata,
    Column("target", String(32), primary_key=True),
    Column("object_type", String(64), primary_key=True),
    Column("record_id", String(255), primary_key=True),
    Column("field", String(255), primary_key=True),
    Column("value", JSON, nullable=True),
    Column("written_at", UTCDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
)

task_keys = Table(
    "task_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("target", String(32), primary_key=True),
    Column("task_id", String(255), nullable=True),
    Column("status", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("error", Text, nullable=True),
)

rule_episodes = Table(
    "rule_episodes",
    metadata,
    Column("account_key", String(255), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("started_on", Date, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

task_queue = Table(  # csbridge.sync.budget: every task the daily budget let through or held
    "task_queue",
    metadata,
    Column("target", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("owner_id", String(255), nullable=True),
    Column("status", String(16), nullable=False),  # released | deferred | skipped
    Column("task", JSON, nullable=False),
    Column("queued_on", Date, nullable=False),
    Column("released_on", Date, nullable=True),
    Index("ix_task_queue_target_status", "target", "status"),
)

# a CS platform's latest health-score alert per customer: the rules read its score while
# it is fresh (`webhooks.alert_hold_days`), so a run and the alert's reaction agree
platform_scores = Table(
    "platform_scores",
    metadata,
    Column("account_key", String(255), primary_key=True),
    Column("platform", String(64), primary_key=True),
    Column("score", Float, nullable=False),
    Column("previous_score", Float, nullable=True),
    Column("alerted_at", UTCDateTime, nullable=False),
    Column("event_id", String(255), nullable=False),
)


task_outcomes = Table(  # csbridge.sync.task_readback: csbridge's tasks completed in a CRM
    "task_outcomes",
    metadata,
    Column("target", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("task_id", String(255), nullable=False),
    Column("completed_by", String(255), nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    # completed (by a CSM, read back) | closed / cancelled (by csbridge: its episode ended)
    Column("outcome", String(16), nullable=False, server_default="completed"),
)

episode_log = Table(  # csbridge.sync.history: every playbook episode, when it began and ended
    "episode_log",
    metadata,
    Column("account_key", String(255), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("started_on", Date, primary_key=True),
    Column("ended_on", Date, nullable=True),
)

webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("headers", JSON, nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("source", "event_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

FACT_TABLES: dict[str, Table] = {
    "accounts": accounts,
    "contacts": contacts,
    "opportunities": opportunities,
    "tickets": tickets,
    "surveys": surveys,
    "usage_days": usage_days,
    "owners": owners,
    "activities": activities,
    "indicator_values": indicator_values,
}
