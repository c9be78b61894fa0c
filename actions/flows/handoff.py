"""Handing the conversation to a person: at once when the resident asks for one (with whatever facts the request
carries), and after emergency guidance when the message names a danger (urgent)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import emergency
from actions.conversation import (
    earlier_citations,
    is_payload,
    latest_text,
    previous_action,
    recent_user_texts,
)
from actions.flows.answer import ActionAnswerLegalQuestion
from actions.flows.common import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    dispute_type,
    facts_besides_request,
    handoff_payload,
    message_text,
    pause_events,
    quote,
    region,
    request_words,
    suggested_citations,
)
from actions.flows.intake import intake_lines
from bot.components import lexicon
from core.contracts import HandoffReason

HANDOFF_TEXT = "好的，正在为您转接人民调解员，请稍等。调解员接入后会在这里直接和您对话。"
HANDOFF_WITH_FACTS_TEXT = (
    "好的，正在为您转接人民调解员，您刚才说的情况会一并转给调解员，请稍等。调解员接入后会在这里直接和您对话。"
)

# The words of a request for a person: what is left of a clause without them is what it says about the dispute.
_HANDOFF_WORDS_RE = re.compile(
    r"转人工|人工客服|人工服务|人工|真人|活人|人民调解员|调解员|工作人员|客服|接线员|负责人|领导|管事的|"
    r"我要|我想|我需要|帮我|给我|麻烦|请|投诉|转接|转给|转|找人|找个人|找|叫|让|联系|你们|有没有|能不能|"
    r"一下|一个|个|跟我|和我|说话|说|聊|在吗|在不在|吧|啊|呢|吗|[\W_]"
)


def request_facts(tracker: Tracker) -> str:
    """What the resident's request for a person says about the dispute ("" for a bare request or a button)."""
    return facts_besides_request(message_text(tracker), request_words(tracker), _HANDOFF_WORDS_RE)


class ActionHandoff(Action):
    """The resident asked for a person (or gave up on the bot): hand off at once, with the facts they gave."""

    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        reason = (
            HandoffReason.REPEATED_FALLBACK
            if previous_action(tracker) == "action_fallback"
            else HandoffReason.RESIDENT_REQUEST
        )
        facts = request_facts(tracker)
        parts = []
        if facts:
            parts.append(f"居民要求转人工，并说明了情况：“{quote(facts)}”。")
        elif text and not is_payload(text):
            parts.append(f"居民要求转人工，原话：“{quote(text)}”。")
        else:
            parts.append(
                "居民点击了“转人工”。"
                if reason == HandoffReason.RESIDENT_REQUEST
                else "机器人连续没能理解居民的意思，居民选择转人工。"
            )
        earlier = recent_user_texts(tracker, 3)
        if earlier:
            parts.append("此前说过：" + "；".join(f"“{quote(t, 80)}”" for t in earlier) + "。")
        if (tracker.active_loop or {}).get("name") == "intake_form" and intake_lines(tracker):
            parts.append("调解登记（未完成）：" + "；".join(intake_lines(tracker)) + "。")
        # A bare request ("转人工") says nothing about the dispute: search only on what carries substance.
        query = " ".join(t for t in earlier + [facts] if t and not is_payload(t)) or None
        payload = handoff_payload(
            reason=reason,
            priority=PRIORITY_NORMAL,
            dispute_type=dispute_type(tracker),
            summary="".join(parts),
            suggested_citations=suggested_citations(tracker, query, region(tracker)),
        )
        dispatcher.utter_message(
            text=HANDOFF_WITH_FACTS_TEXT if facts else HANDOFF_TEXT, json_message=payload
        )
        return pause_events(tracker)


class ActionEmergency(Action):
    """Emergency guidance first (110 / 120 / 119 / 12338 / psychological help lines), then an urgent handoff."""

    def name(self) -> str:
        return "action_emergency"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        hint = (tracker.latest_message or {}).get("emergency_kind")
        message = (tracker.latest_message or {}).get("text") or text
        kind = emergency.classify(message, hint)
        # The classifier alone, no word of the safety net: a question with no word of danger, or an account of what
        # happened before with nothing of danger now ("送到县医院抢救了三天", "前几天……对方先动手打我 我鼻梁骨折了"),
        # is answered as the legal matter it is.
        # So is a follow-up in a conversation about a dispute that names no danger at all and calls for no help
        # ("就算真逗了他也得赔吧" after a dog bite): the classifier alone misfires there far more often than not.
        if hint is None and (
            (kind == "general" and emergency.QUESTION_RE.search(message))
            or lexicon.past_event_without_danger(message)
            or (
                kind == "general"
                and tracker.get_slot("dispute_type")
                and not emergency.CALL_FOR_HELP_RE.search(message)
            )
        ):
            dispatcher.utter_message(text=emergency.SAFETY_NOTE)
            return ActionAnswerLegalQuestion().run(dispatcher, tracker, domain)
        dispatcher.utter_message(text=emergency.guidance(kind))
        summary = f"紧急情况（{emergency.LABELS[kind]}）：居民说“{quote(text)}”。已提示拨打紧急电话。"
        earlier = recent_user_texts(tracker, 2)
        if earlier:
            summary += "此前说过：" + "；".join(f"“{quote(t, 80)}”" for t in earlier) + "。"
        payload = handoff_payload(
            reason=HandoffReason.EMERGENCY,
            priority=PRIORITY_URGENT,
            dispute_type=dispute_type(tracker),
            summary=summary,
            suggested_citations=earlier_citations(tracker),
        )
        dispatcher.utter_message(text=emergency.HANDOFF_TEXT, json_message=payload)
        return pause_events(tracker)
