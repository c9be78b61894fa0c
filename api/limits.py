"""Input limits: a cap on request bodies (ASGI middleware) and sliding-window rate limits in memory."""

from __future__ import annotations

import json
import threading
import time
from collections import deque

from starlette.exceptions import HTTPException


class BodySizeLimit:
    """Refuses a request whose body is larger than `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await _too_large(send, self.max_bytes)
                    return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in: the app's own error handling turns it into 413 (a plain exception
    there would become FastAPI's 400 "error parsing the body")."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body larger than {max_bytes} bytes")


async def _too_large(send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `limit` events per `window_s` seconds for each key; thread-safe."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._events.setdefault(key, deque())
        while q and now - q[0] >= self.window_s:
            q.popleft()
        return q

    def hit(self, key: str) -> float:
        """Count one event; returns 0 when allowed, else the seconds until the next one would be."""
        with self._lock:
            now = self.clock()
            q = self._trim(key, now)
            if len(q) >= self.limit:
                return max(0.001, self.window_s - (now - q[0]))
            q.append(now)
            if len(self._events) > 10_000:  # forget idle keys
                for k in [k for k, v in self._events.items() if not v or now - v[-1] >= self.window_s]:
                    del self._events[k]
            return 0.0

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may act again, without counting anything."""
        with self._lock:
            now = self.clock()
            q = self._trim(key, now)
            return max(0.001, self.window_s - (now - q[0])) if len(q) >= self.limit else 0.0

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
