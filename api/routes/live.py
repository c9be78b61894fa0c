"""WebSockets: one per conversation for the resident, one per console for a mediator.

Resident: `WS /ws/conversations/{id}?token=…[&after=<last message id seen>]`. On connect the server sends
`hello` (mode, queue place, mediator) and every message after `after`, so a reconnect misses nothing; then
live events: `message`, `typing`, `mode`, `queue`. The resident may send `{"type": "typing"}` and
`{"type": "ping"}`.

Mediator: `WS /ws/mediators?token=…`. Events of the queue (`handoff`, `queue`) for everyone; a mediator sends
`{"type": "watch", "conversation_id": …}` to get that conversation's events too (`unwatch` to stop), and
`{"type": "typing", "conversation_id": …}` while writing to a conversation it owns.

Input limits, on both sockets: a text frame carries at most MAX_CLIENT_FRAME bytes (the server, uvicorn
`--ws-max-size`, refuses far bigger ones before reading them whole); a socket may send EVENTS_PER_S events a second
after a burst of EVENT_BURST (typing and invalid frames included): beyond that, events are dropped (one `error`
event says so), and a socket that sends more than FLOOD_FACTOR times that rate over FLOOD_WINDOW_S is closed.
Typing is fanned out to a conversation at most once per TYPING_EVERY_S per socket (and one "stopped" after it).

Close codes (each, where the socket still can, after an `{"type": "error", "detail": …}` event):
  1003  a binary frame (only JSON text frames are accepted)
  1008  too many events (flooding)
  1009  a text frame over MAX_CLIENT_FRAME bytes
  4401  no, expired or revoked login or token: the mediator's login expired, was logged out, the account was
        disabled or its password changed (on any gateway); the console logs in again
  4403  wrong token for this conversation
  4404  unknown conversation
  4408  too slow to read (the bus dropped this socket; reconnect with `after=`)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api import mediation
from api.db import Database
from api.deps import (
    EXPIRED_DETAIL,
    BusDep,
    DatabaseDep,
    MetricsDep,
    SettingsDep,
    mediator_for_token,
    resident_token_expired,
    touch_resident,
)
from api.events import MEDIATORS, conversation_channel, mediator_channel
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
from api.schemas import unstorable
from api.security import hash_token, token_matches
from core.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()

MAX_CLIENT_FRAME = 4096  # bytes of one text frame from a client
HELLO_BACKLOG = 500
EVENTS_PER_S = 10.0
EVENT_BURST = 20
FLOOD_FACTOR = 5
FLOOD_WINDOW_S = 3.0
TYPING_EVERY_S = 2.0

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_LOGIN = 4401

HANDLE, DROP, CLOSE = "handle", "drop", "close"
SESSION_ENDED = {
    "logout": "logged out; please log in again",
    "disabled": "this account has been disabled",
    "password": "the password was changed; please log in again",
}

_clock = time.monotonic  # the tests stop it


class _Close(Exception):
    """Close the socket with this code, after an error event with this detail."""

    def __init__(self, code: int, detail: str, **extra: Any):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra


class EventLimiter:
    """At most `rate` client events a second after a burst of `burst` (a token bucket); `check()` says, for each
    event, whether to handle or drop it, or to close the socket: more than `flood_factor` times the rate within
    `window_s` (counted over the last events, dropped ones included)."""

    def __init__(
        self,
        rate: float = EVENTS_PER_S,
        burst: int = EVENT_BURST,
        flood_factor: float = FLOOD_FACTOR,
        window_s: float = FLOOD_WINDOW_S,
    ):
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = _clock()
        self.window_s = window_s
        self.recent: deque[float] = deque(maxlen=int(flood_factor * rate * window_s) + 1)
        self.dropping = False

    def check(self) -> str:
        now = _clock()
        self.recent.append(now)
        if len(self.recent) == self.recent.maxlen and now - self.recent[0] <= self.window_s:
            return CLOSE
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return HANDLE
        return DROP


class TypingThrottle:
    """One socket's typing fan-out: at most one per `every_s` per conversation, plus one "stopped" after a
    "typing" (so the other side does not keep showing it); at most `keep` conversations remembered."""

    def __init__(self, every_s: float = TYPING_EVERY_S, keep: int = 64):
        self.every_s = every_s
        self.keep = keep
        self._last: dict[str, tuple[float, bool]] = {}

    def allow(self, conversation_id: str, typing: bool) -> bool:
        now = _clock()
        last = self._last.get(conversation_id)
        if last is not None:
            at, was_typing = last
            if now - at < self.every_s and not (was_typing and not typing):
                return False
        elif len(self._last) >= self.keep:
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.every_s}
            if len(self._last) >= self.keep:
                return False
        self._last[conversation_id] = (now, typing)
        return True


async def _refuse(ws: WebSocket, code: int, detail: str) -> None:
    await ws.accept()
    await ws.send_json({"type": "error", "detail": detail})
    await ws.close(code=code)


def _resident_state(
    db: Database, settings: Settings, conversation_id: str, token: str | None, after: int | None
) -> tuple[int, str, dict]:
    with db.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return 4404, "conversation not found", {}
        if not token:
            return 4401, "conversation token required", {}
        if not token_matches(token, conversation.token_hash):
            return 4403, "wrong token for this conversation", {}
        if resident_token_expired(conversation, settings.resident_token_idle_s):
            return 4401, EXPIRED_DETAIL, {}  # the widget starts a new conversation
        touch_resident(session, conversation)
        hello: dict[str, Any] = {
            "type": "hello",
            "conversation_id": conversation_id,
            "mode": conversation.mode,
            "queue": None,
            "mediator": None,
        }
        if conversation.mode == WAITING:
            hello["queue"] = mediation.queue_positions(session, settings.handoff_default_wait_s).get(
                conversation_id
            )
        if conversation.mode == MEDIATOR:
            handoff = mediation.open_handoff_of(session, conversation_id)
            hello["mediator"] = handoff.mediator.display_name if handoff and handoff.mediator else None
        missed = []
        if after is not None:
            missed = [
                mediation.message_dict(m)
                for m in session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.id > after)
                    .order_by(Message.id)
                    .limit(HELLO_BACKLOG)
                )
            ]
        hello["messages"] = missed
        return 0, "", hello


async def _close(ws: WebSocket, code: int, detail: str, **extra: Any) -> None:
    """An error event, then the close frame; either may find the client gone."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.send_json({"type": "error", "detail": detail, **extra})
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await ws.close(code=code)


async def _pump(ws: WebSocket, sub, close_code: int, control=None) -> None:
    """Bus → socket, until the bus ends the subscription (None) or the socket closes. `control(event)` sees each
    event first: True when it took the event (not sent on); it raises _Close to end the socket."""
    while True:
        event = await sub.get()
        if event is None:
            await ws.close(code=close_code)
            return
        if control is not None:
            try:
                if await control(event):
                    continue
            except _Close as exc:
                await _close(ws, exc.code, exc.detail, **exc.extra)
                return
        await ws.send_json(event)


async def _receive(ws: WebSocket) -> dict[str, Any] | None:
    """The next client event (None for a frame that is not a JSON object); raises _Close for a binary frame or
    one over MAX_CLIENT_FRAME bytes, WebSocketDisconnect when the client left."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    raw = message.get("text")
    if raw is None:
        raise _Close(CLOSE_UNSUPPORTED, "binary frames are not accepted; send JSON text frames")
    if len(raw) > MAX_CLIENT_FRAME or len(raw.encode("utf-8", "surrogatepass")) > MAX_CLIENT_FRAME:
        raise _Close(CLOSE_TOO_BIG, f"frame too big: at most {MAX_CLIENT_FRAME} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _serve(ws: WebSocket, sub, handle, close_code: int = 4408, control=None) -> None:
    pump = asyncio.create_task(_pump(ws, sub, close_code, control))
    limiter = EventLimiter()
    try:
        while not pump.done():
            receive = asyncio.create_task(_receive(ws))
            done, _ = await asyncio.wait({pump, receive}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, _Close):
                    await receive
                break
            try:
                data = receive.result()  # raises WebSocketDisconnect when the client left
            except _Close as exc:
                await _close(ws, exc.code, exc.detail)
                break
            verdict = limiter.check()
            if verdict == CLOSE:
                await _close(ws, CLOSE_POLICY, "too many events; connection closed")
                break
            if verdict == DROP:
                if not limiter.dropping:  # once per run of dropped events
                    limiter.dropping = True
                    await ws.send_json({"type": "error", "detail": "too many events; some were dropped"})
                continue
            limiter.dropping = False
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
async def resident_socket(
    ws: WebSocket,
    conversation_id: str,
    db: DatabaseDep,
    settings: SettingsDep,
    bus: BusDep,
    metrics: MetricsDep,
    token: str | None = None,
    after: int | None = None,
) -> None:
    code, detail, hello = await run_in_threadpool(
        _resident_state, db, settings, conversation_id, token, after
    )
    if code:
        await _refuse(ws, code, detail)
        return
    channel = conversation_channel(conversation_id)
    await ws.accept()
    sub = bus.subscribe([channel])  # before the hello, so nothing falls between the two
    metrics.websockets.labels("resident").inc()
    try:
        await ws.send_json(hello)
        throttle = TypingThrottle()

        async def handle(data: dict[str, Any]) -> None:
            if data.get("type") == "typing":
                typing = bool(data.get("typing", True))
                if throttle.allow(conversation_id, typing):
                    bus.publish(
                        channel,
                        {
                            "type": "typing",
                            "conversation_id": conversation_id,
                            "from": "resident",
                            "typing": typing,
                        },
                    )
            elif data.get("type") == "ping":
                await ws.send_json({"type": "pong"})

        await _serve(ws, sub, handle)
    finally:
        sub.close()
        metrics.websockets.labels("resident").dec()


def _mediator_of(db: Database, token: str | None) -> dict[str, Any] | None:
    with db.sessions() as session:
        mediator = mediator_for_token(session, token)
        if mediator is None:
            return None
        assert token  # mediator_for_token finds no mediator without a token
        row = session.get(MediatorSession, hash_token(token))
        assert row is not None  # nor without its login row
        return {
            "id": mediator.id,
            "username": mediator.username,
            "display_name": mediator.display_name,
            "role": mediator.role,
            "expires_at": as_utc(row.expires_at),
        }


def _can_watch(db: Database, conversation_id: str) -> bool:
    with db.sessions() as session:
        return (
            session.scalar(select(Handoff.id).where(Handoff.conversation_id == conversation_id).limit(1))
            is not None
        )


def _owns(db: Database, mediator: dict, conversation_id: str) -> bool:
    with db.sessions() as session:
        handoff = session.scalar(
            select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status == H_ACTIVE)
        )
        return handoff is not None and (
            handoff.mediator_id == mediator["id"] or mediator["role"] == ROLE_ADMIN
        )


@router.websocket("/ws/mediators")
async def mediator_socket(
    ws: WebSocket,
    db: DatabaseDep,
    settings: SettingsDep,
    bus: BusDep,
    metrics: MetricsDep,
    token: str | None = None,
) -> None:
    mediator = await run_in_threadpool(_mediator_of, db, token)
    if mediator is None:
        await _refuse(ws, 4401, "login expired or invalid; please log in again")
        return
    await ws.accept()
    # Its own channel: a logout, disable or password change on any gateway reaches this socket.
    sub = bus.subscribe([MEDIATORS, mediator_channel(mediator["id"])])
    metrics.websockets.labels("mediator").inc()
    remaining = (mediator["expires_at"] - utcnow()).total_seconds()
    # The login expires while connected: the console is told and must log in again.
    loop = asyncio.get_running_loop()
    expiry = loop.call_later(max(0.0, remaining), sub.end)
    # And the login is checked again every so often, so that a change no gateway announced (an account disabled
    # or a password set with `fengqiao mediators …` on the command line) also ends the socket.
    recheck_s = settings.mediator_socket_recheck_s

    rechecking: asyncio.TimerHandle  # bound below, once recheck exists

    def recheck() -> None:
        nonlocal rechecking
        sub.deliver_threadsafe({"type": "sessions_changed", "reason": ""})
        rechecking = loop.call_later(recheck_s, recheck)

    rechecking = loop.call_later(recheck_s, recheck)
    try:
        await ws.send_json({"type": "hello", "mediator": mediator["display_name"]})
        throttle = TypingThrottle()

        async def control(event: dict[str, Any]) -> bool:
            """The account changed: this login still valid (with the new name and role), or the socket ends."""
            if event.get("type") != "sessions_changed":
                return False
            fresh = await run_in_threadpool(_mediator_of, db, token)
            if fresh is None:
                reason = str(event.get("reason") or "")
                raise _Close(
                    CLOSE_LOGIN,
                    SESSION_ENDED.get(reason, "login expired or invalid; please log in again"),
                    reason=reason or None,
                )
            mediator.update(fresh)
            return True

        async def handle(data: dict[str, Any]) -> None:
            kind = data.get("type")
            conversation_id = str(data.get("conversation_id") or "")[:64]
            if unstorable(
                conversation_id
            ):  # NUL or a lone surrogate: no conversation has one, no query takes one
                conversation_id = ""
            if kind == "watch" and conversation_id:
                if await run_in_threadpool(_can_watch, db, conversation_id):
                    sub.add(conversation_channel(conversation_id))
                    await ws.send_json({"type": "watching", "conversation_id": conversation_id})
                else:
                    await ws.send_json({"type": "error", "detail": "no handoff for this conversation"})
            elif kind == "unwatch" and conversation_id:
                sub.discard(conversation_channel(conversation_id))
            elif kind == "typing" and conversation_id:
                typing = bool(data.get("typing", True))
                if throttle.allow(conversation_id, typing) and await run_in_threadpool(
                    _owns, db, mediator, conversation_id
                ):
                    bus.publish(
                        conversation_channel(conversation_id),
                        {
                            "type": "typing",
                            "conversation_id": conversation_id,
                            "from": "mediator",
                            "name": mediator["display_name"],
                            "typing": typing,
                        },
                    )
            elif kind == "ping":
                await ws.send_json({"type": "pong"})

        await _serve(ws, sub, handle, close_code=CLOSE_LOGIN, control=control)
    finally:
        expiry.cancel()
        rechecking.cancel()
        sub.close()
        metrics.websockets.labels("mediator").dec()
