"""Reading the conversation so far from a rasa-sdk tracker (its events are plain dicts)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

PAYLOAD_PREFIX = "/"


def latest_text(tracker: Tracker) -> str:
    """The resident's last message as typed (the event's text, not the NLU's normalised copy)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return (event.get("text") or "").strip()
    return ((tracker.latest_message or {}).get("text") or "").strip()


def is_payload(text: str | None) -> bool:
    if not text:
        return False
    return text.startswith(PAYLOAD_PREFIX)


def latest_entity(tracker: Tracker, name: str) -> Any | None:
    values = [
        e.get("value")
        for e in (tracker.latest_message or {}).get("entities") or []
        if e.get("entity") == name
    ]
    return values[0] if values else None


def _since_session_start(tracker: Tracker) -> list[dict]:
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return events


def user_turns(tracker: Tracker) -> list[tuple[dict, list[str]]]:
    """Each user message of this session with the names of the actions the bot ran after it."""
    turns: list[tuple[dict, list[str]]] = []
    for event in _since_session_start(tracker):
        kind = event.get("event")
        if kind == "user":
            turns.append((event, []))
        elif (
            kind == "action"
            and turns
            and event.get("name") not in {"action_listen", "action_extract_slots", None}
        ):
            turns[-1][1].append(event["name"])
        elif kind in {"pause", "resume", "restart"}:
            # A person took over in between: what came before is another exchange.
            turns.clear()
    return turns


def consecutive_failures(tracker: Tracker, fallback_action: str) -> int:
    """How many messages in a row the bot has not understood, counting the current one."""
    turns = user_turns(tracker)
    count = 1
    for _event, actions in reversed(turns[:-1]):
        if fallback_action in actions:
            count += 1
        else:
            break
    return count


def previous_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the current user message (action_listen excluded)."""
    turns = user_turns(tracker)
    if len(turns) < 2:
        return None
    actions = turns[-2][1]
    return actions[-1] if actions else None


def recent_user_texts(tracker: Tracker, n: int = 3, *, include_latest: bool = False) -> list[str]:
    """The resident's last n typed messages of this session (button payloads left out), oldest first."""
    texts = [(e.get("text") or "").strip() for e, _ in user_turns(tracker)]
    if not include_latest and texts:
        texts = texts[:-1]
    texts = [t for t in texts if t and not is_payload(t)]
    return texts[-n:]


def earlier_citations(tracker: Tracker, kind: str = "statute", limit: int = 3) -> list[dict]:
    """Citations the bot already sent in this session, most recent first, without duplicates."""
    seen: set[str | None] = set()
    out: list[dict] = []
    for event in reversed(_since_session_start(tracker)):
        if event.get("event") != "bot":
            continue
        custom = ((event.get("data") or {}).get("custom")) or {}
        for c in custom.get("citations") or []:
            if isinstance(c, dict) and c.get("kind") == kind and c.get("id") not in seen:
                seen.add(c.get("id"))
                out.append(c)
    return out[:limit]


def guides_shown(tracker: Tracker) -> frozenset[str]:
    """The plain-language guides the bot already sent in this session (their ids)."""
    return frozenset(
        guide
        for event in _since_session_start(tracker)
        if event.get("event") == "bot"
        if (guide := (((event.get("data") or {}).get("custom")) or {}).get("guide"))
    )


def requested_slots_since(tracker: Tracker, action_name: str) -> set[str]:
    """Slots the form asked for since `action_name` last ran."""
    asked: set[str] = set()
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == action_name:
            break
        if event.get("event") == "slot" and event.get("name") == "requested_slot" and event.get("value"):
            asked.add(event["value"])
    return asked


def ran_this_turn(tracker: Tracker, action_name: str) -> bool:
    """Whether `action_name` already ran since the resident's last message (e.g. a form that just completed)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == action_name:
            return True
    return False


# A follow-up leans on what was said before: it is short, or it opens with a word that points back
# (那如果他还是不给呢？ 要是没签合同呢 可以要多少 去哪里告).
_FOLLOW_UP_OPENERS = (
    "那",
    "如果",
    "要是",
    "假如",
    "万一",
    "可是",
    "但是",
    "还有",
    "另外",
    "他",
    "她",
    "对方",
    "这",
    "这样",
    "那样",
    "能不能",
    "可不可以",
    "可以",
    "需要",
    "要",
    "去哪",
    "多少",
    "怎么",
    "什么",
    "是不是",
    "还能",
    "还要",
    "会不会",
    "有没有",
    "我能",
    "我可以",
    "我要",
    "我老婆",
    "我老公",
    "孩子",
    "时间",
    "过了",
)
FOLLOW_UP_MAX_CHARS = 14
FOLLOW_UP_OPENER_MAX_CHARS = 30


def _cjk_len(text: str) -> int:
    return sum("\u4e00" <= c <= "\u9fff" for c in text)


def looks_like_follow_up(text: str) -> bool:
    text = (text or "").strip()
    if not text or is_payload(text):
        return False
    n = _cjk_len(text)
    return n <= FOLLOW_UP_MAX_CHARS or (
        n <= FOLLOW_UP_OPENER_MAX_CHARS and text.startswith(_FOLLOW_UP_OPENERS)
    )


def answered_before(tracker: Tracker) -> bool:
    """An earlier turn of this session was answered with statutes: the conversation has a topic to follow."""
    return bool(earlier_citations(tracker, limit=1))


def is_follow_up_question(tracker: Tracker) -> bool:
    """A typed message after an answer with statutes that reads as a follow-up ('那我能去哪告', '没有监控 警察会帮
    忙查吗'): it is answered on the conversation's topic, not met with a prompt to start over."""
    text = latest_text(tracker)
    return not is_payload(text) and looks_like_follow_up(text) and answered_before(tracker)


def topic_texts(tracker: Tracker, slot: str = "dispute_type", limit: int = 3) -> list[str]:
    """The resident's typed messages since the conversation's current topic began (the message after which the
    `slot` last changed), the latest one left out, oldest first: what a follow-up refers to."""
    turns = user_turns(tracker)
    events = _since_session_start(tracker)
    start = 0
    value = None
    user_index = -1
    for event in events:
        if event.get("event") == "user":
            user_index += 1
        elif event.get("event") == "slot" and event.get("name") == slot and event.get("value") != value:
            value = event.get("value")
            start = max(user_index, 0)
    texts = [(e.get("text") or "").strip() for e, _ in turns[start:-1]]
    return [t for t in texts if t and not is_payload(t)][-limit:]
