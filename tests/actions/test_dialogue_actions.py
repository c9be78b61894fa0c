"""Handoff, emergency, fallback, topic buttons and clarifying questions on tracker fixtures: exact events and
messages. Requests that come with facts: test_handoff_flow.py; the mediation intake: test_intake_flow.py."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import emergency, knowledge
from actions.actions import (
    FALLBACK_EMPTY,
    FALLBACK_FIRST,
    FALLBACK_MEDIATOR_BUTTONS,
    FALLBACK_OFFER_MEDIATOR,
    FALLBACK_TOO_LONG,
    HANDOFF_TEXT,
    TOPIC_BUTTONS,
    ActionEmergency,
    ActionFallback,
    ActionHandoff,
    ActionStartClarify,
    ActionTopicPrompt,
    ValidateClarifyForm,
)
from core.settings import Settings
from knowledge_base.search import KnowledgeBase
from tests.actions.trackers import action, bot, make_tracker, slot, turn

PAUSE = [ConversationPaused(), ActionExecuted("action_listen")]
CITATION_50 = {
    "kind": "statute",
    "id": "st-a1-50",
    "law": "中华人民共和国劳动法",
    "article_no": "第五十条",
    "text": "工资应当以货币形式按月支付给劳动者本人。",
}


@pytest.fixture(autouse=True)
def tiny(monkeypatch, tiny_kb):
    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    monkeypatch.setattr("actions.flows.common.get_settings", lambda: Settings(answer_top_k=2))


def run(action_cls, tracker):
    dispatcher = CollectingDispatcher()
    events = action_cls().run(dispatcher, tracker, {})
    return events, dispatcher.messages


# --------------------------------------------------------------------------------------------------
# Handoff


def test_request_for_a_person_hands_off_at_once_with_the_earlier_question_and_citations():
    history = turn(
        "老板拖欠工资不给怎么办",
        "ask_legal_question",
        action("action_answer_legal_question"),
        bot("简单说……", {"citations": [CITATION_50]}),
        slot("dispute_type", "劳动工资"),
    )
    events, messages = run(
        ActionHandoff,
        make_tracker("转人工", "request_human", history=history, slots={"dispute_type": "劳动工资"}),
    )
    assert events == PAUSE
    assert len(messages) == 1 and messages[0]["text"] == HANDOFF_TEXT
    assert messages[0]["custom"] == {
        "handoff": {
            "reason": "resident_request",
            "priority": "normal",
            "dispute_type": "劳动工资",
            "summary": "居民要求转人工，原话：“转人工”。此前说过：“老板拖欠工资不给怎么办”。",
            "suggested_citations": [CITATION_50],
        }
    }


def test_handoff_without_earlier_answers_suggests_verified_articles_for_what_was_said():
    events, messages = run(
        ActionHandoff,
        make_tracker(
            "我要找调解员，老板拖欠工资",
            "request_human",
            handoff_request={"kind": "person", "words": "找调解员"},
        ),
    )
    handoff = messages[0]["custom"]["handoff"]
    assert handoff["summary"] == "居民要求转人工，并说明了情况：“老板拖欠工资”。"
    assert handoff["dispute_type"] == "劳动工资"
    assert [c["article_no"] for c in handoff["suggested_citations"]][:1] == ["第五十条"]
    assert events == PAUSE


def test_handoff_inside_the_intake_stops_the_form_and_keeps_what_was_filled():
    history = turn(
        "我要申请调解",
        "request_mediation",
        action("action_start_intake"),
        action("intake_form"),
        slot("requested_slot", "case_party"),
    )
    tracker = make_tracker(
        "转人工",
        "request_human",
        history=history,
        active_loop="intake_form",
        slots={"case_facts": "楼上漏水泡坏了我家吊顶", "requested_slot": "case_party"},
    )
    events, messages = run(ActionHandoff, tracker)
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)] + PAUSE
    assert (
        "调解登记（未完成）：事情经过：楼上漏水泡坏了我家吊顶。"
        in messages[0]["custom"]["handoff"]["summary"]
    )


def test_choosing_a_person_after_the_bot_failed_twice_is_recorded_as_such():
    history = turn("阿巴阿巴", "nlu_fallback", action("action_fallback")) + turn(
        "嗯嗯啊啊", "nlu_fallback", action("action_fallback")
    )
    _, messages = run(ActionHandoff, make_tracker("/request_human", "request_human", history=history))
    handoff = messages[0]["custom"]["handoff"]
    assert handoff["reason"] == "repeated_fallback"
    assert (
        handoff["summary"]
        == "机器人连续没能理解居民的意思，居民选择转人工。此前说过：“阿巴阿巴”；“嗯嗯啊啊”。"
    )


# --------------------------------------------------------------------------------------------------
# Emergencies: guidance first, then the urgent handoff


@pytest.mark.parametrize(
    ("text", "kind", "numbers"),
    [
        ("他拿着菜刀站在我家门口要砍我", "violence", ["110", "120"]),
        ("我老公又喝醉了在打我", "domestic_violence", ["110", "12338"]),
        ("我不想活了", "self_harm", ["12356", "400-161-9995", "120"]),
        ("我家著火了", "fire", ["119"]),
        ("屋里一股煤气味", "gas", ["119"]),
        ("我爸突然昏过去了", "medical", ["120"]),
    ],
)
def test_emergency_guidance_then_urgent_handoff(text, kind, numbers):
    events, messages = run(ActionEmergency, make_tracker(text, "emergency"))
    assert events == PAUSE
    assert [m["text"] for m in messages] == [emergency.guidance(kind), emergency.HANDOFF_TEXT]
    assert all(n in messages[0]["text"] for n in numbers)
    assert "custom" not in messages[0] or not messages[0]["custom"]
    handoff = messages[1]["custom"]["handoff"]
    assert (handoff["reason"], handoff["priority"]) == ("emergency", "urgent")
    assert handoff["summary"].startswith(f"紧急情况（{emergency.LABELS[kind]}）：居民说“{text}”。")


@pytest.mark.parametrize(
    "text",
    [
        "复核要几天之内提",
        "要是我先替他垫上了 能找他要回来吗",
        "去年工地上砸伤了腿 住了两个月院",  # what happened before, nothing of danger now, no question
        # a fight that is over: words of violence, but past and nothing of danger now
        "前几天在夜宵摊跟人吵了几句 对方先动手打我 我也还了两下 我鼻梁骨折了",
    ],
)
def test_a_question_the_classifier_alone_took_for_an_emergency_is_answered_not_paused(text):
    """No word of danger and no safety-net hint, and a question or an account of the past: one line of emergency
    numbers, then the legal answer."""
    events, messages = run(ActionEmergency, make_tracker(text, "emergency"))
    assert messages[0]["text"] == emergency.SAFETY_NOTE
    assert not any(e.get("event") == "pause" for e in events)
    assert not any((m.get("custom") or {}).get("handoff") for m in messages)
    assert len(messages) > 1  # the answer itself


def test_a_follow_up_with_no_word_of_danger_in_a_dispute_is_answered_not_paused():
    """The classifier alone took a follow-up about a dog bite for an emergency: no word of danger, no call for help,
    and the conversation is about a dispute. The same words in a new conversation, or a cry for help, still pause."""
    follow_up = "我家孩子就是从边上走过去 就算真逗了他也得赔吧"
    events, messages = run(
        ActionEmergency, make_tracker(follow_up, "emergency", slots={"dispute_type": "人身损害"})
    )
    assert messages[0]["text"] == emergency.SAFETY_NOTE and len(messages) > 1
    assert not any(e.get("event") == "pause" for e in events)
    events, _ = run(ActionEmergency, make_tracker(follow_up, "emergency"))
    assert events == PAUSE
    events, _ = run(
        ActionEmergency, make_tracker("求求你们快来人", "emergency", slots={"dispute_type": "人身损害"})
    )
    assert events == PAUSE


def test_an_exclamation_or_a_word_of_danger_stays_an_emergency():
    for text, hint in [
        ("快来人啊", None),
        ("有个男的一直跟着我 现在在门口 怎么办", None),
        ("能不能快点", "violence"),
    ]:
        assert not emergency.is_question_without_danger(text, hint)
    assert not emergency.QUESTION_RE.search("他也不怎么吃饭 没怎么睡")  # how much, not a question
    # An account of the past with danger now still pauses.
    events, _ = run(ActionEmergency, make_tracker("去年就被他砍伤过 现在他又拿着刀在门口", "emergency"))
    assert events == PAUSE
    # Violence that goes on for years is not over because its worst night was last month.
    events, _ = run(ActionEmergency, make_tracker("老公这几年喝了酒就动手 上个月把我肋骨打断了", "emergency"))
    assert events == PAUSE


def test_emergency_inside_a_form_stops_it():
    tracker = make_tracker(
        "他拿刀来了", "emergency", active_loop="intake_form", slots={"requested_slot": "case_amount"}
    )
    events, _ = run(ActionEmergency, tracker)
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)] + PAUSE


def test_unknown_kind_of_emergency_gets_every_number():
    assert emergency.classify("快来人啊") == "general"
    assert all(n in emergency.guidance("general") for n in ("110", "120", "119"))
    assert emergency.classify("快来人啊", hint="weapon") == "violence"


# --------------------------------------------------------------------------------------------------
# Fallback: two stages


def test_first_failure_asks_to_rephrase_with_topics():
    events, messages = run(ActionFallback, make_tracker("阿巴阿巴", "nlu_fallback"))
    assert events == []
    assert [(m["text"], m["buttons"]) for m in messages] == [(FALLBACK_FIRST, TOPIC_BUTTONS)]


def test_second_failure_in_a_row_offers_a_mediator():
    history = turn("阿巴阿巴", "nlu_fallback", action("action_fallback"))
    _, messages = run(ActionFallback, make_tracker("嗯嗯啊啊", "nlu_fallback", history=history))
    assert [(m["text"], m["buttons"]) for m in messages] == [
        (FALLBACK_OFFER_MEDIATOR, FALLBACK_MEDIATOR_BUTTONS)
    ]
    assert {"title": "转人工调解员", "payload": "/request_human"} in FALLBACK_MEDIATOR_BUTTONS


def test_a_success_in_between_starts_the_count_again():
    history = turn("阿巴阿巴", "nlu_fallback", action("action_fallback")) + turn(
        "你好", "greet", action("utter_greet")
    )
    _, messages = run(ActionFallback, make_tracker("嗯嗯啊啊", "nlu_fallback", history=history))
    assert messages[0]["text"] == FALLBACK_FIRST


def test_overlong_and_empty_input_say_what_went_wrong():
    _, long_messages = run(
        ActionFallback, make_tracker("工资" * 400, "nlu_fallback", input_problem="too_long")
    )
    _, empty_messages = run(ActionFallback, make_tracker("？？？", "nlu_fallback", input_problem="empty"))
    assert [m["text"] for m in long_messages] == [FALLBACK_TOO_LONG]
    assert [m["text"] for m in empty_messages] == [FALLBACK_EMPTY]


# --------------------------------------------------------------------------------------------------
# Topic buttons and clarifying questions


def test_topic_button_asks_for_details_of_that_kind():
    events, messages = run(
        ActionTopicPrompt,
        make_tracker(
            '/inform{"dispute_type":"借贷"}', "inform", entities=[{"entity": "dispute_type", "value": "借贷"}]
        ),
    )
    assert events == [SlotSet("dispute_type", "借贷")]
    assert [m["text"] for m in messages] == [
        "好的，借贷方面的问题。请用一两句话说说具体情况，比如“朋友借了我五万块不还”或者“借条丢了还能要回钱吗”。"
    ]


def test_clarifying_starts_from_what_the_vague_question_already_says():
    events, _ = run(ActionStartClarify, make_tracker("邻居欺负我怎么办", "vague_question"))
    assert events == [
        SlotSet("pending_question", "邻居欺负我怎么办"),
        SlotSet("dispute_type", "邻里纠纷"),
        SlotSet("other_party", "邻居"),
        SlotSet("clarify_detail", None),
    ]
    events, _ = run(
        ActionStartClarify, make_tracker("我被欺负了怎么办", "vague_question", slots={"dispute_type": "借贷"})
    )
    assert events[1] == SlotSet("dispute_type", None)  # an old topic does not carry over


def required(tracker) -> list[str]:
    return asyncio.run(
        ValidateClarifyForm().required_slots(
            ["dispute_type", "other_party", "clarify_detail"], CollectingDispatcher(), tracker, {}
        )
    )


def test_at_most_two_clarifying_questions():
    start = turn("我被欺负了怎么办", "vague_question", action("action_start_clarify"), action("clarify_form"))
    # nothing known: ask the type and the other party, nothing more
    assert required(make_tracker("x", history=start, slots={})) == ["dispute_type", "other_party"]
    asked = start[:-1] + [slot("requested_slot", "dispute_type"), action("action_listen")]
    assert required(
        make_tracker("x", history=asked, slots={"dispute_type": "劳动工资", "other_party": "公司/老板"})
    ) == ["dispute_type", "other_party"]
    # both clear from the vague question itself: one open question instead of none
    assert required(
        make_tracker("x", history=start, slots={"dispute_type": "邻里纠纷", "other_party": "邻居"})
    ) == ["dispute_type", "other_party", "clarify_detail"]


def test_typed_answers_join_the_question_and_unknown_types_become_other():
    tracker = make_tracker("就是工作上的事，经常被骂", slots={"pending_question": "我被欺负了怎么办"})
    validated = ValidateClarifyForm().validate_dispute_type(
        "就是工作上的事，经常被骂", CollectingDispatcher(), tracker, {}
    )
    assert validated == {
        "dispute_type": "其他",
        "pending_question": "我被欺负了怎么办；就是工作上的事，经常被骂",
    }
    button = make_tracker(
        '/inform{"dispute_type":"劳动工资"}', "inform", slots={"pending_question": "我被欺负了"}
    )
    assert ValidateClarifyForm().validate_dispute_type("劳动工资", CollectingDispatcher(), button, {}) == {
        "dispute_type": "劳动工资"
    }


def test_bare_request_for_a_person_suggests_no_articles():
    events, messages = run(ActionHandoff, make_tracker("转人工", "request_human"))
    assert events == PAUSE
    assert messages[0]["custom"]["handoff"]["suggested_citations"] == []
