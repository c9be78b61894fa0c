"""Resident conversations: create, send a message, read the transcript, ask for a person.

Besides the limit per conversation, each client address (api/limits.py: the peer, or X-Forwarded-For from a
trusted proxy) has limits of its own, counted by every gateway together through Redis: conversations it starts,
messages it sends over all its conversations (so starting more conversations does not multiply its rate), and
requests for a mediator (this route and the 转人工 payload, when they would open a handoff). Over a limit: 429
with Retry-After and a detail in Chinese and English, and nothing is stored.

The resident's token stops working after `resident_token_idle_s` without a request (401, "conversation
expired"; api/deps.py): the widget then starts a new conversation.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from sqlalchemy import select

from api import mediation
from api.deps import (
    ClientLimitsDep,
    ConversationDep,
    ConversationRefDep,
    MessageFlowDep,
    MetricsDep,
    PublisherDep,
    RasaDep,
    SessionDep,
    SettingsDep,
)
from api.limits import client_address, too_many
from api.messaging import CLOSED_DETAIL, HANDOFF_LIMIT_ZH, handoff_limit_en, open_handoff, queue_info
from api.models import BOT, CLOSED, MEDIATOR, WAITING, Conversation, Handoff, as_utc
from api.rasa_client import RasaUnavailable
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    HandoffRequested,
    HandoffRequestIn,
    MessageIn,
    MessageReply,
    TranscriptMessage,
)
from api.security import hash_token, new_conversation_id, new_token
from core.contracts import HandoffReason

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationCreated,
    responses={429: {"description": "too many new conversations from this address"}},
)
def create_conversation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: ClientLimitsDep,
    body: Annotated[ConversationCreate | None, Body()] = None,
) -> ConversationCreated:
    wait = limits["conversations"].hit(client_address(request))
    if wait:
        raise too_many(
            wait,
            "新开咨询太频繁，",
            "Too many new conversations from this address (at most "
            f"{settings.client_conversations_per_10_min} in 10 minutes)",
        )
    token = new_token()
    conversation = Conversation(
        id=new_conversation_id(), token_hash=hash_token(token), region=body.region if body else None
    )
    session.add(conversation)
    session.commit()
    return ConversationCreated(conversation_id=conversation.id, token=token)


@router.get("/{conversation_id}", response_model=ConversationOut)
def read_conversation(
    conversation: ConversationDep, session: SessionDep, settings: SettingsDep
) -> ConversationOut:
    session.refresh(conversation)
    handoff = mediation.open_handoff_of(session, conversation.id)
    return ConversationOut(
        conversation_id=conversation.id,
        mode=conversation.mode,
        region=conversation.region,
        created_at=as_utc(conversation.created_at),
        messages=[TranscriptMessage.model_validate(mediation.message_dict(m)) for m in conversation.messages],
        queue=queue_info(session, conversation, settings.handoff_default_wait_s),
        mediator=handoff.mediator.display_name
        if handoff and handoff.mediator and conversation.mode == MEDIATOR
        else None,
    )


@router.post(
    "/{conversation_id}/messages",
    response_model=MessageReply,
    responses={
        409: {"description": "conversation closed"},
        429: {"description": "too many messages (this conversation, or this address)"},
        503: {
            "description": "the gateway is at its bound: not stored, send it again after "
            "Retry-After seconds (same client_id)"
        },
    },
)
async def post_message(
    request: Request, body: MessageIn, conversation: ConversationRefDep, flow: MessageFlowDep
) -> MessageReply:
    return await flow.post(conversation, body, client=client_address(request))


@router.post(
    "/{conversation_id}/handoff",
    response_model=HandoffRequested,
    responses={
        200: {"description": "already waiting for or talking to a mediator"},
        201: {"description": "handed off"},
        409: {"description": "conversation closed"},
        429: {"description": "too many requests for a mediator from this address"},
    },
)
def request_mediator(
    request: Request,
    response: Response,
    conversation: ConversationDep,
    session: SessionDep,
    rasa: RasaDep,
    settings: SettingsDep,
    limits: ClientLimitsDep,
    metrics: MetricsDep,
    publish: PublisherDep,
    body: Annotated[HandoffRequestIn | None, Body()] = None,
) -> HandoffRequested:
    """The resident asks for a person directly (the widget's 找调解员 button): no bot involved."""
    session.refresh(conversation)
    if conversation.mode == CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT, CLOSED_DETAIL)
    if conversation.mode == BOT:
        wait = limits["handoffs"].hit(client_address(request))
        if wait:
            raise too_many(wait, HANDOFF_LIMIT_ZH, handoff_limit_en(settings))
        reason = HandoffReason.RESIDENT_REQUEST
        handoff_request = mediation.resident_request(session, conversation, reason)
        if body and body.reason:
            handoff_request.summary = f"居民说明：“{body.reason.strip()}”。" + handoff_request.summary
        open_handoff(
            publish, metrics, session, conversation, handoff_request, source="resident", actor="resident"
        )
        session.refresh(conversation)
        created = conversation.mode == WAITING
        if created:
            try:
                rasa.pause(conversation.id)  # the bot stays quiet until a mediator hands back
            except RasaUnavailable as exc:  # harmless: while waiting nothing reaches Rasa anyway
                log.info("conversation %s: pause not sent (%s)", conversation.id, exc)
    else:
        created = False
    handoff = session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation.id)
        .order_by(Handoff.created_at.desc())
        .limit(1)
    )
    if handoff is None:  # pragma: no cover - a non-bot, non-closed conversation always has a handoff
        raise HTTPException(status.HTTP_409_CONFLICT, "no handoff could be made")
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return HandoffRequested(
        mode=conversation.mode,
        handoff_id=handoff.id,
        created=created,
        queue=queue_info(session, conversation, settings.handoff_default_wait_s),
    )
