"""Refuses a URL with a NUL character (`%00`) in its path or query string, HTTP or WebSocket, before any route.

Path and query values (conversation and handoff ids, `?conversation_id=`, `?token=`) go into database queries, and
PostgreSQL cannot take a NUL in a text value at all: psycopg raises DataError, which was a 500 (found fuzzing;
pinned by tests/api/test_fuzz_openapi.py). No id or parameter of the API can contain one, so the request is answered
400 here, once for every route, instead of a check in each. (Lone surrogates cannot arrive this way: servers decode
%-escapes that are not UTF-8 to U+FFFD.)
"""

from __future__ import annotations

import json

NUL_DETAIL = "the URL contains a NUL character (%00)"


def _has_nul(scope) -> bool:
    query = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class NulFreeUrls:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or not _has_nul(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": 1008, "reason": NUL_DETAIL}
            )  # before accept: a 403
            return
        body = json.dumps({"detail": NUL_DETAIL}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
