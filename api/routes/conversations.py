"""Resident conversations: create, send a message, read the transcript, ask for a person."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import mediation
from api.deps import BusDep, ConversationDep, RasaDep, SessionDep
from api.events import conversation_channel
from api.mediation import Conflict, HandoffRequest, Outbox
from api.models import BOT, CLOSED, MEDIATOR, WAITING, Conversation, Handoff, Message, Transition, as_utc
from api.rasa_client import BotReply, RasaUnavailable
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    HandoffRequested,
    HandoffRequestIn,
    MessageIn,
    MessageReply,
    Reply,
)
from api.security import hash_token, new_conversation_id, new_token

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/conversations", tags=["conversations"])

OFFER_MEDIATOR = [{"title": "转人工调解员", "payload": mediation.HANDOFF_PAYLOAD}]
RASA_DOWN = ("抱歉，智能助手暂时无法回复（系统正在恢复）。您的消息已经保存，请稍后再发一次；"
             "着急的话可以点下面的“转人工调解员”，由人民调解员为您服务。")
ACTIONS_DOWN = ("抱歉，法律条文检索服务暂时出了故障，这条问题没能回答。您的消息已经保存，请稍后再问一次；"
                "着急的话可以点下面的“转人工调解员”，由人民调解员为您服务。")
NO_REPLY = "抱歉，我暂时没能回答这个问题。能否换个说法再问一次？"
BOT_DOWN_HANDOFF = "智能助手暂时无法回复，已直接为您转接人民调解员。"
CLOSED_DETAIL = "this conversation has been closed; start a new one"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationCreated)
def create_conversation(
    session: SessionDep, body: Annotated[ConversationCreate | None, Body()] = None
) -> ConversationCreated:
    token = new_token()
    conversation = Conversation(id=new_conversation_id(), token_hash=hash_token(token),
                                region=body.region if body else None)
    session.add(conversation)
    session.commit()
    return ConversationCreated(conversation_id=conversation.id, token=token)


def _queue_info(request: Request, session: Session, conversation: Conversation) -> dict[str, int] | None:
    if conversation.mode != WAITING:
        return None
    return mediation.queue_positions(session, request.app.state.settings.handoff_default_wait_s).get(conversation.id)


@router.get("/{conversation_id}", response_model=ConversationOut)
def read_conversation(request: Request, conversation: ConversationDep, session: SessionDep) -> ConversationOut:
    session.refresh(conversation)
    handoff = mediation.open_handoff_of(session, conversation.id)
    return ConversationOut(
        conversation_id=conversation.id,
        mode=conversation.mode,
        region=conversation.region,
        created_at=as_utc(conversation.created_at),
        messages=[mediation.message_dict(m) for m in conversation.messages],
        queue=_queue_info(request, session, conversation),
        mediator=handoff.mediator.display_name if handoff and handoff.mediator and conversation.mode == MEDIATOR
        else None,
    )


def _duplicate(session: Session, conversation: Conversation, resident: Message) -> MessageReply:
    """The answer to a message the server already has (a resend after a dropped connection)."""
    replies = session.scalars(select(Message).where(Message.conversation_id == conversation.id,
                                                    Message.reply_to == resident.id).order_by(Message.id))
    session.refresh(conversation)
    return MessageReply(mode=conversation.mode, replies=[_reply_of(m) for m in replies], message_id=resident.id,
                        client_id=resident.client_id, duplicate=True)


def _reply_of(m: Message) -> Reply:
    payload = m.payload or {}
    return Reply(text=m.text, citations=payload.get("citations", []), buttons=payload.get("buttons", []), id=m.id,
                 created_at=as_utc(m.created_at))


def _find_client_message(session: Session, conversation_id: str, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                Message.client_id == client_id))


@router.post("/{conversation_id}/messages", response_model=MessageReply)
def post_message(request: Request, body: MessageIn, conversation: ConversationDep, session: SessionDep,
                 rasa: RasaDep, bus: BusDep) -> MessageReply:
    state = request.app.state
    settings = state.settings
    existing = _find_client_message(session, conversation.id, body.client_id)
    if existing is not None:
        return _duplicate(session, conversation, existing)
    if conversation.mode == CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT, CLOSED_DETAIL)
    wait = state.message_limiter.hit(conversation.id)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many messages; at most {settings.message_rate_per_minute} a minute",
                            headers={"Retry-After": str(max(1, round(wait)))})

    # The resident's words are stored before anything else can fail.
    outbox = Outbox()
    payload: dict[str, Any] = {"display": body.display} if body.display else {}
    try:
        resident = mediation.add_message(session, outbox, conversation.id, "resident", body.text, payload=payload,
                                         client_id=body.client_id)
        session.commit()
    except IntegrityError:
        # The same client id sent twice at the same moment: the other request stored it.
        session.rollback()
        existing = _find_client_message(session, conversation.id, body.client_id)
        if existing is None:
            raise
        return _duplicate(session, conversation, existing)
    state.metrics.messages.labels("resident").inc()
    mediation.publish(bus, session, outbox, settings.handoff_default_wait_s)

    session.refresh(conversation)
    if conversation.mode != BOT:
        # A mediator owns the conversation (or the resident is waiting for one): Rasa never sees it.
        return MessageReply(mode=conversation.mode, replies=[], message_id=resident.id, client_id=body.client_id,
                            queue=_queue_info(request, session, conversation))

    bot_replies, bot_down = _ask_bot(request, session, conversation, body.text, bus)
    if bot_down and body.text == mediation.HANDOFF_PAYLOAD:
        # The resident pressed "转人工" while the bot is down: the gateway hands off by itself.
        return _handoff_without_bot(request, session, conversation, resident, bus)

    handoff_request: HandoffRequest | None = None
    replies: list[Reply] = []
    for reply in bot_replies:
        if "handoff" in reply.custom:
            handoff_request = HandoffRequest.from_bot(reply.custom["handoff"])
        custom = {k: v for k, v in reply.custom.items() if k != "handoff"}
        msg = mediation.add_message(session, outbox, conversation.id, "bot", reply.text,
                                    payload={"citations": reply.citations, "buttons": reply.buttons} | custom,
                                    reply_to=resident.id)
        replies.append(_reply_of(msg))
    session.commit()
    state.metrics.messages.labels("bot").inc(len(replies))
    mediation.publish(bus, session, outbox, settings.handoff_default_wait_s)

    queue = None
    if handoff_request is not None:
        queue = _open_handoff(request, session, conversation, handoff_request, source="bot", actor="bot", bus=bus)
    session.refresh(conversation)
    return MessageReply(mode=conversation.mode, replies=replies, message_id=resident.id, client_id=body.client_id,
                        queue=queue)


def _ask_bot(request: Request, session: Session, conversation: Conversation, text: str,
             bus: BusDep) -> tuple[list[BotReply], bool]:
    """Rasa's replies, or an apology that offers a mediator; the flag says the bot could not answer."""
    state = request.app.state
    rasa = state.rasa
    metadata = {"region": conversation.region} if conversation.region else {}
    channel = conversation_channel(conversation.id)
    bus.publish(channel, {"type": "typing", "conversation_id": conversation.id, "from": "bot", "typing": True})
    started = time.perf_counter()
    try:
        try:
            bot_replies = rasa.send(conversation.id, text, metadata)
            if not bot_replies and _was_handed_off(session, conversation.id) and rasa.action_server_healthy():
                # A paused tracker answers nothing: the resume after the last handback may have been lost.
                rasa.resume(conversation.id)
                bot_replies = rasa.send(conversation.id, text, metadata)
        except RasaUnavailable as exc:
            log.warning("conversation %s: %s", conversation.id, exc)
            return [BotReply(text=RASA_DOWN, buttons=list(OFFER_MEDIATOR), custom={"error": "rasa_unavailable"})], True
        finally:
            state.metrics.rasa_latency.observe(time.perf_counter() - started)
        if bot_replies:
            return bot_replies, False
        # Rasa answers with nothing when a custom action failed, most often because the action server is down.
        if rasa.action_server_healthy():
            return [BotReply(text=NO_REPLY, custom={"error": "no_reply"})], False
        log.warning("conversation %s: action server down", conversation.id)
        return [BotReply(text=ACTIONS_DOWN, buttons=list(OFFER_MEDIATOR),
                         custom={"error": "action_server_unavailable"})], True
    finally:
        bus.publish(channel, {"type": "typing", "conversation_id": conversation.id, "from": "bot", "typing": False})


def _was_handed_off(session: Session, conversation_id: str) -> bool:
    return session.scalar(select(Transition.id).where(Transition.conversation_id == conversation_id,
                                                      Transition.to_mode == BOT).limit(1)) is not None


def _open_handoff(request: Request, session: Session, conversation: Conversation, handoff_request: HandoffRequest,
                  *, source: str, actor: str, bus: BusDep) -> dict[str, int] | None:
    state = request.app.state
    outbox = Outbox()
    try:
        handoff, queue = mediation.open_handoff(session, outbox, conversation, handoff_request, source=source,
                                                actor=actor, default_wait_s=state.settings.handoff_default_wait_s)
        session.commit()
    except (Conflict, IntegrityError) as exc:
        # The conversation was handed off by another request in the meantime: that handoff stands.
        session.rollback()
        log.info("conversation %s: no second handoff (%s)", conversation.id, exc)
        session.refresh(conversation)
        return _queue_info(request, session, conversation)
    state.metrics.handoffs.labels(source, handoff.priority).inc()
    mediation.publish(bus, session, outbox, state.settings.handoff_default_wait_s)
    return queue


def _handoff_without_bot(request: Request, session: Session, conversation: Conversation, resident: Message,
                         bus: BusDep) -> MessageReply:
    outbox = Outbox()
    note = mediation.add_message(session, outbox, conversation.id, "bot", BOT_DOWN_HANDOFF,
                                 payload={"error": "rasa_unavailable"}, reply_to=resident.id)
    session.commit()
    mediation.publish(bus, session, outbox, request.app.state.settings.handoff_default_wait_s)
    queue = _open_handoff(request, session, conversation,
                          mediation.resident_request(session, conversation, "resident_request_bot_down"),
                          source="gateway", actor="resident", bus=bus)
    session.refresh(conversation)
    return MessageReply(mode=conversation.mode, replies=[_reply_of(note)], message_id=resident.id,
                        client_id=resident.client_id, queue=queue)


@router.post("/{conversation_id}/handoff", response_model=HandoffRequested,
             responses={200: {"description": "already waiting for or talking to a mediator"},
                        201: {"description": "handed off"}, 409: {"description": "conversation closed"}})
def request_mediator(request: Request, response: Response, conversation: ConversationDep, session: SessionDep,
                     rasa: RasaDep, bus: BusDep,
                     body: Annotated[HandoffRequestIn | None, Body()] = None) -> HandoffRequested:
    """The resident asks for a person directly (the widget's 找调解员 button): no bot involved."""
    session.refresh(conversation)
    if conversation.mode == CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT, CLOSED_DETAIL)
    if conversation.mode == BOT:
        reason = "resident_request"
        handoff_request = mediation.resident_request(session, conversation, reason)
        if body and body.reason:
            handoff_request.summary = f"居民说明：“{body.reason.strip()}”。" + handoff_request.summary
        _open_handoff(request, session, conversation, handoff_request, source="resident", actor="resident", bus=bus)
        session.refresh(conversation)
        created = conversation.mode == WAITING
        if created:
            try:
                rasa.pause(conversation.id)  # the bot stays quiet until a mediator hands back
            except RasaUnavailable as exc:  # harmless: while waiting nothing reaches Rasa anyway
                log.info("conversation %s: pause not sent (%s)", conversation.id, exc)
    else:
        created = False
    handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation.id)
                             .order_by(Handoff.created_at.desc()).limit(1))
    if handoff is None:  # pragma: no cover - a non-bot, non-closed conversation always has a handoff
        raise HTTPException(status.HTTP_409_CONFLICT, "no handoff could be made")
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return HandoffRequested(mode=conversation.mode, handoff_id=handoff.id, created=created,
                            queue=_queue_info(request, session, conversation))
