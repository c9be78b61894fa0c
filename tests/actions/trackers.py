"""Tracker fixtures for action tests: a rasa-sdk Tracker as the Rasa server would send it."""

from __future__ import annotations

import sys
from typing import Any

from rasa_sdk import Tracker

from core.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bot"))
from components.lexicon import extract_entities, normalize  # noqa: E402  (bot/ is not a package)


def user(text: str, intent: str = "ask_legal_question", **parse_extra: Any) -> dict:
    normalized = normalize(text) if not text.startswith("/") else text
    parse = {
        "text": normalized,
        "intent": {"name": intent, "confidence": 0.95},
        "entities": extract_entities(normalized) if not text.startswith("/") else [],
        "metadata": {},
    }
    return {"event": "user", "text": text, "parse_data": parse | parse_extra}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def bot(text: str, custom: dict | None = None) -> dict:
    return {"event": "bot", "text": text, "data": {"custom": custom} if custom else {}}


def slot(name: str, value: Any) -> dict:
    return {"event": "slot", "name": name, "value": value}


def make_tracker(
    text: str,
    intent: str = "ask_legal_question",
    *,
    history: list[dict] | None = None,
    slots: dict | None = None,
    active_loop: str | None = None,
    metadata: dict | None = None,
    entities: list[dict] | None = None,
    after: list[dict] | None = None,
    **parse_extra: Any,
) -> Tracker:
    """The tracker after `history`, the resident's message `text` (NLU entities from the bot's rules) and the
    events of this turn so far (`after`)."""
    event = user(text, intent, **parse_extra)
    if metadata:
        event["parse_data"]["metadata"] = metadata
    if entities is not None:
        event["parse_data"]["entities"] = entities
    events = (
        [
            {"event": "action", "name": "action_session_start"},
            {"event": "session_started"},
            action("action_listen"),
        ]
        + list(history or [])
        + [event]
        + list(after or [])
    )
    return Tracker(
        sender_id="c-1",
        slots=dict(slots or {}),
        latest_message=event["parse_data"],
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def turn(text: str, intent: str, *actions_and_events: dict) -> list[dict]:
    """One earlier exchange: the resident's message, then what the bot did."""
    return [user(text, intent), *actions_and_events, action("action_listen")]
