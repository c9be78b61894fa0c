"""Typed dependencies shared by the routes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, status
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from starlette.requests import HTTPConnection

from api.db import Database
from api.events import EventBus
from api.limits import BackOff, RateLimiter, RedisBackOff, RedisRateLimiter
from api.mediation import Publisher
from api.messaging import ConversationRef, MessageFlow
from api.metrics import Metrics
from api.models import ROLE_ADMIN, Conversation, Mediator, MediatorSession, as_utc, utcnow
from api.precedents import PrecedentPublisher
from api.rasa_client import RasaClient
from api.security import hash_token, token_matches
from core.settings import Settings
from knowledge_base.search import KnowledgeBase

# The getters take an HTTPConnection, so the same dependencies serve HTTP routes and WebSockets. Each reads
# app.state when the request comes (tests replace some of its parts on a running app).
ClientLimits = dict[str, RateLimiter | RedisRateLimiter]  # per client address, by what is counted


def _state(name: str) -> Callable[[HTTPConnection], Any]:
    """The dependency that reads `app.state.<name>` when the request comes; its type is the Annotated one below."""

    def read(conn: HTTPConnection) -> Any:
        return getattr(conn.app.state, name)

    read.__name__ = f"get_{name}"
    return read


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
DatabaseDep = Annotated[Database, Depends(_state("db"))]
BusDep = Annotated[EventBus, Depends(_state("bus"))]
RasaDep = Annotated[RasaClient, Depends(_state("rasa"))]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(_state("kb"))]
MetricsDep = Annotated[Metrics, Depends(_state("metrics"))]
ClientLimitsDep = Annotated[ClientLimits, Depends(_state("client_limits"))]
LoginBackoffDep = Annotated[BackOff | RedisBackOff, Depends(_state("login_backoff"))]
PasswordChecksDep = Annotated[threading.BoundedSemaphore, Depends(_state("password_checks"))]
MessageFlowDep = Annotated[MessageFlow, Depends(_state("messages"))]
PrecedentPublisherDep = Annotated[PrecedentPublisher, Depends(_state("precedents"))]


def get_session(db: DatabaseDep) -> Iterator[Session]:
    yield from db.session()


def get_publisher(bus: BusDep, settings: SettingsDep) -> Publisher:
    return Publisher(bus, settings.handoff_default_wait_s)


SessionDep = Annotated[Session, Depends(get_session)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


# A resident's token stops working after `resident_token_idle_s` without a request made with it (HTTP or the
# resident WebSocket). Each such request records itself in `conversations.last_active_at`, at most once every
# TOUCH_EVERY per conversation (the row is read anyway; the write is skipped while the stamp is fresh). A
# conversation from before the column (NULL) counts from its updated_at, else created_at.
EXPIRED_DETAIL = "会话已过期，请开始新的咨询。conversation expired; start a new one"
TOUCH_EVERY = timedelta(minutes=1)


def resident_idle_since(conversation: Conversation) -> datetime | None:
    return as_utc(conversation.last_active_at or conversation.updated_at or conversation.created_at)


def resident_token_expired(conversation: Conversation, idle_s: float, now: datetime | None = None) -> bool:
    since = resident_idle_since(conversation)
    return since is not None and ((now or utcnow()) - since).total_seconds() > idle_s


def touch_resident(session: Session, conversation: Conversation, now: datetime | None = None) -> None:
    """Record a request of the resident (commits); nothing when the record is younger than TOUCH_EVERY."""
    now = now or utcnow()
    last = as_utc(conversation.last_active_at)
    if last is not None and timedelta(0) <= now - last < TOUCH_EVERY:
        return
    # updated_at set to itself: activity is not a change of the conversation (its onupdate stays out).
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_active_at=now, updated_at=Conversation.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    set_committed_value(conversation, "last_active_at", now)


def _authenticated(
    session: Session, conversation_id: str, supplied: str | None, idle_s: float
) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    if not supplied:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "conversation token required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(supplied, conversation.token_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong token for this conversation")
    if resident_token_expired(conversation, idle_s):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            EXPIRED_DETAIL,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    touch_resident(session, conversation)
    return conversation


def conversation_token(
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query()] = None,
    x_conversation_token: Annotated[str | None, Header()] = None,
) -> str | None:
    """The resident's token: `Authorization: Bearer`, `X-Conversation-Token` or `?token=` (WebSockets)."""
    return _bearer(authorization) or x_conversation_token or token


ConversationTokenDep = Annotated[str | None, Depends(conversation_token)]


def get_conversation(
    conversation_id: str, session: SessionDep, settings: SettingsDep, supplied: ConversationTokenDep
) -> Conversation:
    return _authenticated(session, conversation_id, supplied, settings.resident_token_idle_s)


def get_conversation_ref(
    conversation_id: str, db: DatabaseDep, settings: SettingsDep, supplied: ConversationTokenDep
) -> ConversationRef:
    """The authenticated conversation, checked in a transaction of its own that is over before the route runs
    (the message route must hold no connection while the bot thinks)."""
    with db.sessions() as session:
        conversation = _authenticated(session, conversation_id, supplied, settings.resident_token_idle_s)
        return ConversationRef(id=conversation.id, region=conversation.region)


ConversationDep = Annotated[Conversation, Depends(get_conversation)]
ConversationRefDep = Annotated[ConversationRef, Depends(get_conversation_ref)]


def mediator_for_token(session: Session, token: str | None) -> Mediator | None:
    """The active mediator a login token belongs to, if it is known, not revoked and not expired."""
    if not token:
        return None
    row = session.get(MediatorSession, hash_token(token))
    if row is None or row.revoked or as_utc(row.expires_at) <= utcnow():
        return None
    mediator = row.mediator
    return mediator if mediator is not None and mediator.active else None


def get_mediator(session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Mediator:
    token = _bearer(authorization)
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "mediator login required", headers={"WWW-Authenticate": "Bearer"}
        )
    mediator = mediator_for_token(session, token)
    if mediator is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "login expired or invalid; please log in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return mediator


MediatorDep = Annotated[Mediator, Depends(get_mediator)]


def get_admin(mediator: MediatorDep) -> Mediator:
    if mediator.role != ROLE_ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")
    return mediator


AdminDep = Annotated[Mediator, Depends(get_admin)]
