"""Rasa's REST channel for the gateway alone: a message without the internal token is refused.

Same URL as the built-in channel (`/webhooks/rest/webhook`), same behaviour, plus the check. The token comes
from `FENGQIAO_INTERNAL_TOKEN`, which only the supervisor, the gateway and the bot's processes know.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import response


class GatewayInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, token: str | None = None) -> None:
        self.token = token or os.environ.get("FENGQIAO_INTERNAL_TOKEN") or None

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        return cls((credentials or {}).get("token"))

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        token = self.token

        @blueprint.middleware("request")
        async def _check(request):
            if token is None or request.path.endswith("/rest/") or request.path.endswith("/rest"):
                return None  # no token configured (a developer's `rasa shell`), or the channel's health page
            supplied = request.args.get("token") or ""
            if not hmac.compare_digest(supplied.encode(), token.encode()):
                return response.json({"error": "the internal token is required"}, status=401)
            return None

        return blueprint
