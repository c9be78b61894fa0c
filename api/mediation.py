"""Who owns a conversation, and the handoff queue.

The state machine is `bot → waiting → mediator → bot | closed` (api.models.TRANSITIONS). A move is one conditional
UPDATE (`… WHERE mode = <expected>`), so two requests racing for the same move cannot both win, on SQLite or
PostgreSQL; the loser gets `Conflict`. Every move is stored (transitions table and audit log, with time and
actor) and shown to both sides as a system message. The transitions table and the audit log name the mediator by
username (`mediator:<username>`); what a resident can read (system messages, conversation events) names only the
kind of actor (`mediator`) and the display name.

Events are collected in an `Outbox` while the database transaction is open and published only after commit.
"""

from __future__ import annotations

import logging
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from api.db import get_existing
from api.events import MEDIATORS, EventBus, conversation_channel
from api.models import (
    BOT,
    CLOSED,
    H_ACTIVE,
    H_CLOSED,
    H_RELEASED,
    H_WAITING,
    MEDIATOR,
    TRANSITIONS,
    WAITING,
    AuditEntry,
    Conversation,
    Handoff,
    Mediator,
    Message,
    Transition,
    as_utc,
    utcnow,
)
from core.contracts import MAX_SUGGESTED, PRIORITY_RANK, REQUEST_HUMAN_PAYLOAD, HandoffPayload

log = logging.getLogger(__name__)

PRIORITIES = PRIORITY_RANK
WAIT_HISTORY = 20
WAIT_PER_PLACE_BOUNDS = (30, 3600)
HANDOFF_PAYLOAD = REQUEST_HUMAN_PAYLOAD


class Conflict(Exception):
    """The conversation or handoff is not in the state the request needs."""


@dataclass
class Outbox:
    """Events to publish once the transaction that caused them has committed."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queue_changed: bool = False

    def add(self, channel: str, event: dict[str, Any]) -> None:
        self.events.append((channel, event))


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def message_dict(m: Message) -> dict[str, Any]:
    payload = m.payload or {}
    out: dict[str, Any] = {
        "id": m.id,
        "sender": m.sender,
        "text": m.text,
        "created_at": iso(m.created_at),
        "citations": payload.get("citations", []),
        "buttons": payload.get("buttons", []),
        "client_id": m.client_id,
        "reply_to": m.reply_to,
    }
    if payload.get("mediator"):
        out["mediator"] = payload["mediator"]
    if payload.get("event"):
        out["event"] = _public_event(payload["event"])
    if payload.get("display"):
        out["display"] = payload["display"]
    return out


def actor_of(mediator: Mediator) -> str:
    return f"mediator:{mediator.username}"


def public_actor(actor: str | None) -> str | None:
    """The actor as a resident may see it: `mediator:<username>` becomes `mediator` (no login name)."""
    if actor and actor.startswith("mediator:"):
        return "mediator"
    return actor


def _public_event(event: Any) -> Any:
    """A stored system message's event without a login name (rows stored before names were kept out, too)."""
    mode = event.get("mode") if isinstance(event, dict) else None
    if isinstance(mode, dict) and public_actor(mode.get("actor")) != mode.get("actor"):
        return {**event, "mode": {**mode, "actor": public_actor(mode.get("actor"))}}
    return event


def audit(
    session: Session,
    actor: str,
    action: str,
    *,
    conversation_id: str | None = None,
    handoff_id: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            actor=actor, action=action, conversation_id=conversation_id, handoff_id=handoff_id, detail=detail
        )
    )


def add_message(
    session: Session,
    outbox: Outbox,
    conversation_id: str,
    sender: str,
    text: str,
    *,
    payload: dict[str, Any] | None = None,
    client_id: str | None = None,
    reply_to: int | None = None,
    mediator_id: int | None = None,
) -> Message:
    msg = Message(
        conversation_id=conversation_id,
        sender=sender,
        text=text,
        payload=payload or {},
        client_id=client_id,
        reply_to=reply_to,
        mediator_id=mediator_id,
    )
    session.add(msg)
    session.flush()  # the id, for the event
    outbox.add(
        conversation_channel(conversation_id),
        {"type": "message", "conversation_id": conversation_id, "message": message_dict(msg)},
    )
    return msg


def _updated(session: Session, statement: Update) -> CursorResult[Any]:
    """Run an UPDATE; its result is a CursorResult, whose rowcount says how many rows matched."""
    return cast(CursorResult[Any], session.execute(statement))


def transition(
    session: Session,
    outbox: Outbox,
    conversation: Conversation,
    to_mode: str,
    *,
    actor: str,
    reason: str | None,
    handoff_id: str | None,
    notice: str,
    mediator_name: str | None = None,
) -> None:
    """Move the conversation from its current mode to `to_mode`, or raise Conflict."""
    from_mode = conversation.mode
    if (from_mode, to_mode) not in TRANSITIONS:
        raise Conflict(f"a conversation cannot go from {from_mode} to {to_mode}")
    now = utcnow()
    result = _updated(
        session,
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.mode == from_mode)
        .values(mode=to_mode, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict(f"the conversation is no longer in mode {from_mode}")
    conversation.mode = to_mode
    session.add(
        Transition(
            conversation_id=conversation.id,
            from_mode=from_mode,
            to_mode=to_mode,
            actor=actor,
            reason=reason,
            handoff_id=handoff_id,
            at=now,
        )
    )
    audit(
        session,
        actor,
        "conversation.mode",
        conversation_id=conversation.id,
        handoff_id=handoff_id,
        **{"from": from_mode, "to": to_mode, "reason": reason},
    )
    # What the resident reads: the kind of actor and the display name, never the mediator's login name.
    shown = public_actor(actor)
    event = {"from": from_mode, "to": to_mode, "actor": shown, "reason": reason, "at": iso(now)}
    if mediator_name:
        event["mediator"] = mediator_name
    add_message(session, outbox, conversation.id, "system", notice, payload={"event": {"mode": event}})
    outbox.add(
        conversation_channel(conversation.id),
        {
            "type": "mode",
            "conversation_id": conversation.id,
            "mode": to_mode,
            "previous": from_mode,
            "actor": shown,
            "mediator": mediator_name,
            "at": iso(now),
        },
    )


# ------------------------------------------------------------------------------------------------------------------
# The queue


def waiting_queue(session: Session) -> list[Handoff]:
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status == H_WAITING)
            .order_by(Handoff.priority_rank, Handoff.created_at, Handoff.id)
        )
    )


def wait_per_place(session: Session, default_s: int) -> float:
    """Median time the last handoffs waited before a mediator claimed them; the default before any history."""
    rows = session.execute(
        select(Handoff.created_at, Handoff.claimed_at)
        .where(Handoff.claimed_at.is_not(None))
        .order_by(Handoff.claimed_at.desc())
        .limit(WAIT_HISTORY)
    ).all()
    waits = [(as_utc(claimed) - as_utc(created)).total_seconds() for created, claimed in rows]
    if not waits:
        return float(default_s)
    lo, hi = WAIT_PER_PLACE_BOUNDS
    return min(hi, max(lo, statistics.median(waits)))


def queue_positions(session: Session, default_wait_s: int) -> dict[str, dict[str, int]]:
    """conversation id → {"position", "estimated_wait_s"} for every waiting conversation."""
    per_place = wait_per_place(session, default_wait_s)
    return {
        h.conversation_id: {"position": i, "estimated_wait_s": int(round(per_place * i)), "waiting": i - 1}
        for i, h in enumerate(waiting_queue(session), 1)
    }


def wait_text(info: dict[str, int]) -> str:
    minutes = max(1, round(info["estimated_wait_s"] / 60))
    return f"您目前排在第 {info['position']} 位，预计等待约 {minutes} 分钟。"


def publish(bus: EventBus, session: Session, outbox: Outbox, default_wait_s: int) -> None:
    """Publish what the committed transaction caused; if the queue moved, everyone waiting hears their place."""
    for channel, event in outbox.events:
        bus.publish(channel, event)
    if outbox.queue_changed:
        positions = queue_positions(session, default_wait_s)
        for conversation_id, info in positions.items():
            bus.publish(
                conversation_channel(conversation_id),
                {"type": "queue", "conversation_id": conversation_id, **info},
            )
        bus.publish(MEDIATORS, {"type": "queue", "waiting": len(positions)})
    outbox.events.clear()
    outbox.queue_changed = False


@dataclass(frozen=True)
class Publisher:
    """`publish` with this gateway's bus and default wait per place in the queue."""

    bus: EventBus
    default_wait_s: int

    def __call__(self, session: Session, outbox: Outbox) -> None:
        publish(self.bus, session, outbox, self.default_wait_s)


# ------------------------------------------------------------------------------------------------------------------
# Handoffs


@dataclass
class HandoffRequest:
    reason: str
    priority: str = "normal"
    dispute_type: str | None = None
    summary: str = ""
    suggested_citations: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_bot(cls, raw: Any) -> HandoffRequest:
        """The bot's custom payload `{"handoff": {...}}` (core.contracts.HandoffPayload), cleaned."""
        payload = HandoffPayload.from_custom(raw)
        return cls(
            reason=payload.reason,
            priority=str(payload.priority),
            dispute_type=payload.dispute_type,
            summary=payload.summary,
            suggested_citations=payload.suggested_citations,
        )


BOT_HANDOFF_NOTICE = "已转入人民调解员接待队列。"


def open_handoff(
    session: Session,
    outbox: Outbox,
    conversation: Conversation,
    request: HandoffRequest,
    *,
    source: str,
    actor: str,
    default_wait_s: int,
) -> tuple[Handoff, dict[str, int]]:
    """bot → waiting with a new handoff record. Raises Conflict when the conversation is not bot-owned."""
    handoff_id = uuid.uuid4().hex
    # When the bot hands off, its own reply has just told the resident that a mediator is coming: the system
    # line then only records the state change instead of repeating that sentence.
    notice = (
        BOT_HANDOFF_NOTICE
        if source == "bot"
        else "正在为您转接人民调解员，请稍候。调解员接入后会在这里直接和您对话。"
    )
    transition(
        session,
        outbox,
        conversation,
        WAITING,
        actor=actor,
        reason=request.reason,
        handoff_id=handoff_id,
        notice=notice,
    )
    handoff = Handoff(
        id=handoff_id,
        conversation_id=conversation.id,
        status=H_WAITING,
        source=source,
        reason=request.reason,
        priority=request.priority,
        priority_rank=PRIORITIES[request.priority],
        dispute_type=request.dispute_type,
        summary=request.summary,
        suggested_citations=request.suggested_citations,
        created_at=utcnow(),
    )
    session.add(handoff)
    session.flush()
    audit(
        session,
        actor,
        "handoff.create",
        conversation_id=conversation.id,
        handoff_id=handoff_id,
        reason=request.reason,
        priority=request.priority,
        source=source,
    )
    info = queue_positions(session, default_wait_s).get(conversation.id) or {
        "position": 1,
        "estimated_wait_s": default_wait_s,
        "waiting": 0,
    }
    add_message(
        session, outbox, conversation.id, "system", wait_text(info), payload={"event": {"queue": info}}
    )
    outbox.add(
        MEDIATORS,
        {
            "type": "handoff",
            "action": "created",
            "handoff_id": handoff_id,
            "conversation_id": conversation.id,
            "priority": request.priority,
        },
    )
    outbox.queue_changed = True
    return handoff, info


def claim(session: Session, outbox: Outbox, handoff_id: str, mediator: Mediator) -> Handoff:
    """waiting → active for exactly one mediator: the UPDATE only matches while the handoff is still waiting."""
    now = utcnow()
    won = (
        _updated(
            session,
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == H_WAITING)
            .values(status=H_ACTIVE, mediator_id=mediator.id, claimed_at=now)
            .execution_options(synchronize_session=False),
        ).rowcount
        == 1
    )
    if not won:
        session.rollback()
        raise Conflict("this conversation has already been claimed or is no longer waiting")
    handoff = get_existing(session, Handoff, handoff_id, populate_existing=True)
    conversation = get_existing(session, Conversation, handoff.conversation_id, populate_existing=True)
    transition(
        session,
        outbox,
        conversation,
        MEDIATOR,
        actor=actor_of(mediator),
        reason="claim",
        handoff_id=handoff_id,
        mediator_name=mediator.display_name,
        notice=f"人民调解员{mediator.display_name}已接入，接下来由调解员为您服务。",
    )
    audit(
        session,
        actor_of(mediator),
        "handoff.claim",
        conversation_id=conversation.id,
        handoff_id=handoff_id,
        waited_s=round((now - as_utc(handoff.created_at)).total_seconds(), 1),
    )
    outbox.add(
        MEDIATORS,
        {
            "type": "handoff",
            "action": "claimed",
            "handoff_id": handoff_id,
            "conversation_id": conversation.id,
            "mediator": mediator.display_name,
        },
    )
    outbox.queue_changed = True
    return handoff


def release(session: Session, outbox: Outbox, handoff: Handoff, mediator: Mediator) -> None:
    """active → released; the conversation goes back to the bot."""
    require_active(handoff)
    conversation = get_existing(session, Conversation, handoff.conversation_id, populate_existing=True)
    transition(
        session,
        outbox,
        conversation,
        BOT,
        actor=actor_of(mediator),
        reason="release",
        handoff_id=handoff.id,
        mediator_name=mediator.display_name,
        notice=f"调解员{mediator.display_name}已将对话交回智能助手，您可以继续提问；需要时可再次转人工。",
    )
    _finish(session, handoff, H_RELEASED, released_at=utcnow())
    audit(
        session, actor_of(mediator), "handoff.release", conversation_id=conversation.id, handoff_id=handoff.id
    )
    outbox.add(
        MEDIATORS,
        {
            "type": "handoff",
            "action": "released",
            "handoff_id": handoff.id,
            "conversation_id": conversation.id,
        },
    )


def close(
    session: Session,
    outbox: Outbox,
    handoff: Handoff,
    mediator: Mediator,
    *,
    outcome: str,
    summary: str,
    follow_up_date: Any | None,
) -> None:
    """active → closed with the outcome record."""
    require_active(handoff)
    conversation = get_existing(session, Conversation, handoff.conversation_id, populate_existing=True)
    transition(
        session,
        outbox,
        conversation,
        CLOSED,
        actor=actor_of(mediator),
        reason="close",
        handoff_id=handoff.id,
        mediator_name=mediator.display_name,
        notice=f"调解员{mediator.display_name}已结束本次调解（结果：{outcome}）。感谢您的信任！"
        "如有新的问题，可以开始新的咨询。",
    )
    _finish(
        session,
        handoff,
        H_CLOSED,
        closed_at=utcnow(),
        outcome=outcome,
        outcome_summary=summary,
        follow_up_date=follow_up_date,
    )
    audit(
        session,
        actor_of(mediator),
        "handoff.close",
        conversation_id=conversation.id,
        handoff_id=handoff.id,
        outcome=outcome,
        follow_up_date=str(follow_up_date) if follow_up_date else None,
    )
    outbox.add(
        MEDIATORS,
        {"type": "handoff", "action": "closed", "handoff_id": handoff.id, "conversation_id": conversation.id},
    )


def require_active(handoff: Handoff) -> None:
    if handoff.status != H_ACTIVE:
        raise Conflict(f"this handoff is {handoff.status}, not active")


def _finish(session: Session, handoff: Handoff, status: str, **values: Any) -> None:
    result = _updated(
        session,
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == H_ACTIVE)
        .values(status=status, **values)
        .execution_options(synchronize_session=False),
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict("this handoff is no longer active")
    for key, value in {"status": status, **values}.items():
        setattr(handoff, key, value)


def open_handoff_of(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_((H_WAITING, H_ACTIVE))
        )
    )


# ------------------------------------------------------------------------------------------------------------------
# A handoff the resident asks for without the bot


def _is_payload(text: str) -> bool:
    return text.startswith("/")


def resident_request(session: Session, conversation: Conversation, reason: str) -> HandoffRequest:
    """A summary from what the resident said, and the statutes the bot already cited."""
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.id.desc())
            .limit(50)
        )
    )
    said = [m.text for m in reversed(messages) if m.sender == "resident" and not _is_payload(m.text)][-3:]
    summary = "居民直接申请人工调解。"
    if said:
        summary += "最近说过：" + "；".join(f"“{_quote(t)}”" for t in said) + "。"
    seen: set[tuple[Any, ...]] = set()
    citations: list[dict[str, Any]] = []
    dispute_type = None
    for m in reversed(messages):
        payload = m.payload or {}
        dispute_type = dispute_type or payload.get("dispute_type")
        for c in payload.get("citations") or []:
            key = (c.get("kind"), c.get("law") or c.get("title"), c.get("article_no"))
            if m.sender == "bot" and c.get("kind") == "statute" and key not in seen:
                seen.add(key)
                citations.append(c)
    return HandoffRequest(
        reason=reason,
        priority="normal",
        dispute_type=dispute_type,
        summary=summary,
        suggested_citations=citations[:MAX_SUGGESTED],
    )


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------------------------------
# What the console shows


def handoff_dict(h: Handoff, *, now: datetime | None = None, position: int | None = None) -> dict[str, Any]:
    now = now or utcnow()
    created = as_utc(h.created_at)
    end = (
        as_utc(h.claimed_at)
        if h.claimed_at
        else now
        if h.status == H_WAITING
        else as_utc(h.closed_at or h.released_at) or now
    )
    return {
        "id": h.id,
        "conversation_id": h.conversation_id,
        "status": h.status,
        "source": h.source,
        "reason": h.reason,
        "priority": h.priority,
        "dispute_type": h.dispute_type,
        "summary": h.summary,
        "suggested_citations": h.suggested_citations or [],
        "suggested_statutes": [
            c for c in h.suggested_citations or [] if c.get("kind", "statute") == "statute"
        ],
        "created_at": iso(created),
        "waiting_s": round(max(0.0, (end - created).total_seconds()), 1),
        "queue_position": position,
        "mediator": h.mediator.display_name if h.mediator else None,
        "mediator_username": h.mediator.username if h.mediator else None,
        "claimed_at": iso(h.claimed_at),
        "released_at": iso(h.released_at),
        "closed_at": iso(h.closed_at),
        "outcome": h.outcome,
        "outcome_summary": h.outcome_summary,
        "follow_up_date": h.follow_up_date.isoformat() if h.follow_up_date else None,
        "region": h.conversation.region if h.conversation else None,
    }
