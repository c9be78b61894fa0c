"""A request for a person that comes with facts hands off at once, and the facts go into the handoff summary.

The resident's message is parsed as the NLU does it: entities from the bot's rules (tests/actions/trackers.py) and
the request found by bot/components/handoff.py, which HandoffRequestNet puts into the parse data."""

from __future__ import annotations

import importlib

import pytest
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.flows.handoff import HANDOFF_TEXT, HANDOFF_WITH_FACTS_TEXT, ActionHandoff
from core.settings import Settings
from knowledge_base.search import KnowledgeBase
from tests.actions.trackers import action, make_tracker, normalize, turn

requests = importlib.import_module("components.handoff")  # bot/ is on the path once trackers is imported

PAUSE = [ConversationPaused(), ActionExecuted("action_listen")]


@pytest.fixture(autouse=True)
def tiny(monkeypatch, tiny_kb):
    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    monkeypatch.setattr("actions.flows.common.get_settings", lambda: Settings(answer_top_k=2))


def request(text: str, **kwargs):
    """The tracker for a message the NLU took for a request for a person."""
    found = requests.find(normalize(text))
    assert found is not None and found.kind == requests.PERSON, text
    return make_tracker(
        text, "request_human", handoff_request={"kind": found.kind, "words": found.words}, **kwargs
    )


def run(tracker):
    dispatcher = CollectingDispatcher()
    events = ActionHandoff().run(dispatcher, tracker, {})
    return events, dispatcher.messages


@pytest.mark.parametrize(
    ("text", "facts", "dispute_type"),
    [
        ("我要找调解员，邻居家装修把我家墙弄裂了", "邻居家装修把我家墙弄裂了", "邻里纠纷"),
        ("邻居家装修把我家墙弄裂了，我要找调解员", "邻居家装修把我家墙弄裂了", "邻里纠纷"),
        ("老板欠我三个月工资，转人工", "老板欠我三个月工资", "劳动工资"),
        ("转人工 老板欠我三个月工资不给", "老板欠我三个月工资不给", "劳动工资"),
        ("有没有真人？楼上漏水把我家泡了", "楼上漏水把我家泡了", "邻里纠纷"),
        ("叫你们工作人员来，物业乱收停车费", "物业乱收停车费", "物业"),
        ("請調解員聯繫我，對方撞了我的車不賠", "对方撞了我的车不赔", "交通事故"),
        ("老板欠我工资我要找调解员", "老板欠我工资", "劳动工资"),
    ],
)
def test_a_request_with_facts_hands_off_with_the_facts_in_the_summary(text, facts, dispute_type):
    events, messages = run(request(text))
    assert events == PAUSE
    assert len(messages) == 1 and messages[0]["text"] == HANDOFF_WITH_FACTS_TEXT
    handoff = messages[0]["custom"]["handoff"]
    assert (handoff["reason"], handoff["priority"], handoff["dispute_type"]) == (
        "resident_request",
        "normal",
        dispute_type,
    )
    assert handoff["summary"] == f"居民要求转人工，并说明了情况：“{facts}”。"


def test_the_facts_are_searched_for_suggested_articles():
    _, messages = run(request("我要找调解员，老板拖欠工资三个月了"))
    assert [c["article_no"] for c in messages[0]["custom"]["handoff"]["suggested_citations"]][:1] == [
        "第五十条"
    ]


@pytest.mark.parametrize(
    "text", ["转人工", "我要找调解员", "有没有真人", "叫你们工作人员来", "人工客服在吗", "帮我联系调解员"]
)
def test_a_bare_request_keeps_the_residents_words_and_searches_nothing(text):
    events, messages = run(request(text))
    assert events == PAUSE
    assert messages[0]["text"] == HANDOFF_TEXT
    handoff = messages[0]["custom"]["handoff"]
    assert handoff["summary"] == f"居民要求转人工，原话：“{text}”。"
    assert handoff["suggested_citations"] == []


def test_a_request_the_classifier_alone_recognised_still_separates_the_facts():
    # No words from the NLU's request patterns: the handoff's own request vocabulary tells the facts apart.
    _, messages = run(make_tracker("找个人来，我家的承包地被村里收回去了", "request_human"))
    assert (
        messages[0]["custom"]["handoff"]["summary"]
        == "居民要求转人工，并说明了情况：“我家的承包地被村里收回去了”。"
    )


def test_facts_of_the_request_come_before_what_was_said_earlier():
    history = turn("邻居装修天天吵", "ask_legal_question", action("action_answer_legal_question"))
    _, messages = run(request("转人工，他家装修还把我家墙弄裂了", history=history))
    assert messages[0]["custom"]["handoff"]["summary"] == (
        "居民要求转人工，并说明了情况：“他家装修还把我家墙弄裂了”。此前说过：“邻居装修天天吵”。"
    )


def test_a_request_with_facts_inside_the_clarifying_questions_stops_them():
    history = turn(
        "我被欺负了怎么办", "vague_question", action("action_start_clarify"), action("clarify_form")
    )
    tracker = request(
        "我要找调解员，隔壁把垃圾堆在我家门口",
        history=history,
        active_loop="clarify_form",
        slots={"requested_slot": "dispute_type"},
    )
    events, messages = run(tracker)
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)] + PAUSE
    assert "隔壁把垃圾堆在我家门口" in messages[0]["custom"]["handoff"]["summary"]
