"""What several flows share: sending messages, the handoff payload, pausing the bot, the facts of a request."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes
from actions.answer import Message
from actions.conversation import earlier_citations, is_payload, latest_entity, latest_text
from actions.knowledge import get_knowledge_base
from actions.retrieval import is_verified
from core.contracts import HandoffPayload, HandoffReason, Priority
from core.settings import get_settings
from knowledge_base.search import KnowledgeBaseNotBuilt

PRIORITY_URGENT = Priority.URGENT
PRIORITY_NORMAL = Priority.NORMAL
SUMMARY_CHARS = 500
QUOTE_CHARS = 120
# The least a clause must say, besides the request words, to count as facts of the dispute.
FACT_MIN_CHARS = 4

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_RE = re.compile(r"[，,。！!？?；;\s]+")
# What is left at the edge of a clause a request was cut out of ("老板欠我工资我要｜找调解员").
_EDGE_RE = re.compile(
    r"^(?:我要|我想|我需要|请|麻烦|帮我|给我|能不能|可以|可不可以|那)+"
    r"|(?:我要|我想|我需要|请|麻烦你们|麻烦|帮我|给我|一下|吧|啊|呢|吗|了)+$"
)


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def send(dispatcher: CollectingDispatcher, message: Message) -> None:
    kwargs: dict[str, Any] = {"text": message.text}
    if message.custom is not None:
        kwargs["json_message"] = message.custom
    if message.buttons:
        kwargs["buttons"] = message.buttons
    dispatcher.utter_message(**kwargs)


def cjk_len(text: str) -> int:
    return len(_CJK_RE.findall(text or ""))


def handoff_payload(
    *,
    reason: HandoffReason,
    priority: Priority,
    dispute_type: str | None,
    summary: str,
    suggested_citations: list[dict],
) -> dict:
    """The custom payload the gateway turns into a handoff record (core.contracts.HandoffPayload)."""
    return HandoffPayload(
        reason=reason,
        priority=priority,
        dispute_type=dispute_type,
        summary=summary[:SUMMARY_CHARS],
        suggested_citations=suggested_citations,
    ).custom()


def suggested_citations(tracker: Tracker, query: str | None, region: str | None) -> list[dict]:
    """Statutes already cited in this conversation; if none, the best verified articles for `query`."""
    earlier = earlier_citations(tracker)
    if earlier or not query:
        return earlier
    try:
        kb = get_knowledge_base()
        snap = kb.snapshot()
        hits = kb.search(query, k=get_settings().answer_top_k, kind="statute", region=region)
    except KnowledgeBaseNotBuilt:
        return []
    return [h.citation() for h in hits if is_verified(snap, h)]


def pause_events(tracker: Tracker) -> list[EventType]:
    """Stop any form, pause the bot until a mediator hands the conversation back.

    The trailing action_listen makes the resident's next message, after `ConversationResumed`, start a new
    turn exactly like any other message, so the bot answers it instead of repeating itself."""
    events: list[EventType] = []
    if (tracker.active_loop or {}).get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    return events + [ConversationPaused(), ActionExecuted("action_listen")]


def region(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("metadata") or {}).get("region")


def dispute_type(tracker: Tracker) -> str | None:
    value = latest_entity(tracker, "dispute_type") or tracker.get_slot("dispute_type")
    return value if disputes.get(value) else None


def message_text(tracker: Tracker) -> str:
    """The resident's last message as the NLU read it (Simplified, NFKC), or as typed when there is no parse."""
    text = (tracker.latest_message or {}).get("text") or latest_text(tracker)
    return "" if is_payload(text) else text.strip()


def request_words(tracker: Tracker) -> str | None:
    """The words of the request for a person or for mediation the NLU found in the last message
    (bot/components/handoff.py), e.g. "找调解员"."""
    found = (tracker.latest_message or {}).get("handoff_request") or {}
    return found.get("words") or None


def facts_besides_request(text: str, words: str | None, request_words_re: re.Pattern) -> str:
    """The clauses of a request that describe the dispute, without the request itself:
    "我要找调解员，邻居家装修把我家墙弄裂了" → "邻居家装修把我家墙弄裂了"; "" for a bare "转人工".

    `words` (what the NLU matched as the request) is cut out first; `request_words_re` (the flow's own request
    vocabulary) decides whether what is left of a clause still says something."""
    kept = []
    for clause in _CLAUSE_RE.split(text or ""):
        rest = clause.replace(words, " ") if words and words in clause else clause
        if cjk_len(request_words_re.sub("", rest)) < FACT_MIN_CHARS:
            continue
        kept.append(clause if rest == clause else _EDGE_RE.sub("", rest.strip()).strip())
    return "，".join(kept)
