"""Talks to the Rasa server's REST channel and turns its messages into contract replies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached, timed out or answered with an error."""


@dataclass
class BotReply:
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)


def merge_rasa_messages(messages: list[dict[str, Any]]) -> list[BotReply]:
    """Rasa sends text and custom payloads as separate messages; a custom payload with citations belongs to
    the text before it."""
    replies: list[BotReply] = []
    for msg in messages:
        custom = msg.get("custom") if isinstance(msg.get("custom"), dict) else None
        if msg.get("text"):
            replies.append(BotReply(text=str(msg["text"]), buttons=_buttons(msg.get("buttons"))))
        if custom is None:
            continue
        if custom.get("text") or not replies:
            replies.append(BotReply(text=str(custom.get("text") or ""), buttons=_buttons(custom.get("buttons"))))
        target = replies[-1]
        target.citations.extend(c for c in custom.get("citations") or [] if isinstance(c, dict))
        target.custom.update({k: v for k, v in custom.items() if k not in {"text", "citations", "buttons"}})
    return replies


def _buttons(raw: Any) -> list[dict[str, str]]:
    out = []
    for b in raw or []:
        if isinstance(b, dict) and b.get("title") and b.get("payload"):
            out.append({"title": str(b["title"]), "payload": str(b["payload"])})
    return out


class RasaClient:
    def __init__(self, rasa_url: str, action_url: str, timeout_s: float):
        self.rasa_url = rasa_url.rstrip("/")
        self.action_url = action_url.rstrip("/")
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=3.0))

    def send(self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotReply]:
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        try:
            resp = self._http.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered with something that is not JSON") from exc
        return merge_rasa_messages(data if isinstance(data, list) else [])

    def rasa_status(self) -> dict[str, Any]:
        resp = self._http.get(f"{self.rasa_url}/status", timeout=3.0)
        resp.raise_for_status()
        return resp.json()

    def action_server_healthy(self) -> bool:
        try:
            return self._http.get(f"{self.action_url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._http.close()
