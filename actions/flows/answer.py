"""A legal question answered from the knowledge base: the articles it rests on, similar precedents, next steps."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes
from actions.answer import compose_answer
from actions.companion_laws import companion_laws
from actions.conversation import (
    earlier_citations,
    guides_shown,
    latest_entity,
    latest_text,
    looks_like_follow_up,
    previous_action,
    ran_this_turn,
    topic_texts,
)
from actions.flows.common import region, send
from actions.knowledge import get_knowledge_base
from actions.retrieval import find_precedents, find_statutes, infer_dispute_type
from bot.components import lexicon
from core.settings import get_settings
from knowledge_base.search import KnowledgeBaseNotBuilt

log = logging.getLogger(__name__)

KB_UNAVAILABLE = "抱歉，法律知识库正在准备中，暂时无法检索条文。请稍后再试，或输入“转人工”联系调解员。"


# A type named by one weak word (老板, 公司, 上班) does not end the topic: "新老板说不认以前的卡" about a prepaid card.
STRONG_TYPE_WEIGHT = 2


def continues_topic(text: str, dispute_type: str | None, established: str | None) -> bool:
    """The message goes on with the conversation's topic: it does not say that a new matter begins, names no other
    dispute type strongly, and is short or follows a topic of a known type (residents say when they change the
    subject: 另外, 对了还有个事, 换个问题)."""
    if lexicon.new_topic_marker(text):
        return False
    named = dispute_type or lexicon.dispute_type_of(text)[0]
    if named not in (None, established) and lexicon.dispute_type_weight(text) >= STRONG_TYPE_WEIGHT:
        return False
    return looks_like_follow_up(text) or established is not None


class ActionAnswerLegalQuestion(Action):
    def name(self) -> str:
        return "action_answer_legal_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The clarifying questions just ended: answer the vague question plus what the resident added. A pending
        # question left over from clarifying questions that were abandoned is ignored (and cleared below).
        pending = tracker.get_slot("pending_question") if ran_this_turn(tracker, "clarify_form") else None
        topic_laws: frozenset[str] = frozenset()
        if pending:
            question = pending
            party = tracker.get_slot("other_party")
            if party and party not in question:
                question += " " + party.replace("/", " ")
            dispute_type = tracker.get_slot("dispute_type")
        else:
            question = (tracker.latest_message or {}).get("text") or latest_text(tracker)
            dispute_type = latest_entity(tracker, "dispute_type")
            established = tracker.get_slot("dispute_type")
            if not dispute_type and previous_action(tracker) == "action_topic_prompt":
                dispute_type = established
            elif continues_topic(question, dispute_type, established):
                # A follow-up keeps the conversation's topic: its type, and what was said about it, go to the
                # search with it. A message that names another type, or says enough alone, starts fresh.
                earlier = topic_texts(tracker)
                if earlier and (established or earlier_citations(tracker, limit=1)):
                    dispute_type = established
                    question = " ".join(earlier + [question])
                    # ... and the laws its last answer cited stay in view (see find_statutes).
                    topic_laws = frozenset(c["law"] for c in earlier_citations(tracker) if c.get("law"))
        dispute_type = dispute_type if disputes.get(dispute_type) else None
        # What the resident asks now decides the procedural law (the earlier turns only the dispute's type).
        asked = pending or latest_text(tracker)
        where = region(tracker)
        reset = [
            SlotSet("pending_question", None),
            SlotSet("clarify_detail", None),
            SlotSet("other_party", None),
        ]
        try:
            kb = get_knowledge_base()
            k = get_settings().answer_top_k
            statutes = find_statutes(
                kb,
                question,
                dispute_type=dispute_type,
                region=where,
                k=k,
                topic_laws=topic_laws,
                companions=companion_laws(question, asked, dispute_type or tracker.get_slot("dispute_type")),
            )
            dispute_type = dispute_type or infer_dispute_type(statutes)
            precedents = (
                find_precedents(kb, question, dispute_type=dispute_type, statutes=statutes, region=where)
                if statutes
                else []
            )
        except KnowledgeBaseNotBuilt:
            log.warning("knowledge base not built; cannot answer %r", question[:50])
            dispatcher.utter_message(text=KB_UNAVAILABLE)
            return reset
        for message in compose_answer(
            question,
            statutes,
            precedents,
            dispute_type,
            kb.snapshot().repealed,
            shown_guides=guides_shown(tracker),
        ):
            send(dispatcher, message)
        events = reset
        if dispute_type and dispute_type != tracker.get_slot("dispute_type"):
            events = [SlotSet("dispute_type", dispute_type)] + events
        return events
