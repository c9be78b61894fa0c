"""Resident conversations: create, send a message, read the transcript."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, status

from api.deps import ConversationDep, RasaDep, SessionDep
from api.models import Conversation, Message
from api.rasa_client import BotReply, RasaUnavailable
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    MessageIn,
    MessageReply,
    Reply,
)
from api.security import hash_token, new_conversation_id, new_token

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/conversations", tags=["conversations"])

RASA_DOWN = "抱歉，智能助手暂时无法回复（系统正在恢复）。您的消息已经保存，请稍后再发一次；着急的话可以输入“转人工”联系调解员。"
ACTIONS_DOWN = "抱歉，法律条文检索服务暂时出了故障，这条问题没能回答。您的消息已经保存，请稍后再问一次；着急的话可以输入“转人工”联系调解员。"
NO_REPLY = "抱歉，我暂时没能回答这个问题。能否换个说法再问一次？"


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


@router.get("/{conversation_id}", response_model=ConversationOut)
def read_conversation(conversation: ConversationDep) -> ConversationOut:
    return ConversationOut(
        conversation_id=conversation.id,
        mode=conversation.mode,
        region=conversation.region,
        created_at=conversation.created_at,
        messages=[
            {"id": m.id, "sender": m.sender, "text": m.text, "created_at": m.created_at,
             "citations": (m.payload or {}).get("citations", []), "buttons": (m.payload or {}).get("buttons", [])}
            for m in conversation.messages
        ],
    )


@router.post("/{conversation_id}/messages", response_model=MessageReply)
def post_message(body: MessageIn, conversation: ConversationDep, session: SessionDep, rasa: RasaDep) -> MessageReply:
    # The resident's words are stored before anything else can fail.
    session.add(Message(conversation_id=conversation.id, sender="resident", text=body.text))
    session.commit()
    if conversation.mode != "bot":
        return MessageReply(mode=conversation.mode, replies=[])

    metadata = {"region": conversation.region} if conversation.region else {}
    try:
        bot_replies = rasa.send(conversation.id, body.text, metadata)
    except RasaUnavailable as exc:
        log.warning("conversation %s: %s", conversation.id, exc)
        bot_replies = [BotReply(text=RASA_DOWN, custom={"error": "rasa_unavailable"})]
    if not bot_replies:
        # Rasa answers with nothing when a custom action failed, most often because the action server is down.
        if rasa.action_server_healthy():
            bot_replies = [BotReply(text=NO_REPLY, custom={"error": "no_reply"})]
        else:
            log.warning("conversation %s: action server down", conversation.id)
            bot_replies = [BotReply(text=ACTIONS_DOWN, custom={"error": "action_server_unavailable"})]

    replies = []
    for reply in bot_replies:
        payload = {"citations": reply.citations, "buttons": reply.buttons} | reply.custom
        session.add(Message(conversation_id=conversation.id, sender="bot", text=reply.text, payload=payload))
        replies.append(Reply(text=reply.text, citations=reply.citations, buttons=reply.buttons))
    session.commit()
    return MessageReply(mode=conversation.mode, replies=replies)
