"""Mediation: mediators and their login tokens, handoffs, owner transitions, audit log, closed-case precedents;
idempotent resident messages (client ids).

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-29
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'active')")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.Integer, nullable=True))
        batch.add_column(sa.Column("mediator_id", sa.Integer, nullable=True))
    op.create_index("uq_messages_client_id", "messages", ["conversation_id", "client_id"], unique=True)

    op.create_table(
        "mediators",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mediator_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "mediator_id", sa.Integer, sa.ForeignKey("mediators.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_mediator_sessions_mediator_id", "mediator_sessions", ["mediator_id"])

    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rank", sa.Integer, nullable=False),
        sa.Column("dispute_type", sa.String(64), nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("suggested_citations", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mediator_id", sa.Integer, sa.ForeignKey("mediators.id"), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_summary", sa.Text, nullable=True),
        sa.Column("follow_up_date", sa.Date, nullable=True),
    )
    op.create_index("ix_handoffs_conversation_id", "handoffs", ["conversation_id"])
    op.create_index("ix_handoffs_status_priority", "handoffs", ["status", "priority_rank", "created_at"])
    op.create_index(
        "uq_handoffs_open_per_conversation",
        "handoffs",
        ["conversation_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_mode", sa.String(16), nullable=False),
        sa.Column("to_mode", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("handoff_id", sa.String(32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_transitions_conversation_id", "transitions", ["conversation_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=True),
        sa.Column("handoff_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_conversation_id", "audit_log", ["conversation_id"])

    op.create_table(
        "precedents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("handoff_id", sa.String(32), sa.ForeignKey("handoffs.id"), nullable=False, unique=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("precedents")
    op.drop_index("ix_audit_log_conversation_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_transitions_conversation_id", table_name="transitions")
    op.drop_table("transitions")
    op.drop_index("uq_handoffs_open_per_conversation", table_name="handoffs")
    op.drop_index("ix_handoffs_status_priority", table_name="handoffs")
    op.drop_index("ix_handoffs_conversation_id", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_index("ix_mediator_sessions_mediator_id", table_name="mediator_sessions")
    op.drop_table("mediator_sessions")
    op.drop_table("mediators")
    op.drop_index("uq_messages_client_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("mediator_id")
        batch.drop_column("reply_to")
        batch.drop_column("client_id")
