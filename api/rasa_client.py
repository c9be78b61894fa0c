"""Talks to the Rasa server's REST channel and turns its messages into contract replies."""

from __future__ import annotations

import asyncio
import logging
import uuid
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
            replies.append(
                BotReply(text=str(custom.get("text") or ""), buttons=_buttons(custom.get("buttons")))
            )
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
    """Sync calls for the rare events (pause, resume, status); the resident's message goes through the async
    `send`, so that a gateway waiting for Rasa holds no worker thread."""

    def __init__(
        self,
        rasa_url: str,
        action_url: str,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ):
        self.rasa_url = rasa_url.rstrip("/")
        self.action_url = action_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=3.0)
        # The internal token on every call: Rasa's HTTP API (--auth-token) and its REST channel both check it.
        self._params = {"token": token} if token else None
        self._http = httpx.Client(timeout=self._timeout, transport=transport, params=self._params)
        self._async_transport = async_transport
        self._ahttp: httpx.AsyncClient | None = None
        self._ahttp_loop: asyncio.AbstractEventLoop | None = None

    def _async_client(self) -> httpx.AsyncClient:
        """One pooled async client per event loop (a test may run several loops one after the other)."""
        loop = asyncio.get_running_loop()
        if self._ahttp is None or self._ahttp_loop is not loop:
            self._ahttp = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._async_transport,
                params=self._params,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
            self._ahttp_loop = loop
        return self._ahttp

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        """One resident message; retried once when Rasa could not take the conversation's lock.

        A lock error shows as HTTP 5xx naming the lock, or, on the REST channel (which swallows the error), as an
        empty answer while the tracker has not recorded the message: `metadata["gateway_message_id"]` tells."""
        metadata = dict(metadata or {})
        metadata.setdefault("gateway_message_id", uuid.uuid4().hex)
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        http = self._async_client()
        for attempt in (1, 2):
            try:
                resp = await http.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body)
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
            if resp.status_code >= 500 and _is_lock_error(resp) and attempt == 1:
                log.info("conversation %s: Rasa lock error, retrying once", conversation_id)
                continue
            if resp.status_code != 200:
                raise RasaUnavailable(f"Rasa answered HTTP {resp.status_code}")
            try:
                data = resp.json()
            except ValueError as exc:
                raise RasaUnavailable("Rasa answered with something that is not JSON") from exc
            replies = merge_rasa_messages(data if isinstance(data, list) else [])
            if (
                replies
                or attempt == 2
                or await self._was_processed(http, conversation_id, metadata["gateway_message_id"])
            ):
                return replies
            log.info(
                "conversation %s: Rasa dropped the message (lock not acquired), retrying once",
                conversation_id,
            )
        return []

    async def _was_processed(self, http: httpx.AsyncClient, conversation_id: str, marker: str) -> bool:
        """Did the tracker record the user message carrying `marker`? When unsure, say yes (no resend)."""
        try:
            resp = await http.get(
                f"{self.rasa_url}/conversations/{conversation_id}/tracker",
                params={"include_events": "AFTER_RESTART"},
                timeout=5.0,
            )
            if resp.status_code != 200:
                return True
            events = resp.json().get("events") or []
        except (httpx.HTTPError, ValueError, AttributeError):
            return True
        return any(
            e.get("event") == "user" and (e.get("metadata") or {}).get("gateway_message_id") == marker
            for e in reversed(events)
            if isinstance(e, dict)
        )

    def append_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        """POST one event to the tracker (Rasa HTTP API, `--enable-api`); retried once on a lock error."""
        url = f"{self.rasa_url}/conversations/{conversation_id}/tracker/events"
        for attempt in (1, 2):
            try:
                resp = self._http.post(url, json=event)
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
            if resp.status_code == 200:
                return
            if resp.status_code >= 500 and _is_lock_error(resp) and attempt == 1:
                continue
            raise RasaUnavailable(f"Rasa answered HTTP {resp.status_code} to {event.get('event')}")

    def resume(self, conversation_id: str) -> None:
        """The mediator handed the conversation back: the bot listens again."""
        self.append_event(conversation_id, {"event": "resume"})

    def pause(self, conversation_id: str) -> None:
        """The resident asked for a person without the bot: the bot stays quiet until `resume`."""
        self.append_event(conversation_id, {"event": "pause"})

    def rasa_status(self) -> dict[str, Any]:
        resp = self._http.get(f"{self.rasa_url}/status", timeout=3.0)
        resp.raise_for_status()
        return resp.json()

    def action_server_healthy(self) -> bool:
        try:
            return self._http.get(f"{self.action_url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        self._http.close()
        if self._ahttp is not None and self._ahttp_loop is asyncio.get_running_loop():
            await self._ahttp.aclose()


def _is_lock_error(resp: httpx.Response) -> bool:
    body = resp.text.lower()
    return (
        "lockerror" in body
        or "lock for conversation" in body
        or "acquiring lock" in body
        or "acquire lock" in body
    )
