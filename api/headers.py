"""Security headers on every response (pure ASGI middleware, so streaming and WebSockets pass untouched).

- Every response: `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
- HTML (the pages and anything under /static): the pages' Content-Security-Policy, which also forbids framing
  (`frame-ancestors 'none'`; `X-Frame-Options: DENY` for older browsers).
- API answers (`/api/…`, `/healthz`, `/livez`): `Cache-Control: no-store`, since they carry residents'
  conversations and tokens, unless the route set its own.
"""

from __future__ import annotations

from api.routes.pages import CSP

NO_STORE_PREFIXES = ("/api/", "/healthz", "/livez")


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                add = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if content_type.startswith(b"text/html"):
                    add += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]
                if path.startswith(NO_STORE_PREFIXES):
                    add.append((b"cache-control", b"no-store"))
                headers += [(n, v) for n, v in add if n not in present]
                message = message | {"headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
