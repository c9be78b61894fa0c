"""Input limits: a cap on request bodies (ASGI middleware) and sliding-window rate limits in memory."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque

from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


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


_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
return 0
"""


class RedisRateLimiter:
    """The same sliding window as `RateLimiter`, kept in Redis so that every gateway counts together (a sorted
    set per key, updated atomically by a script on Redis's own clock). While Redis cannot be reached, each
    gateway falls back to counting alone, so a Redis restart neither blocks everyone nor lets anyone through
    unlimited."""

    def __init__(self, url: str, name: str, limit: int, window_s: float):
        import redis

        self.limit = limit
        self.window_s = window_s
        self._prefix = f"fengqiao:limit:{name}:"
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._local = RateLimiter(limit, window_s)
        self._seq = itertools.count()

    def _call(self, key: str, count: bool) -> float | None:
        import redis

        member = f"{uuid.uuid4().hex}{next(self._seq)}"
        try:
            waited_ms = self._script(keys=[self._prefix + key],
                                     args=[int(self.window_s * 1000), self.limit, "1" if count else "0", member])
        except redis.RedisError as exc:
            log.warning("rate limit %s counted in this gateway only (Redis: %s)", self._prefix, type(exc).__name__)
            return None
        return int(waited_ms) / 1000.0

    def hit(self, key: str) -> float:
        wait = self._call(key, True)
        return self._local.hit(key) if wait is None else wait

    def blocked_for(self, key: str) -> float:
        wait = self._call(key, False)
        return self._local.blocked_for(key) if wait is None else wait

    def reset(self, key: str) -> None:
        import redis

        self._local.reset(key)
        with contextlib.suppress(redis.RedisError):
            self._redis.delete(self._prefix + key)
