"""WebSockets: one per conversation for the resident, one per console for a mediator.

Resident: `WS /ws/conversations/{id}?token=…[&after=<last message id seen>]`. On connect the server sends
`hello` (mode, queue place, mediator) and every message after `after`, so a reconnect misses nothing; then
live events: `message`, `typing`, `mode`, `queue`. The resident may send `{"type": "typing"}` and
`{"type": "ping"}`.

Mediator: `WS /ws/mediators?token=…`. Events of the queue (`handoff`, `queue`) for everyone; a mediator sends
`{"type": "watch", "conversation_id": …}` to get that conversation's events too (`unwatch` to stop), and
`{"type": "typing", "conversation_id": …}` while writing to a conversation it owns.

Close codes: 4401 no or expired token, 4403 wrong token, 4404 unknown conversation, 4408 too slow to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api import mediation
from api.deps import EXPIRED_DETAIL, mediator_for_token, resident_token_expired, touch_resident
from api.events import MEDIATORS, conversation_channel
from api.models import (
    H_ACTIVE,
    MEDIATOR,
    ROLE_ADMIN,
    WAITING,
    Conversation,
    Handoff,
    MediatorSession,
    Message,
    as_utc,
    utcnow,
)
from api.security import hash_token, token_matches

log = logging.getLogger(__name__)
router = APIRouter()

MAX_CLIENT_FRAME = 4096
HELLO_BACKLOG = 500


async def _refuse(ws: WebSocket, code: int, detail: str) -> None:
    await ws.accept()
    await ws.send_json({"type": "error", "detail": detail})
    await ws.close(code=code)


def _resident_state(app, conversation_id: str, token: str | None, after: int | None) -> tuple[int, str, dict]:
    with app.state.db.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return 4404, "conversation not found", {}
        if not token:
            return 4401, "conversation token required", {}
        if not token_matches(token, conversation.token_hash):
            return 4403, "wrong token for this conversation", {}
        if resident_token_expired(conversation, app.state.settings.resident_token_idle_s):
            return 4401, EXPIRED_DETAIL, {}  # the widget starts a new conversation
        touch_resident(session, conversation)
        hello: dict[str, Any] = {"type": "hello", "conversation_id": conversation_id, "mode": conversation.mode,
                                 "queue": None, "mediator": None}
        if conversation.mode == WAITING:
            hello["queue"] = mediation.queue_positions(
                session, app.state.settings.handoff_default_wait_s).get(conversation_id)
        if conversation.mode == MEDIATOR:
            handoff = mediation.open_handoff_of(session, conversation_id)
            hello["mediator"] = handoff.mediator.display_name if handoff and handoff.mediator else None
        missed = []
        if after is not None:
            missed = [mediation.message_dict(m) for m in session.scalars(
                select(Message).where(Message.conversation_id == conversation_id, Message.id > after)
                .order_by(Message.id).limit(HELLO_BACKLOG))]
        hello["messages"] = missed
        return 0, "", hello


async def _pump(ws: WebSocket, sub, close_code: int) -> None:
    """Bus → socket, until the bus ends the subscription (None) or the socket closes."""
    while True:
        event = await sub.get()
        if event is None:
            await ws.close(code=close_code)
            return
        await ws.send_json(event)


async def _receive(ws: WebSocket) -> dict[str, Any] | None:
    raw = await ws.receive_text()
    if len(raw) > MAX_CLIENT_FRAME:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _serve(ws: WebSocket, sub, handle, close_code: int = 4408) -> None:
    pump = asyncio.create_task(_pump(ws, sub, close_code))
    try:
        while not pump.done():
            receive = asyncio.create_task(_receive(ws))
            done, _ = await asyncio.wait({pump, receive}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await receive
                break
            data = receive.result()  # raises WebSocketDisconnect when the client left
            if data is not None:
                await handle(data)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        sub.close()


@router.websocket("/ws/conversations/{conversation_id}")
async def resident_socket(ws: WebSocket, conversation_id: str, token: str | None = None,
                          after: int | None = None) -> None:
    app = ws.app
    code, detail, hello = await run_in_threadpool(_resident_state, app, conversation_id, token, after)
    if code:
        await _refuse(ws, code, detail)
        return
    bus = app.state.bus
    channel = conversation_channel(conversation_id)
    await ws.accept()
    sub = bus.subscribe([channel])  # before the hello, so nothing falls between the two
    app.state.metrics.websockets.labels("resident").inc()
    try:
        await ws.send_json(hello)

        async def handle(data: dict[str, Any]) -> None:
            if data.get("type") == "typing":
                bus.publish(channel, {"type": "typing", "conversation_id": conversation_id, "from": "resident",
                                      "typing": bool(data.get("typing", True))})
            elif data.get("type") == "ping":
                await ws.send_json({"type": "pong"})

        await _serve(ws, sub, handle)
    finally:
        sub.close()
        app.state.metrics.websockets.labels("resident").dec()


def _mediator_of(app, token: str | None):
    with app.state.db.sessions() as session:
        mediator = mediator_for_token(session, token)
        if mediator is None:
            return None
        row = session.get(MediatorSession, hash_token(token))
        return {"id": mediator.id, "username": mediator.username, "display_name": mediator.display_name,
                "role": mediator.role, "expires_at": as_utc(row.expires_at)}


def _can_watch(app, conversation_id: str) -> bool:
    with app.state.db.sessions() as session:
        return session.scalar(select(Handoff.id).where(Handoff.conversation_id == conversation_id).limit(1)) is not None


def _owns(app, mediator: dict, conversation_id: str) -> bool:
    with app.state.db.sessions() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                       Handoff.status == H_ACTIVE))
        return handoff is not None and (handoff.mediator_id == mediator["id"] or mediator["role"] == ROLE_ADMIN)


@router.websocket("/ws/mediators")
async def mediator_socket(ws: WebSocket, token: str | None = None) -> None:
    app = ws.app
    mediator = await run_in_threadpool(_mediator_of, app, token)
    if mediator is None:
        await _refuse(ws, 4401, "login expired or invalid; please log in again")
        return
    bus = app.state.bus
    await ws.accept()
    sub = bus.subscribe([MEDIATORS])
    app.state.metrics.websockets.labels("mediator").inc()
    remaining = (mediator["expires_at"] - utcnow()).total_seconds()
    # The login expires while connected: the console is told and must log in again.
    expiry = asyncio.get_running_loop().call_later(max(0.0, remaining), sub.end)
    try:
        await ws.send_json({"type": "hello", "mediator": mediator["display_name"]})

        async def handle(data: dict[str, Any]) -> None:
            kind = data.get("type")
            conversation_id = str(data.get("conversation_id") or "")[:64]
            if kind == "watch" and conversation_id:
                if await run_in_threadpool(_can_watch, app, conversation_id):
                    sub.add(conversation_channel(conversation_id))
                    await ws.send_json({"type": "watching", "conversation_id": conversation_id})
                else:
                    await ws.send_json({"type": "error", "detail": "no handoff for this conversation"})
            elif kind == "unwatch" and conversation_id:
                sub.discard(conversation_channel(conversation_id))
            elif kind == "typing" and conversation_id:
                if await run_in_threadpool(_owns, app, mediator, conversation_id):
                    bus.publish(conversation_channel(conversation_id),
                                {"type": "typing", "conversation_id": conversation_id, "from": "mediator",
                                 "name": mediator["display_name"], "typing": bool(data.get("typing", True))})
            elif kind == "ping":
                await ws.send_json({"type": "pong"})

        await _serve(ws, sub, handle, close_code=4401)
    finally:
        expiry.cancel()
        sub.close()
        app.state.metrics.websockets.labels("mediator").dec()
