"""Live events fan-out behind a small interface.

`EventBus.publish(channel, event)` may be called from any thread (the sync routes run in a thread pool) and never
blocks; `EventBus.subscribe(channels)` is used by the WebSocket handlers on the event loop. The in-process bus
below serves one gateway; a Redis pub/sub bus with the same two methods serves several.

Channels: `conversation:<id>` (everything a resident and the mediators watching that conversation see) and
`mediators` (the queue: new, claimed, released and closed handoffs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

MEDIATORS = "mediators"
QUEUE_LIMIT = 1000


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class Subscription(Protocol):
    async def get(self) -> dict[str, Any] | None:
        """The next event; None when the bus dropped this subscriber (it fell too far behind)."""

    def add(self, channel: str) -> None: ...

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
