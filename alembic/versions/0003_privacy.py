"""Privacy: a resident token expires after an idle time (conversations.last_active_at); a closed case becomes a
public precedent only after a mediator reviews it (precedents.status, the reviewer and when, why one was held).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("precedents") as batch:
        # Precedents stored before review existed were already public: they count as approved.
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="approved"))
        batch.add_column(sa.Column("reviewed_by", sa.Integer, nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("held_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("fields", sa.JSON, nullable=True))
    op.create_index("ix_precedents_status", "precedents", ["status"])


def downgrade() -> None:
    op.drop_index("ix_precedents_status", "precedents")
    with op.batch_alter_table("precedents") as batch:
        for name in ("fields", "held_reason", "reviewed_at", "reviewed_by", "status"):
            batch.drop_column(name)
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_active_at")
