"""The legal-answer action on tracker fixtures: exact events and messages."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.actions import KB_UNAVAILABLE, ActionAnswerLegalQuestion
from actions.answer import DISCLAIMER, NO_RESULT
from fengqiao.settings import Settings
from knowledge_base.search import KnowledgeBase


def make_tracker(text: str, metadata: dict | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": "ask_legal_question", "confidence": 0.98}, "entities": [],
              "metadata": metadata or {}}
    return Tracker(sender_id="c-1", slots={}, latest_message=latest,
                   events=[{"event": "user", "text": text, "parse_data": latest}],
                   paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen")


@pytest.fixture
def kb_at(monkeypatch):
    def use(kb_dir):
        monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(kb_dir))
        monkeypatch.setattr("actions.actions.get_settings", lambda: Settings(answer_top_k=2))
    return use


def test_answers_with_cited_articles(kb_at, tiny_kb):
    kb_at(tiny_kb)
    dispatcher = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(dispatcher, make_tracker("老板拖欠工资不给怎么办"), {})
    assert events == []
    assert len(dispatcher.messages) == 1
    message = dispatcher.messages[0]
    assert message["text"].startswith("根据检索到的法律规定")
    assert "1. 《中华人民共和国劳动法》第五十条：工资应当以货币形式按月支付给劳动者本人。" in message["text"]
    assert message["text"].endswith(DISCLAIMER)
    citations = message["custom"]["citations"]
    assert citations[0]["law"] == "中华人民共和国劳动法" and citations[0]["article_no"] == "第五十条"
    assert all(c["kind"] == "statute" for c in citations)
    assert len(citations) <= 2


def test_region_from_message_metadata_reaches_local_regulations(kb_at, tiny_kb):
    kb_at(tiny_kb)
    outside, inside = CollectingDispatcher(), CollectingDispatcher()
    ActionAnswerLegalQuestion().run(outside, make_tracker("物业服务费用不交"), {})
    ActionAnswerLegalQuestion().run(inside, make_tracker("物业服务费用不交", {"region": "浙江省杭州市"}), {})
    assert "浙江省物业管理条例" not in outside.messages[0]["text"]
    assert inside.messages[0]["custom"]["citations"][0]["law"] == "浙江省物业管理条例"


def test_nothing_found_asks_for_details(kb_at, tiny_kb):
    kb_at(tiny_kb)
    dispatcher = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(dispatcher, make_tracker("？？？"), {})
    assert events == []
    assert dispatcher.messages[0]["text"] == NO_RESULT
    assert dispatcher.messages[0]["custom"] == {"citations": []}


def test_knowledge_base_not_built(kb_at, tmp_path):
    kb_at(tmp_path / "empty")
    dispatcher = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(dispatcher, make_tracker("拖欠工资"), {})
    assert events == []
    assert [m["text"] for m in dispatcher.messages] == [KB_UNAVAILABLE]
