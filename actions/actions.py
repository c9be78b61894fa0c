"""Custom actions called by the Rasa server (`python -m rasa_sdk --actions actions.actions`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes, emergency
from actions.answer import Message, compose_answer
from actions.conversation import (
    consecutive_failures,
    earlier_citations,
    is_payload,
    latest_entity,
    latest_text,
    looks_like_follow_up,
    previous_action,
    ran_this_turn,
    recent_user_texts,
    requested_slots_since,
    topic_texts,
)
from actions.knowledge import get_knowledge_base
from actions.retrieval import find_precedents, find_statutes, infer_dispute_type, is_verified
from fengqiao.settings import get_settings
from knowledge_base.search import KnowledgeBaseNotBuilt

log = logging.getLogger(__name__)

KB_UNAVAILABLE = "抱歉，法律知识库正在准备中，暂时无法检索条文。请稍后再试，或输入“转人工”联系调解员。"
HANDOFF_TEXT = "好的，正在为您转接人民调解员，请稍等。调解员接入后会在这里直接和您对话。"
FALLBACK_FIRST = "抱歉，我没太明白您的意思。能不能换个说法，用一两句话说说发生了什么事？也可以点下面的类别。"
FALLBACK_TOO_LONG = "您发的内容比较长，我一下子没能理解。请用一两句话说说最想问的问题，比如“老板拖欠三个月工资怎么办”。"
FALLBACK_EMPTY = "我好像没收到文字内容。请用一两句话说说您遇到的事。"
FALLBACK_OFFER_MEDIATOR = "不好意思，我还是没能理解您的意思。您可以换个说法再试一次，也可以让人民调解员来帮您。"
FALLBACK_MEDIATOR_BUTTONS = [
    {"title": "转人工调解员", "payload": "/request_human"},
    {"title": "看看我能做什么", "payload": "/ask_capabilities"},
]
TOPIC_BUTTONS = [{"title": name, "payload": f'/inform{{"dispute_type":"{name}"}}'} for name in disputes.NAMES[:8]]

PRIORITY_URGENT = "urgent"
PRIORITY_NORMAL = "normal"
SUMMARY_CHARS = 500
QUOTE_CHARS = 120

CLARIFY_SLOTS = ("dispute_type", "other_party")
CLARIFY_DETAIL = "clarify_detail"
INTAKE_INTRO = "好的，我帮您登记人民调解申请，会问几个简单的问题，随时可以说“算了”取消。"
INTAKE_FACTS_NOTED = "您刚才说的情况我已经记下了。"
INTAKE_SLOTS = ("case_facts", "case_party", "case_amount", "case_outcome", "case_contact")
INTAKE_LABELS = {"case_facts": "事情经过", "case_party": "对方", "case_amount": "涉及金额",
                 "case_outcome": "希望的结果", "case_contact": "联系方式"}


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _send(dispatcher: CollectingDispatcher, message: Message) -> None:
    kwargs: dict[str, Any] = {"text": message.text}
    if message.custom is not None:
        kwargs["json_message"] = message.custom
    if message.buttons:
        kwargs["buttons"] = message.buttons
    dispatcher.utter_message(**kwargs)


# --------------------------------------------------------------------------------------------------
# Handoff


def handoff_payload(*, reason: str, priority: str, dispute_type: str | None, summary: str,
                    suggested_citations: list[dict]) -> dict:
    """The custom payload the gateway turns into a handoff record."""
    return {"handoff": {"reason": reason, "priority": priority, "dispute_type": dispute_type,
                        "summary": summary[:SUMMARY_CHARS], "suggested_citations": suggested_citations}}


_REQUEST_WORDS_RE = re.compile(r"转人工|人工服务|人工|真人|找调解员|调解员|工作人员|客服|我要|我想|帮我|请|投诉|转接|找人|[\W_]")


def _substance(text: str | None) -> str:
    """The part of a handoff request that describes the dispute ("" for a bare "转人工")."""
    rest = _REQUEST_WORDS_RE.sub("", text or "")
    return text or "" if len(rest) >= 4 else ""


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


def _region(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("metadata") or {}).get("region")


def _dispute_type(tracker: Tracker) -> str | None:
    value = latest_entity(tracker, "dispute_type") or tracker.get_slot("dispute_type")
    return value if disputes.get(value) else None


def _intake_lines(tracker: Tracker) -> list[str]:
    return [f"{INTAKE_LABELS[s]}：{tracker.get_slot(s)}" for s in INTAKE_SLOTS if tracker.get_slot(s)]


class ActionHandoff(Action):
    """The resident asked for a person (or gave up on the bot): hand off at once."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        reason = "repeated_fallback" if previous_action(tracker) == "action_fallback" else "resident_request"
        parts = []
        if text and not is_payload(text):
            parts.append(f"居民要求转人工，原话：“{_quote(text)}”。")
        else:
            parts.append("居民点击了“转人工”。" if reason == "resident_request"
                         else "机器人连续没能理解居民的意思，居民选择转人工。")
        earlier = recent_user_texts(tracker, 3)
        if earlier:
            parts.append("此前说过：" + "；".join(f"“{_quote(t, 80)}”" for t in earlier) + "。")
        if (tracker.active_loop or {}).get("name") == "intake_form" and _intake_lines(tracker):
            parts.append("调解登记（未完成）：" + "；".join(_intake_lines(tracker)) + "。")
        summary = "".join(parts)
        # A bare request ("转人工") says nothing about the dispute: search only on what carries substance.
        query = " ".join(t for t in earlier + [_substance(text)] if t and not is_payload(t)) or None
        payload = handoff_payload(reason=reason, priority=PRIORITY_NORMAL, dispute_type=_dispute_type(tracker),
                                  summary=summary, suggested_citations=suggested_citations(tracker, query,
                                                                                            _region(tracker)))
        dispatcher.utter_message(text=HANDOFF_TEXT, json_message=payload)
        return pause_events(tracker)


class ActionEmergency(Action):
    """Emergency guidance first (110 / 120 / 119 / 12338 / psychological help lines), then an urgent handoff."""

    def name(self) -> str:
        return "action_emergency"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        hint = (tracker.latest_message or {}).get("emergency_kind")
        kind = emergency.classify((tracker.latest_message or {}).get("text") or text, hint)
        dispatcher.utter_message(text=emergency.guidance(kind))
        summary = f"紧急情况（{emergency.LABELS[kind]}）：居民说“{_quote(text)}”。已提示拨打紧急电话。"
        earlier = recent_user_texts(tracker, 2)
        if earlier:
            summary += "此前说过：" + "；".join(f"“{_quote(t, 80)}”" for t in earlier) + "。"
        payload = handoff_payload(reason="emergency", priority=PRIORITY_URGENT, dispute_type=_dispute_type(tracker),
                                  summary=summary, suggested_citations=earlier_citations(tracker))
        dispatcher.utter_message(text=emergency.HANDOFF_TEXT, json_message=payload)
        return pause_events(tracker)


# --------------------------------------------------------------------------------------------------
# Answers


class ActionAnswerLegalQuestion(Action):
    def name(self) -> str:
        return "action_answer_legal_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        # The clarifying questions just ended: answer the vague question plus what the resident added. A pending
        # question left over from clarifying questions that were abandoned is ignored (and cleared below).
        pending = tracker.get_slot("pending_question") if ran_this_turn(tracker, "clarify_form") else None
        if pending:
            question = pending
            party = tracker.get_slot("other_party")
            if party and party not in question:
                question += " " + party.replace("/", " ")
            dispute_type = tracker.get_slot("dispute_type")
        else:
            question = (tracker.latest_message or {}).get("text") or latest_text(tracker)
            dispute_type = latest_entity(tracker, "dispute_type")
            if not dispute_type and previous_action(tracker) == "action_topic_prompt":
                dispute_type = tracker.get_slot("dispute_type")
            elif not dispute_type and looks_like_follow_up(question):
                # A follow-up keeps the conversation's topic: its type, and what was said about it, go to the
                # search with it. A message that names its own type, or says enough alone, starts fresh.
                established = tracker.get_slot("dispute_type")
                earlier = topic_texts(tracker)
                if established and earlier:
                    dispute_type = established
                    question = " ".join(earlier + [question])
        dispute_type = dispute_type if disputes.get(dispute_type) else None
        region = _region(tracker)
        reset = [SlotSet("pending_question", None), SlotSet("clarify_detail", None), SlotSet("other_party", None)]
        try:
            kb = get_knowledge_base()
            k = get_settings().answer_top_k
            statutes = find_statutes(kb, question, dispute_type=dispute_type, region=region, k=k)
            dispute_type = dispute_type or infer_dispute_type(statutes)
            precedents = find_precedents(kb, question, dispute_type=dispute_type, statutes=statutes,
                                         region=region) if statutes else []
        except KnowledgeBaseNotBuilt:
            log.warning("knowledge base not built; cannot answer %r", question[:50])
            dispatcher.utter_message(text=KB_UNAVAILABLE)
            return reset
        for message in compose_answer(question, statutes, precedents, dispute_type, kb.snapshot().repealed):
            _send(dispatcher, message)
        events = reset
        if dispute_type and dispute_type != tracker.get_slot("dispute_type"):
            events = [SlotSet("dispute_type", dispute_type)] + events
        return events


class ActionTopicPrompt(Action):
    """A topic button outside the clarifying questions: ask for the details of that kind of dispute."""

    def name(self) -> str:
        return "action_topic_prompt"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispute_type = latest_entity(tracker, "dispute_type")
        party = latest_entity(tracker, "relationship")
        t = disputes.get(dispute_type)
        if t:
            dispatcher.utter_message(text=f"好的，{t.name}方面的问题。请用一两句话说说具体情况，比如“{t.examples[0]}”"
                                          f"或者“{t.examples[1]}”。")
            return [SlotSet("dispute_type", t.name)]
        if party:
            dispatcher.utter_message(text=f"好的。请说说您和{party}之间发生了什么事？")
            return []
        dispatcher.utter_message(text="请用一两句话说说您遇到的事，比如“老板拖欠三个月工资怎么办”。")
        return []


class ActionFallback(Action):
    """Two stages: ask to rephrase (with topic buttons); from the second failure in a row, offer a mediator."""

    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        failures = consecutive_failures(tracker, self.name())
        problem = (tracker.latest_message or {}).get("input_problem")
        if failures >= 2:
            dispatcher.utter_message(text=FALLBACK_OFFER_MEDIATOR, buttons=FALLBACK_MEDIATOR_BUTTONS)
        elif problem == "too_long":
            dispatcher.utter_message(text=FALLBACK_TOO_LONG)
        elif problem == "empty":
            dispatcher.utter_message(text=FALLBACK_EMPTY, buttons=TOPIC_BUTTONS)
        else:
            dispatcher.utter_message(text=FALLBACK_FIRST, buttons=TOPIC_BUTTONS)
        return []


# --------------------------------------------------------------------------------------------------
# Clarifying questions for a vague question (clarify_form)


class ActionStartClarify(Action):
    def name(self) -> str:
        return "action_start_clarify"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispute_type = latest_entity(tracker, "dispute_type")
        if not dispute_type and previous_action(tracker) == "action_topic_prompt":
            dispute_type = tracker.get_slot("dispute_type")
        return [SlotSet("pending_question", latest_text(tracker)),
                SlotSet("dispute_type", dispute_type if disputes.get(dispute_type) else None),
                SlotSet("other_party", latest_entity(tracker, "relationship")),
                SlotSet("clarify_detail", None)]


def _with_added_text(tracker: Tracker) -> dict[str, Any]:
    """The resident's typed answer joins the pending question, so the search sees everything they said."""
    text = latest_text(tracker)
    pending = tracker.get_slot("pending_question") or ""
    if not text or is_payload(text) or text in pending:
        return {}
    return {"pending_question": f"{pending}；{text}" if pending else text}


class ValidateClarifyForm(FormValidationAction):
    """At most two questions: the dispute type and the other party, each only if the resident has not said it.
    When both were clear from the start, one open question about the details instead."""

    def name(self) -> str:
        return "validate_clarify_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> list[str]:
        asked = requested_slots_since(tracker, "action_start_clarify")
        known_at_start = not asked and all(tracker.get_slot(s) for s in CLARIFY_SLOTS)
        if known_at_start or CLARIFY_DETAIL in asked:
            return list(CLARIFY_SLOTS) + [CLARIFY_DETAIL]
        return list(CLARIFY_SLOTS)

    def validate_dispute_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"dispute_type": None}
        canonical = value if (disputes.get(value) or value == disputes.OTHER) else disputes.OTHER
        return {"dispute_type": canonical} | _with_added_text(tracker)

    def validate_other_party(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"other_party": None}
        return {"other_party": _quote(str(value), 30)} | _with_added_text(tracker)

    def validate_clarify_detail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"clarify_detail": None}
        return {"clarify_detail": _quote(str(value), 200)} | _with_added_text(tracker)


# --------------------------------------------------------------------------------------------------
# Mediation intake (intake_form)

_REQUEST_WORDS_RE = re.compile(
    r"我|要|想|申请|人民|调解员|调解|调委会|帮我|帮忙|帮|能不能|能|可以|可不可以|一下|吗|呢|吧|请|你们|麻烦|登记|"
    r"找人|找|给|出面|我们|说和|协调|评评理|处理|怎么|办|弄|行不行|下")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_NO_AMOUNT_RE = re.compile(r"^(没有|没|无|不涉及|没钱|不是钱的事|跟钱没关系|0|零)")
_NO_CONTACT_RE = re.compile(r"不留|不方便|不想留|不给|不要|没有|没手机|就在这")


def dispute_description(text: str) -> str | None:
    """The text itself when it says more than 'I want mediation' (at least six other characters)."""
    rest = _REQUEST_WORDS_RE.sub("", text)
    return text if len(_CJK_RE.findall(rest)) >= 6 else None


class ActionStartIntake(Action):
    def name(self) -> str:
        return "action_start_intake"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        events = [SlotSet(s, None) for s in INTAKE_SLOTS]
        facts = dispute_description(text) if text and not is_payload(text) else None
        dispatcher.utter_message(text=INTAKE_INTRO + (INTAKE_FACTS_NOTED if facts else ""))
        if text and not is_payload(text):
            party = latest_entity(tracker, "relationship")
            amount = latest_entity(tracker, "amount")
            if facts:
                events.append(SlotSet("case_facts", _quote(facts, 300)))
            if party:
                events.append(SlotSet("case_party", party))
            if amount:
                events.append(SlotSet("case_amount", f"{amount}元"))
        return events


class ValidateIntakeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    def validate_case_facts(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"case_facts": None}
        if not _CJK_RE.search(str(value)) and len(str(value).strip()) < 4:
            dispatcher.utter_message(text="请用几句话说说发生了什么事，比如“邻居家漏水把我家天花板泡坏了，他不肯赔”。")
            return {"case_facts": None}
        return {"case_facts": _quote(str(value), 300)}

    def validate_case_party(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: dict[str, Any]) -> dict[str, Any]:
        return {"case_party": _quote(str(value), 50) if value else None}

    def validate_case_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"case_amount": None}
        text = str(value).strip()
        if _NO_AMOUNT_RE.match(text):
            return {"case_amount": "不涉及"}
        amount = latest_entity(tracker, "amount")
        if amount and not text.endswith("元") and not is_payload(latest_text(tracker)) and text == latest_text(tracker):
            return {"case_amount": f"{amount}元（原话：{_quote(text, 40)}）"}
        return {"case_amount": _quote(text, 60)}

    def validate_case_outcome(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> dict[str, Any]:
        return {"case_outcome": _quote(str(value), 120) if value else None}

    def validate_case_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {"case_contact": None}
        text = str(value).strip()
        phone = _PHONE_RE.search(text.replace(" ", ""))
        if phone:
            return {"case_contact": phone.group(1)}
        if _NO_CONTACT_RE.search(text):
            return {"case_contact": "未留电话（在本对话中联系）"}
        return {"case_contact": _quote(text, 60)}


class ActionSubmitIntake(Action):
    """The intake is complete: confirm what was recorded and hand off with that summary."""

    def name(self) -> str:
        return "action_submit_intake"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        lines = _intake_lines(tracker)
        summary = "调解申请。" + "；".join(lines) + "。"
        earlier = [t for t in recent_user_texts(tracker, 6, include_latest=True)
                   if t not in {tracker.get_slot(s) for s in INTAKE_SLOTS}]
        facts = tracker.get_slot("case_facts") or ""
        dispute_type = _dispute_type(tracker)
        payload = handoff_payload(
            reason="mediation_request", priority=PRIORITY_NORMAL, dispute_type=dispute_type, summary=summary,
            suggested_citations=suggested_citations(tracker, " ".join([facts] + earlier[-2:]) or None,
                                                    _region(tracker)))
        text = ("已为您登记调解申请：\n" + "\n".join(f"· {line}" for line in lines)
                + "\n正在为您转接人民调解员，请稍等；调解员接入后会在这里和您联系。")
        dispatcher.utter_message(text=text, json_message=payload)
        return pause_events(tracker)
