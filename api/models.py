"""Tables of the gateway. The schema is owned by the Alembic migrations under alembic/versions; these classes
must match them (tests/api/test_migrations.py compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base

# Conversation modes: who owns the conversation.
BOT, WAITING, MEDIATOR, CLOSED = "bot", "waiting", "mediator", "closed"
MODES = (BOT, WAITING, MEDIATOR, CLOSED)
# The only moves the state machine allows: bot → waiting → mediator → bot | closed.
TRANSITIONS = {(BOT, WAITING), (WAITING, MEDIATOR), (MEDIATOR, BOT), (MEDIATOR, CLOSED)}

# Handoff status: waiting in the queue, claimed by a mediator, handed back to the bot, closed with an outcome.
H_WAITING, H_ACTIVE, H_RELEASED, H_CLOSED = "waiting", "active", "released", "closed"
OPEN_HANDOFF = (H_WAITING, H_ACTIVE)

ROLE_MEDIATOR, ROLE_ADMIN = "mediator", "admin"
OUTCOMES = ("调解成功", "部分达成", "未达成", "转诉讼", "其他")


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), default=BOT)  # bot | waiting | mediator | closed
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The resident's last request with this conversation's token: the token expires after an idle time.
    last_active_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A resident's client-generated id makes a resend idempotent.
        Index("uq_messages_client_id", "conversation_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(16))  # resident | bot | mediator | system
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_to: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # the resident message a bot reply answers
    mediator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Mediator(Base):
    __tablename__ = "mediators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_MEDIATOR)  # mediator | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MediatorSession(Base):
    """A login token (only its SHA-256 is stored) and when it stops working."""

    __tablename__ = "mediator_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    mediator: Mapped[Mediator] = relationship()


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open handoff per conversation, enforced by the database itself.
        Index(
            "uq_handoffs_open_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'active')"),
            postgresql_where=text("status IN ('waiting', 'active')"),
        ),
        Index("ix_handoffs_status_priority", "status", "priority_rank", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=H_WAITING)
    source: Mapped[str] = mapped_column(String(16))  # bot | resident | gateway
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))  # urgent | normal
    priority_rank: Mapped[int] = mapped_column(Integer)  # 0 urgent, 1 normal: sorts the queue
    dispute_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    suggested_citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediators.id"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outcome_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_up_date: Mapped[Any | None] = mapped_column(Date, nullable=True)

    conversation: Mapped[Conversation] = relationship()
    mediator: Mapped[Mediator | None] = relationship()


class Transition(Base):
    """Every change of a conversation's owner, with when and who."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    from_mode: Mapped[str] = mapped_column(String(16))
    to_mode: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(80))  # bot | resident | gateway | mediator:<username>
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    handoff_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    handoff_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# Precedent review: a draft waits for a mediator; held means the anonymiser found a residual identifier and the
# text must be edited before it can be approved; approved is public (and goes to the knowledge base).
P_DRAFT, P_HELD, P_APPROVED, P_REJECTED = "draft", "held", "approved", "rejected"


class Precedent(Base):
    """A closed case, anonymised, its review, and whether the knowledge base has taken it in yet."""

    __tablename__ = "precedents"
    __table_args__ = (Index("ix_precedents_status", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id"), unique=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=P_DRAFT, server_default="approved")
    reviewed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    held_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the reviewer sees and edits (dispute type, facts, outcome, agreement, statutes), already anonymised;
    # `record` is built from it.
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
