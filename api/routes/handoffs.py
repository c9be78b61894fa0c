"""The mediators' side of a handoff: the queue, claim, live chat, hand back to the bot, close with an outcome."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import mediation
from api.deps import MediatorDep, MetricsDep, PublisherDep, RasaDep, SessionDep
from api.mediation import Conflict, Outbox
from api.models import H_ACTIVE, H_WAITING, ROLE_ADMIN, Handoff, Mediator, Message, Precedent, utcnow
from api.precedents import store_precedent
from api.rasa_client import RasaUnavailable
from api.routes.precedents import precedent_out
from api.schemas import (
    HandoffClosed,
    HandoffCloseIn,
    HandoffDetail,
    HandoffMessage,
    HandoffOut,
    HandoffReleased,
    HandoffStatus,
    MediatorMessageIn,
    MediatorMessageOut,
    PrecedentState,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])


def _get(session: Session, handoff_id: str) -> Handoff:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "handoff not found")
    return handoff


def _owned(session: Session, handoff_id: str, mediator: Mediator) -> Handoff:
    """An active handoff that this mediator claimed (administrators may act on any)."""
    handoff = _get(session, handoff_id)
    if handoff.status != H_ACTIVE:
        raise HTTPException(status.HTTP_409_CONFLICT, f"this handoff is {handoff.status}, not active")
    if handoff.mediator_id != mediator.id and mediator.role != ROLE_ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "another mediator has claimed this conversation")
    return handoff


@router.get("", response_model=list[HandoffOut])
def list_handoffs(
    mediator: MediatorDep,
    session: SessionDep,
    status_: Annotated[HandoffStatus, Query(alias="status")] = "waiting",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HandoffOut]:
    """Waiting: urgent first, then longest waiting. Others: most recent first."""
    if status_ == H_WAITING:
        rows = mediation.waiting_queue(session)[:limit]
        return [HandoffOut(**mediation.handoff_dict(h, position=i)) for i, h in enumerate(rows, 1)]
    order = {
        "active": Handoff.claimed_at.desc(),
        "released": Handoff.released_at.desc(),
        "closed": Handoff.closed_at.desc(),
    }[status_]
    found = session.scalars(select(Handoff).where(Handoff.status == status_).order_by(order).limit(limit))
    return [HandoffOut(**mediation.handoff_dict(h)) for h in found]


# response_model_exclude_unset: the keys a message or the handoff does not have stay out, as before.
@router.get("/{handoff_id}", response_model=HandoffDetail, response_model_exclude_unset=True)
def read_handoff(handoff_id: str, mediator: MediatorDep, session: SessionDep) -> HandoffDetail:
    """The handoff and the conversation's whole transcript, the bot's part included."""
    handoff = _get(session, handoff_id)
    messages = session.scalars(
        select(Message).where(Message.conversation_id == handoff.conversation_id).order_by(Message.id)
    )
    position = None
    if handoff.status == H_WAITING:
        position = next(
            (i for i, h in enumerate(mediation.waiting_queue(session), 1) if h.id == handoff.id), None
        )
    out = HandoffDetail(
        **mediation.handoff_dict(handoff, position=position),
        conversation_mode=handoff.conversation.mode,
        messages=[HandoffMessage(**mediation.message_dict(m)) for m in messages],
        mine=handoff.mediator_id == mediator.id,
    )
    precedent = session.scalar(select(Precedent).where(Precedent.handoff_id == handoff.id))
    if precedent is not None:
        out.precedent = PrecedentState(
            id=precedent.id,
            status=precedent.status,
            published=precedent.published_at is not None,
            error=precedent.error,
        )
    return out


@router.post("/{handoff_id}/claim", response_model=HandoffOut)
def claim_handoff(
    handoff_id: str, mediator: MediatorDep, session: SessionDep, metrics: MetricsDep, publish: PublisherDep
) -> HandoffOut:
    _get(session, handoff_id)
    outbox = Outbox()
    try:
        handoff = mediation.claim(session, outbox, handoff_id, mediator)
        session.commit()
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    claimed_at = mediation.as_utc(handoff.claimed_at)
    assert claimed_at is not None  # claim() has just set it
    metrics.handoff_wait.observe((claimed_at - mediation.as_utc(handoff.created_at)).total_seconds())
    publish(session, outbox)
    return HandoffOut(**mediation.handoff_dict(handoff))


@router.post(
    "/{handoff_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MediatorMessageOut,
    response_model_exclude_unset=True,
)
def mediator_message(
    handoff_id: str,
    body: MediatorMessageIn,
    mediator: MediatorDep,
    session: SessionDep,
    metrics: MetricsDep,
    publish: PublisherDep,
) -> MediatorMessageOut:
    handoff = _owned(session, handoff_id, mediator)
    if body.client_id:
        existing = session.scalar(
            select(Message).where(
                Message.conversation_id == handoff.conversation_id, Message.client_id == body.client_id
            )
        )
        if existing is not None:
            return MediatorMessageOut(**mediation.message_dict(existing), duplicate=True)
    outbox = Outbox()
    payload = {
        "mediator": mediator.display_name,
        "citations": [c.model_dump(exclude_none=True) for c in body.citations],
    }
    try:
        msg = mediation.add_message(
            session,
            outbox,
            handoff.conversation_id,
            "mediator",
            body.text,
            payload=payload,
            client_id=body.client_id,
            mediator_id=mediator.id,
        )
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "a message with this client_id already exists") from exc
    metrics.messages.labels("mediator").inc()
    publish(session, outbox)
    return MediatorMessageOut(**mediation.message_dict(msg))


@router.post("/{handoff_id}/release", response_model=HandoffReleased)
def release_handoff(
    handoff_id: str, mediator: MediatorDep, session: SessionDep, publish: PublisherDep, rasa: RasaDep
) -> HandoffReleased:
    """Back to the bot: the conversation is bot-owned again and Rasa gets the `resume` event."""
    handoff = _owned(session, handoff_id, mediator)
    outbox = Outbox()
    try:
        mediation.release(session, outbox, handoff, mediator)
        session.commit()
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    publish(session, outbox)
    resumed = True
    try:
        rasa.resume(handoff.conversation_id)
    except RasaUnavailable as exc:
        # The next resident message retries it (see conversations._ask_bot).
        resumed = False
        log.warning("conversation %s: resume not delivered to Rasa: %s", handoff.conversation_id, exc)
    mediation.audit(
        session,
        mediation.actor_of(mediator),
        "rasa.resume",
        conversation_id=handoff.conversation_id,
        handoff_id=handoff.id,
        delivered=resumed,
    )
    session.commit()
    return HandoffReleased(**mediation.handoff_dict(handoff), bot_resumed=resumed)


@router.post("/{handoff_id}/close", response_model=HandoffClosed)
def close_handoff(
    handoff_id: str,
    body: HandoffCloseIn,
    mediator: MediatorDep,
    session: SessionDep,
    publish: PublisherDep,
) -> HandoffClosed:
    """Closed with an outcome; the case, anonymised, becomes a precedent the knowledge base can search."""
    handoff = _owned(session, handoff_id, mediator)
    outbox = Outbox()
    try:
        mediation.close(
            session,
            outbox,
            handoff,
            mediator,
            outcome=body.outcome,
            summary=body.summary,
            follow_up_date=body.follow_up_date,
        )
        handoff.closed_at = handoff.closed_at or utcnow()
        precedent = store_precedent(session, handoff, body.facts)
        session.commit()
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    publish(session, outbox)
    # Not public yet: the mediator reviews the anonymised preview first (POST /api/precedents/{id}/approve).
    return HandoffClosed(**mediation.handoff_dict(handoff), precedent=precedent_out(precedent))
