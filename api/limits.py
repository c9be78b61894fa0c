"""Input limits: a cap on request bodies (ASGI middleware), sliding-window rate limits (in memory, or in Redis
shared by every gateway), the back-off of failed logins, and who the client is.

The client is the peer address of the connection. Behind the balancer (HAProxy, `option forwardfor`) that is the
balancer, so the gateway believes X-Forwarded-For, and only from a peer listed in the `trusted_proxies` setting:
`create_app` installs uvicorn's own ProxyHeadersMiddleware with that list (the rightmost address that is not a
trusted proxy is the client), and the supervisor starts uvicorn with `--no-proxy-headers` so that its default
(trust 127.0.0.1) is not applied a second time with another list.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

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
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
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

    def hit(self, key: str, cost: int = 1) -> float:
        """Count one event (`cost` events: a heavier request); returns 0 when allowed, else the seconds until it
        would be. A refused request counts nothing."""
        cost = max(1, min(int(cost), self.limit))
        with self._lock:
            now = self.clock()
            q = self._trim(key, now)
            if len(q) + cost > self.limit:
                return max(0.001, self.window_s - (now - q[len(q) + cost - self.limit - 1]))
            q.extend([now] * cost)
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
local cost = tonumber(ARGV[5] or '1')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count + cost > limit then
  local nth = count + cost - limit - 1
  local oldest = redis.call('ZRANGE', KEYS[1], nth, nth, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[3] == '1' then
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
  end
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

    def _call(self, key: str, count: bool, cost: int = 1) -> float | None:
        import redis

        member = f"{uuid.uuid4().hex}{next(self._seq)}"
        try:
            waited_ms = self._script(
                keys=[self._prefix + key],
                args=[int(self.window_s * 1000), self.limit, "1" if count else "0", member, cost],
            )
        except redis.RedisError as exc:
            log.warning(
                "rate limit %s counted in this gateway only (Redis: %s)", self._prefix, type(exc).__name__
            )
            return None
        return int(waited_ms) / 1000.0

    def hit(self, key: str, cost: int = 1) -> float:
        cost = max(1, min(int(cost), self.limit))
        wait = self._call(key, True, cost)
        return self._local.hit(key, cost) if wait is None else wait

    def blocked_for(self, key: str) -> float:
        wait = self._call(key, False)
        return self._local.blocked_for(key) if wait is None else wait

    def reset(self, key: str) -> None:
        import redis

        self._local.reset(key)
        with contextlib.suppress(redis.RedisError):
            self._redis.delete(self._prefix + key)


# -- who the client is, and the answer over a limit ------------------------------------------------------------------


def client_address(conn) -> str:
    """The key of the per-client limits: the peer address of a Request or WebSocket, as ProxyHeadersMiddleware
    left it (X-Forwarded-For only from a trusted proxy; see the module docstring)."""
    client = conn.client
    return client.host if client is not None and client.host else "unknown"


def too_many(wait: float, zh: str, en: str) -> HTTPException:
    """429 with Retry-After (whole seconds, at least 1) and a detail that a resident can read, Chinese and English."""
    seconds = max(1, math.ceil(wait))
    return HTTPException(
        429,
        f"{zh}请 {seconds} 秒后再试。{en}; try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


# -- back-off of failed attempts (logins) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ladder:
    """One kind of key's back-off: `free` failures cost nothing, each further one doubles the wait after it, from
    `base_s` up to `max_s` (1 s, 2 s, 4 s … max_s)."""

    free: int
    max_s: float
    base_s: float = 1.0

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(failures - self.free, 60))


class BackOff:
    """Failed attempts counted per key, each kind of key on its own ladder; thread-safe.

    `attempt` is asked *before* the work it guards (a password check) and already counts the attempt as a failure
    of every key, atomically for all of them, so parallel attempts cannot all pass before any has failed. `refund`
    takes one failure back (the work was not done, or it succeeded), `reset` forgets keys. A key is forgotten
    `forget_s` after the wait of its last failure ended, so a wait expires and the count starts again."""

    def __init__(self, ladders: Mapping[str, Ladder], forget_s: float, clock=time.monotonic):
        self.ladders = dict(ladders)
        self.forget_s = forget_s
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], tuple[int, float]] = {}

    def _current(self, kind: str, key: str, now: float) -> tuple[int, float]:
        failures, at = self._state.get((kind, key), (0, now))
        if failures and now - at >= self.ladders[kind].wait(failures) + self.forget_s:
            del self._state[(kind, key)]
            return 0, now
        return failures, at

    def _wait(self, keys: Mapping[str, str], now: float) -> tuple[float, dict[str, int]]:
        wait, counts = 0.0, {}
        for kind, key in keys.items():
            failures, at = self._current(kind, key, now)
            counts[kind] = failures
            wait = max(wait, at + self.ladders[kind].wait(failures) - now)
        return wait, counts

    def attempt(self, keys: Mapping[str, str]) -> float:
        """0, and the attempt counted as a failure of each key; else the seconds until one may be made (nothing
        counted: a refused attempt does not lengthen the wait)."""
        with self._lock:
            now = self.clock()
            wait, counts = self._wait(keys, now)
            if wait > 0:
                return max(0.001, wait)
            for kind, key in keys.items():
                self._state[(kind, key)] = (counts[kind] + 1, now)
            if len(self._state) > 10_000:  # forget keys whose wait and memory are over
                for kind, key in list(self._state):
                    self._current(kind, key, now)
            return 0.0

    def blocked_for(self, keys: Mapping[str, str]) -> float:
        with self._lock:
            wait, _ = self._wait(keys, self.clock())
            return max(0.001, wait) if wait > 0 else 0.0

    def refund(self, keys: Mapping[str, str]) -> None:
        """Take back one counted failure of each key."""
        with self._lock:
            for kind, key in keys.items():
                failures, at = self._state.get((kind, key), (0, 0.0))
                if failures <= 1:
                    self._state.pop((kind, key), None)
                else:
                    self._state[(kind, key)] = (failures - 1, at)

    def reset(self, keys: Mapping[str, str]) -> None:
        with self._lock:
            for kind, key in keys.items():
                self._state.pop((kind, key), None)


_BACK_OFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, forget = ARGV[1], tonumber(ARGV[2])
local function wait_of(i, n)
  local free, base, max = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  if n < free then return 0 end
  return math.min(max, base * 2 ^ math.min(n - free, 60))
end
if op == 'attempt' or op == 'check' then
  local wait, counts = 0, {}
  for i, key in ipairs(KEYS) do
    local state = redis.call('HMGET', key, 'n', 't')
    local n, at = tonumber(state[1]) or 0, tonumber(state[2]) or now
    if n > 0 and now - at >= wait_of(i, n) + forget then
      n, at = 0, now
      redis.call('DEL', key)
    end
    counts[i] = n
    wait = math.max(wait, at + wait_of(i, n) - now)
  end
  if wait > 0 then return math.max(1, math.ceil(wait)) end
  if op == 'attempt' then
    for i, key in ipairs(KEYS) do
      redis.call('HSET', key, 'n', counts[i] + 1, 't', now)
      redis.call('PEXPIRE', key, math.ceil(wait_of(i, counts[i] + 1) + forget))
    end
  end
elseif op == 'refund' then
  for _, key in ipairs(KEYS) do
    local n = tonumber(redis.call('HGET', key, 'n') or '0')
    if n <= 1 then redis.call('DEL', key) else redis.call('HINCRBY', key, 'n', -1) end
  end
else
  for _, key in ipairs(KEYS) do redis.call('DEL', key) end
end
return 0
"""


class RedisBackOff:
    """`BackOff` kept in Redis (a hash per key, updated by a script on Redis's own clock), so that every gateway
    counts the same failures; while Redis cannot be reached each gateway counts alone, as `RedisRateLimiter`."""

    def __init__(self, url: str, name: str, ladders: Mapping[str, Ladder], forget_s: float):
        import redis

        self.ladders = dict(ladders)
        self.forget_s = forget_s
        self._prefix = f"fengqiao:backoff:{name}:"
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_BACK_OFF)
        self._local = BackOff(ladders, forget_s)

    def _call(self, op: str, keys: Mapping[str, str]) -> float | None:
        import redis

        args: list = [op, int(self.forget_s * 1000)]
        for kind in keys:
            ladder = self.ladders[kind]
            args += [ladder.free, int(ladder.base_s * 1000), int(ladder.max_s * 1000)]
        try:
            waited_ms = self._script(
                keys=[f"{self._prefix}{kind}:{key}" for kind, key in keys.items()], args=args
            )
        except redis.RedisError as exc:
            log.warning(
                "back-off %s counted in this gateway only (Redis: %s)", self._prefix, type(exc).__name__
            )
            return None
        return int(waited_ms) / 1000.0

    def attempt(self, keys: Mapping[str, str]) -> float:
        wait = self._call("attempt", keys)
        return self._local.attempt(keys) if wait is None else wait

    def blocked_for(self, keys: Mapping[str, str]) -> float:
        wait = self._call("check", keys)
        return self._local.blocked_for(keys) if wait is None else wait

    def refund(self, keys: Mapping[str, str]) -> None:
        self._local.refund(keys)
        self._call("refund", keys)

    def reset(self, keys: Mapping[str, str]) -> None:
        self._local.reset(keys)
        self._call("reset", keys)
