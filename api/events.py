"""Live events fan-out behind a small interface.

`EventBus.publish(channel, event)` may be called from any thread (the sync routes run in a thread pool) and never
blocks; `EventBus.subscribe(channels)` is used by the WebSocket handlers on the event loop. The in-process bus
below serves one gateway; a Redis pub/sub bus with the same two methods serves several.

Channels: `conversation:<id>` (everything a resident and the mediators watching that conversation see),
`mediators` (the queue: new, claimed, released and closed handoffs) and `mediator:<id>` (one mediator's account:
`sessions_changed` after a logout, a disable, a password or role change, so that every gateway's sockets of that
mediator check their login again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

MEDIATORS = "mediators"
QUEUE_LIMIT = 1000


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def mediator_channel(mediator_id: int) -> str:
    return f"mediator:{mediator_id}"


class Subscription(Protocol):
    async def get(self) -> dict[str, Any] | None:
        """The next event; None when the bus dropped this subscriber (it fell too far behind)."""

    def add(self, channel: str) -> None: ...

    def deliver_threadsafe(self, event: dict[str, Any]) -> None:
        """Queue an event for this subscriber alone, from any thread."""

    def end(self) -> None:
        """Make `get()` return None after what is queued (thread-safe)."""

    def discard(self, channel: str) -> None: ...

    def close(self) -> None: ...


class EventBus(Protocol):
    def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, channels: Iterable[str]) -> Subscription: ...

    def subscriber_count(self, channel: str | None = None) -> int: ...


class _LocalSubscription:
    def __init__(self, bus: InProcessBus, loop: asyncio.AbstractEventLoop):
        self._bus = bus
        self._loop = loop
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=QUEUE_LIMIT + 1)
        self.channels: set[str] = set()
        self.dropped = False

    def _deliver(self, event: dict[str, Any] | None) -> None:  # on the subscriber's loop
        if self.dropped:
            return
        if event is not None and self._queue.qsize() >= QUEUE_LIMIT:
            # A client that does not read: drop it; it reconnects and catches up from the database.
            self.dropped = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(event)

    def deliver_threadsafe(self, event: dict[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the loop is closed: the connection is gone
            self._bus._remove(self)

    async def get(self) -> dict[str, Any] | None:
        return await self._queue.get()

    def end(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def add(self, channel: str) -> None:
        self._bus._add(self, channel)

    def discard(self, channel: str) -> None:
        self._bus._discard(self, channel)

    def close(self) -> None:
        self._bus._remove(self)

    def __enter__(self) -> _LocalSubscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessBus:
    """Fan-out inside one gateway process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, set[_LocalSubscription]] = {}

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._channels.get(channel, ()))
        for sub in subscribers:
            sub.deliver_threadsafe(event)

    def subscribe(self, channels: Iterable[str]) -> _LocalSubscription:
        sub = _LocalSubscription(self, asyncio.get_running_loop())
        for channel in channels:
            self._add(sub, channel)
        return sub

    def subscriber_count(self, channel: str | None = None) -> int:
        with self._lock:
            if channel is not None:
                return len(self._channels.get(channel, ()))
            return len({s for subs in self._channels.values() for s in subs})

    def _add(self, sub: _LocalSubscription, channel: str) -> None:
        with self._lock:
            self._channels.setdefault(channel, set()).add(sub)
            sub.channels.add(channel)

    def _discard(self, sub: _LocalSubscription, channel: str) -> None:
        with self._lock:
            subs = self._channels.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._channels[channel]
            sub.channels.discard(channel)

    def _remove(self, sub: _LocalSubscription) -> None:
        for channel in list(sub.channels):
            self._discard(sub, channel)

    def end_all(self) -> None:
        """End every subscription (its client reconnects and catches up from the database)."""
        with self._lock:
            subscribers = {s for subs in self._channels.values() for s in subs}
        for sub in subscribers:
            sub.end()


class RedisBus:
    """Fan-out across gateways through Redis pub/sub, for several gateways behind a balancer.

    Each event is delivered to this gateway's own subscribers at once (through an `InProcessBus`) and
    published to Redis with this gateway's id; a listener task delivers the other gateways' events. When the
    connection to Redis breaks, events of other gateways published meanwhile cannot be received: once it is
    back, every local subscriber is ended, so each WebSocket client reconnects and catches up from the database
    (`after=<last id>`), as after any dropped connection. Publishing never blocks a request on a dead Redis for
    longer than its short socket timeout, and never fails it.
    """

    PREFIX = "fengqiao:"

    def __init__(self, url: str, *, socket_timeout_s: float = 1.0):
        import uuid

        import redis

        self.url = url
        self.origin = uuid.uuid4().hex
        self.local = InProcessBus()
        self._redis = redis.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s
        )
        self.connected = asyncio.Event()
        # Sending to Redis happens on a thread of its own, so that a slow or dead Redis never holds the event
        # loop or a request; what cannot be queued is dropped (clients catch up from the database).
        self._outgoing: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=QUEUE_LIMIT * 10)
        threading.Thread(target=self._send_forever, name="redis-publish", daemon=True).start()

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        import json

        self.local.publish(channel, event)
        try:
            self._outgoing.put_nowait(
                (self.PREFIX + channel, json.dumps({"o": self.origin, "e": event}, ensure_ascii=False))
            )
        except queue.Full:
            log.warning("event for %s not sent to the other gateways (too many waiting for Redis)", channel)

    def _send_forever(self) -> None:
        import redis

        while True:
            channel, data = self._outgoing.get()
            try:
                self._redis.publish(channel, data)
            except redis.RedisError as exc:
                log.warning(
                    "event for %s not sent to the other gateways (Redis: %s)",
                    channel.removeprefix(self.PREFIX),
                    type(exc).__name__,
                )

    def subscribe(self, channels: Iterable[str]) -> _LocalSubscription:
        return self.local.subscribe(channels)

    def subscriber_count(self, channel: str | None = None) -> int:
        return self.local.subscriber_count(channel)

    async def listen(self) -> None:
        """Deliver the other gateways' events until cancelled; reconnect after a failure."""
        import json

        import redis.asyncio as aredis
        from redis.exceptions import RedisError

        lost = False
        while True:
            client = aredis.Redis.from_url(self.url, socket_connect_timeout=1.0)
            try:
                pubsub = client.pubsub()
                await pubsub.psubscribe(self.PREFIX + "*")
                if lost:
                    log.warning("Redis is back: live clients reconnect and catch up from the database")
                    self.local.end_all()
                    lost = False
                self.connected.set()
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        data = json.loads(message["data"])
                    except (TypeError, ValueError):
                        continue
                    if data.get("o") != self.origin:
                        channel = message["channel"].decode().removeprefix(self.PREFIX)
                        self.local.publish(channel, data.get("e") or {})
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if not lost:
                    log.warning("lost the connection to Redis (%s); retrying", type(exc).__name__)
                lost = True
                self.connected.clear()
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
