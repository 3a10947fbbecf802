"""Initial tables: runs, cursors, facts, score history, ledger, task keys, inbox, dead letters.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_accounts")),
    )
    op.create_index(op.f("ix_accounts_account_id"), "accounts", ["account_id"], unique=False)
    op.create_index(op.f("ix_accounts_domain"), "accounts", ["domain"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_contacts")),
    )
    op.create_index(op.f("ix_contacts_account_id"), "contacts", ["account_id"], unique=False)
    op.create_table(
        "cursors",
        sa.Column("stream", sa.String(length=128), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_cursors")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "opportunities",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_opportunities")),
    )
    op.create_index(
        op.f("ix_opportunities_account_id"), "opportunities", ["account_id"], unique=False
    )
    op.create_table(
        "owners",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_owners")),
    )
    op.create_index(op.f("ix_owners_account_id"), "owners", ["account_id"], unique=False)
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "score_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_hash", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=32), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_history")),
    )
    op.create_index(
        "ix_score_history_account_scored",
        "score_history",
        ["account_key", "scored_at"],
        unique=False,
    )
    op.create_table(
        "surveys",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_surveys")),
    )
    op.create_index(op.f("ix_surveys_account_id"), "surveys", ["account_id"], unique=False)
    op.create_index(
        "ix_surveys_account_responded", "surveys", ["account_id", "responded_at"], unique=False
    )
    op.create_table(
        "task_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_task_keys")),
    )
    op.create_table(
        "tickets",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_tickets")),
    )
    op.create_index(
        "ix_tickets_account_created", "tickets", ["account_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_tickets_account_id"), "tickets", ["account_id"], unique=False)
    op.create_table(
        "usage_days",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_usage_days")),
        sa.UniqueConstraint(
            "source", "account_id", "day", name=op.f("uq_usage_days_source_account_id_day")
        ),
    )
    op.create_index(op.f("ix_usage_days_account_id"), "usage_days", ["account_id"], unique=False)
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_inbox")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_webhook_inbox_source_event_id")),
    )
    op.create_index(op.f("ix_webhook_inbox_status"), "webhook_inbox", ["status"], unique=False)
    op.create_table(
        "write_ledger",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=255), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint(
            "target", "object_type", "record_id", "field", name=op.f("pk_write_ledger")
        ),
    )


def downgrade() -> None:
    op.drop_table("write_ledger")
    op.drop_index(op.f("ix_webhook_inbox_status"), table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
    op.drop_index(op.f("ix_usage_days_account_id"), table_name="usage_days")
    op.drop_table("usage_days")
    op.drop_index(op.f("ix_tickets_account_id"), table_name="tickets")
    op.drop_index("ix_tickets_account_created", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("task_keys")
    op.drop_index("ix_surveys_account_responded", table_name="surveys")
    op.drop_index(op.f("ix_surveys_account_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_score_history_account_scored", table_name="score_history")
    op.drop_table("score_history")
    op.drop_table("runs")
    op.drop_index(op.f("ix_owners_account_id"), table_name="owners")
    op.drop_table("owners")
    op.drop_index(op.f("ix_opportunities_account_id"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_table("dead_letters")
    op.drop_table("cursors")
    op.drop_index(op.f("ix_contacts_account_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index(op.f("ix_accounts_domain"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_account_id"), table_name="accounts")
    op.drop_table("accounts")
