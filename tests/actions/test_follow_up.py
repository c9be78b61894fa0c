"""A follow-up keeps its topic's law in view: the laws the last answer cited go to the search with it."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge, retrieval
from actions.flows.answer import ActionAnswerLegalQuestion
from core.settings import Settings
from knowledge_base.search import KnowledgeBase
from tests.actions.trackers import action, bot, make_tracker, slot, turn


def test_a_follow_up_searches_with_the_laws_its_topic_cited(tiny_kb, monkeypatch):
    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    monkeypatch.setattr("actions.flows.answer.get_settings", lambda: Settings(answer_top_k=2))
    searched = []
    real = retrieval.find_statutes

    def spy(kb, question, **kwargs):
        searched.append(kwargs["topic_laws"])
        return real(kb, question, **kwargs)

    monkeypatch.setattr("actions.flows.answer.find_statutes", spy)
    cited = {
        "citations": [
            {"kind": "statute", "id": "a1-50", "law": "中华人民共和国劳动法", "article_no": "第五十条"}
        ]
    }
    history = turn(
        "老板拖欠我两个月工资不给",
        "ask_legal_question",
        action("action_answer_legal_question"),
        bot("……", cited),
        slot("dispute_type", "劳动工资"),
    )
    tracker = make_tracker(
        "那如果他还是不给呢？", history=history, slots={"dispute_type": "劳动工资"}, entities=[]
    )
    ActionAnswerLegalQuestion().run(CollectingDispatcher(), tracker, {})
    assert searched[-1] == frozenset({"中华人民共和国劳动法"})
    # Naming the conversation's own type ("工资" in a wage dispute) is still a follow-up on it.
    same_type = [{"entity": "dispute_type", "value": "劳动工资"}]
    tracker = make_tracker(
        "工资他还是不给呢", history=history, slots={"dispute_type": "劳动工资"}, entities=same_type
    )
    ActionAnswerLegalQuestion().run(CollectingDispatcher(), tracker, {})
    assert searched[-1] == frozenset({"中华人民共和国劳动法"})
    # A message that names another dispute strongly starts fresh: no topic laws.
    tracker = make_tracker(
        "楼上邻居家装修把我家的墙震裂了，他们不肯赔偿维修费用怎么办",
        history=history,
        slots={"dispute_type": "劳动工资"},
        entities=[{"entity": "dispute_type", "value": "邻里纠纷"}],
    )
    ActionAnswerLegalQuestion().run(CollectingDispatcher(), tracker, {})
    assert searched[-1] == frozenset()


def _after_an_answer() -> list[dict]:
    cited = {
        "citations": [
            {"kind": "statute", "id": "a1-50", "law": "中华人民共和国劳动法", "article_no": "第五十条"}
        ]
    }
    return turn(
        "老板拖欠我两个月工资不给",
        "ask_legal_question",
        action("action_answer_legal_question"),
        bot("……", cited),
        slot("dispute_type", "劳动工资"),
    )


def test_a_follow_up_the_classifier_could_not_place_is_answered_on_its_topic(tiny_kb, monkeypatch):
    """nlu_fallback or a bare topic after an answer: the answer, with citations, not 'please rephrase'."""
    from actions.flows.clarify import ActionTopicPrompt
    from actions.flows.fallback import FALLBACK_FIRST, ActionFallback

    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    for action_cls, intent in [(ActionFallback, "nlu_fallback"), (ActionTopicPrompt, "inform")]:
        tracker = make_tracker(
            "那我去哪告他",
            intent,
            history=_after_an_answer(),
            slots={"dispute_type": "劳动工资"},
            entities=[],
        )
        dispatcher = CollectingDispatcher()
        action_cls().run(dispatcher, tracker, {})
        assert any((m.get("custom") or {}).get("citations") for m in dispatcher.messages), action_cls
        assert all(m.get("text") != FALLBACK_FIRST for m in dispatcher.messages)
    # With no answer before, the fallback still asks to rephrase.
    tracker = make_tracker("那我去哪告他", "nlu_fallback", slots={"dispute_type": "劳动工资"}, entities=[])
    dispatcher = CollectingDispatcher()
    ActionFallback().run(dispatcher, tracker, {})
    assert [m["text"] for m in dispatcher.messages] == [FALLBACK_FIRST]


def test_a_follow_up_the_classifier_found_vague_is_answered_and_starts_no_form(tiny_kb, monkeypatch):
    """'我该去找谁' after an answer: the answer on the topic, then listening (the rule's clarify_form is skipped)."""
    from rasa_sdk.events import FollowupAction

    from actions.flows.clarify import ActionStartClarify

    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    tracker = make_tracker(
        "我该去找谁",
        "vague_question",
        history=_after_an_answer(),
        slots={"dispute_type": "劳动工资"},
        entities=[],
    )
    dispatcher = CollectingDispatcher()
    events = ActionStartClarify().run(dispatcher, tracker, {})
    assert events[-1] == FollowupAction("action_listen")
    assert any((m.get("custom") or {}).get("citations") for m in dispatcher.messages)
    # An earlier answer is topic enough, also when no dispute type was recognised.
    tracker = make_tracker("我该去找谁", "vague_question", history=_after_an_answer(), entities=[])
    dispatcher = CollectingDispatcher()
    assert ActionStartClarify().run(dispatcher, tracker, {})[-1] == FollowupAction("action_listen")
    # The same words as the conversation's first message start the clarifying questions.
    tracker = make_tracker("我该去找谁", "vague_question", entities=[])
    events = ActionStartClarify().run(CollectingDispatcher(), tracker, {})
    assert events[0] == SlotSet("pending_question", "我该去找谁")
    assert not any(e.get("event") == "followup" for e in events)


@pytest.mark.parametrize(
    ("text", "named", "established", "goes_on"),
    [
        # one weak word of another type, however often, does not end the topic
        ("后来听说老板把店转给别人了 新老板说不认以前的卡", "劳动工资", "消费", True),
        (
            "保险公司又说甲状腺癌早期只能按轻症赔 合同里好像有这么一条 可我买的时候没人跟我",
            "劳动工资",
            "保险",
            True,
        ),
        # a long follow-up of a known topic goes on with it
        ("对这个补偿安置方案有意见能找谁提 会不会开听证会", None, "土地承包", True),
        ("还有 他们把俺身份证扣着 说结清了再给 这样可以吗", None, "劳动工资", True),
        # the resident says that a new matter begins, or names another type strongly
        ("另外问下 我之前借给我表哥三万块没打欠条", "借贷", "婚姻家庭", False),
        ("对了还有个事 楼上天天半夜拖椅子", "邻里纠纷", "劳动工资", False),
        ("换个问题 我网上买的床垫味道特别大", "消费", "消费", False),
        ("我老公拖欠我工资不给", "劳动工资", "婚姻家庭", False),
        # no known topic: only a short message follows on
        ("起诉保险公司的话 诉讼时效是多久 我想知道具体从哪天开始算", None, None, False),
        ("那去哪告", None, None, True),
    ],
)
def test_what_goes_on_with_the_topic(text, named, established, goes_on):
    from actions.flows.answer import continues_topic

    assert continues_topic(text, named, established) is goes_on


def test_dispute_type_weight_counts_each_word_once():
    from bot.components import lexicon

    assert lexicon.dispute_type_weight("老板说新老板不认") == 1
    assert lexicon.dispute_type_weight("老板拖欠工资") == 3
    assert lexicon.dispute_type_weight("今天天气不错") == 0
    assert lexicon.new_topic_marker("哦对了问个别的 我单位年假") == "对了"
    assert lexicon.new_topic_marker("还有 他们把俺身份证收着") is None
