"""Custom actions called by the Rasa server."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import compose_answer
from actions.knowledge import get_knowledge_base
from fengqiao.settings import get_settings
from knowledge_base.search import KnowledgeBaseNotBuilt

log = logging.getLogger(__name__)

KB_UNAVAILABLE = "抱歉，法律知识库正在准备中，暂时无法检索条文。请稍后再试，或输入“转人工”联系调解员。"


class ActionAnswerLegalQuestion(Action):
    def name(self) -> str:
        return "action_answer_legal_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        question = (tracker.latest_message or {}).get("text") or ""
        region = ((tracker.latest_message or {}).get("metadata") or {}).get("region")
        try:
            hits = get_knowledge_base().search(question, k=get_settings().answer_top_k, kind="statute",
                                               region=region)
        except KnowledgeBaseNotBuilt:
            log.warning("knowledge base not built; cannot answer %r", question[:50])
            dispatcher.utter_message(text=KB_UNAVAILABLE)
            return []
        dispatcher.utter_message(text=compose_answer(hits),
                                 json_message={"citations": [h.citation() for h in hits]})
        return []
