"""The mediation intake on tracker fixtures: prefilled from the request, only what is missing asked, at most three
questions, answers checked, corrections and skips, then the mediators' queue.

`Intake` drives the form the way Rasa's FormAction does: after each answer, `action_extract_slots` has set the
requested slot from the text, and the validation action gets the tracker with the candidate appended after the
form's own ActionExecuted (rasa/core/actions/forms.py `_temporary_tracker`)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.answer import MEDIATION_OFFER
from actions.flows.intake import (
    INTAKE_CAVEAT,
    INTAKE_DONE,
    INTAKE_FACTS_NOTED,
    INTAKE_INTRO,
    INTAKE_SLOTS,
    LABOUR_CAVEAT,
    MAX_QUESTIONS,
    NO_AMOUNT,
    NO_PHONE,
    NOT_SAID,
    PROBLEMS,
    ActionStartIntake,
    ActionSubmitIntake,
    ValidateIntakeForm,
    amount_of,
    correction,
    dispute_description,
    intake_plan,
    interrupting_question,
    is_skip,
    phone_of,
)
from core.settings import Settings
from knowledge_base.search import KnowledgeBase
from tests.actions.trackers import action, bot, make_tracker, normalize, slot, turn, user

requests = importlib.import_module("components.handoff")  # bot/ is on the path once trackers is imported

DOMAIN = {
    "forms": {"intake_form": {"required_slots": list(INTAKE_SLOTS)}},
    "slots": {
        s: {
            "type": "text",
            "mappings": [
                {"type": "from_text", "conditions": [{"active_loop": "intake_form", "requested_slot": s}]}
            ],
        }
        for s in INTAKE_SLOTS
    },
}
ASK = {
    "case_facts": "请简单说说发生了什么事？",
    "case_party": "对方是谁？",
    "case_amount": "涉及多少钱？",
    "case_outcome": "您希望怎么解决？",
    "case_contact": "最后，调解员怎么联系您？",
}
PAUSE = [ConversationPaused(), ActionExecuted("action_listen")]


@pytest.fixture(autouse=True)
def tiny(monkeypatch, tiny_kb):
    monkeypatch.setattr(knowledge, "_kb", KnowledgeBase(tiny_kb))
    monkeypatch.setattr("actions.flows.common.get_settings", lambda: Settings(answer_top_k=2))


def parse_extra(text: str) -> dict:
    found = requests.find(normalize(text)) if not text.startswith("/") else None
    return {"handoff_request": {"kind": found.kind, "words": found.words}} if found else {}


def as_dicts(events) -> list[dict]:
    return [dict(e) for e in events]


class Intake:
    """One intake conversation: what the bot said, the questions it asked, the slots, the handoff payload."""

    def __init__(self, request: str, *, history: list[dict] | None = None):
        self.events: list[dict] = [
            action("action_session_start"),
            {"event": "session_started"},
            action("action_listen"),
        ] + list(history or [])
        self.slots: dict[str, Any] = {}
        self.said: list[str] = []
        self.asked: list[str] = []
        self.handoff: dict | None = None
        message = user(request, "request_mediation", **parse_extra(request))
        self.events.append(message)
        events, texts = self._run(ActionStartIntake(), self._tracker(message["parse_data"]))
        self._log("action_start_intake", events, texts)
        # Activation: the prefilled slots are the candidates, no slot was requested yet.
        prefilled = [slot(k, v) for k, v in self.slots.items() if k in INTAKE_SLOTS and v is not None]
        self._validate(
            message["parse_data"], [slot("requested_slot", None), action("intake_form")] + prefilled
        )

    @property
    def requested(self) -> str | None:
        return self.slots.get("requested_slot")

    @property
    def active(self) -> bool:
        return self.handoff is None

    def say(self, text: str, intent: str = "inform") -> list[str]:
        assert self.active and self.requested, "the intake is over"
        before = len(self.said)
        message = user(text, intent)
        self.events += [message, action("action_extract_slots"), slot(self.requested, text)]
        self.slots[self.requested] = text
        self._validate(
            message["parse_data"],
            [slot("requested_slot", self.requested), action("intake_form"), slot(self.requested, text)],
        )
        return self.said[before:]

    def _tracker(self, parse: dict, extra: list[dict] | None = None) -> Tracker:
        return Tracker(
            sender_id="c-1",
            slots=dict(self.slots),
            latest_message=parse,
            events=self.events + list(extra or []),
            paused=False,
            followup_action=None,
            active_loop={"name": "intake_form"} if self.requested or extra else {},
            latest_action_name="action_listen",
        )

    @staticmethod
    def _run(act, tracker) -> tuple[list[dict], list[str]]:
        dispatcher = CollectingDispatcher()
        result = act.run(dispatcher, tracker, DOMAIN)
        events = asyncio.run(result) if asyncio.iscoroutine(result) else result
        return as_dicts(events), [m["text"] for m in dispatcher.messages]

    def _log(self, name: str, events: list[dict], texts: list[str]) -> None:
        self.events.append(action(name))
        for e in events:
            self.events.append(e)
            if e.get("event") == "slot":
                self.slots[e["name"]] = e["value"]
        for t in texts:
            self.events.append(bot(t))
        self.said += texts

    def _validate(self, parse: dict, temporary: list[dict]) -> None:
        events, texts = self._run(ValidateIntakeForm(), self._tracker(parse, temporary))
        self._log("intake_form", events, texts)
        nxt = self.requested
        if nxt:
            self.asked.append(nxt)
            self.events.append(bot(ASK[nxt]))
            self.said.append(ASK[nxt])
            self.events.append(action("action_listen"))
        else:
            dispatcher = CollectingDispatcher()
            submitted = ActionSubmitIntake().run(dispatcher, self._tracker(parse), DOMAIN)
            assert as_dicts(submitted) == as_dicts(PAUSE)
            self.said += [m["text"] for m in dispatcher.messages]
            self.handoff = dispatcher.messages[-1]["custom"]["handoff"]


# --------------------------------------------------------------------------------------------------
# Reading answers


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("三万", 30000),
        ("两千五", 2500),
        ("3000", 3000),
        ("3,000元", 3000),
        ("大概三千块", 3000),
        ("三万五", 35000),
        ("1.5万", 15000),
        ("八百多", 800),
        ("是三万", 30000),
        ("金额是两万", 20000),
        ("５０００元", 5000),
        ("2万元", 20000),
        ("王某", None),
        ("隔壁老王", None),
        ("不知道", None),
        ("一家公司", None),
        ("13812345678号", None),
    ],
)
def test_amounts(text, yuan):
    assert amount_of(text) == yuan


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13812345678", "13812345678"),
        ("我电话 138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("电话一五九零零一二三四五六", "15900123456"),
        ("0575-88123456", "0575-88123456"),
        ("座机057588123456", "0575-88123456"),
        ("12345", None),
        ("23812345678", None),
        ("王某", None),
        ("三万", None),
        ("1381234567", None),
    ],
)
def test_phone_numbers(text, phone):
    assert phone_of(text) == phone


def test_skips_and_corrections():
    assert all(
        is_skip(t) for t in ("不知道", "跳过", "不方便说", "这个不清楚", "跳过吧", "不记得了。", "不想说")
    )
    assert not any(is_skip(t) for t in ("不知道他叫什么，是隔壁的", "不对，是三万", "三万"))
    assert correction("不对，是三万") == "三万"
    assert correction("说错了，应该是两万五") == "两万五"
    assert correction("不是两万，是三万") == "三万"
    assert correction("不对，对方是他哥哥") == "对方是他哥哥"
    assert correction("三万") is None and correction("不是钱的事") is None


def test_dispute_description_leaves_the_request_out():
    assert dispute_description("我要申请调解") is None
    assert dispute_description("能不能帮我们调解一下") is None
    assert dispute_description("楼上漏水不赔，帮我调解") == "楼上漏水不赔"
    assert (
        dispute_description("我要申请调解，邻居家装修把我家墙弄裂了", "申请调解")
        == "邻居家装修把我家墙弄裂了"
    )


# --------------------------------------------------------------------------------------------------
# The start: what the request says counts


def test_intake_prefills_what_the_request_already_says():
    text = "邻居不肯赔我那五千块钱，能不能帮我调解"
    dispatcher = CollectingDispatcher()
    events = ActionStartIntake().run(
        dispatcher, make_tracker(text, "request_mediation", **parse_extra(text)), {}
    )
    assert [m["text"] for m in dispatcher.messages] == [INTAKE_INTRO + INTAKE_FACTS_NOTED]
    assert events == [SlotSet(s, None) for s in INTAKE_SLOTS] + [
        SlotSet("case_facts", "邻居不肯赔我那五千块钱"),
        SlotSet("case_party", "邻居"),
        SlotSet("case_amount", "5000元"),
        SlotSet("dispute_type", "邻里纠纷"),
    ]


def test_a_request_that_comes_with_a_question_answers_it_first():
    """'村里能帮着调解吗 真要起诉得交多少钱': the question is answered (with its citations), then the intake starts;
    a request whose other words ask nothing ('能找人调解吗 不太想打官司') starts the intake at once."""
    text = "老板拖欠工资不发 能帮我调解吗 真要去仲裁得多久"
    dispatcher = CollectingDispatcher()
    events = ActionStartIntake().run(
        dispatcher, make_tracker(text, "request_mediation", **parse_extra(text)), {}
    )
    texts = [m["text"] for m in dispatcher.messages]
    assert texts[-1] == INTAKE_INTRO + INTAKE_FACTS_NOTED and len(texts) >= 2
    assert dispatcher.messages[0]["custom"]["citations"][0]["id"] == "st-a1-50"  # 劳动法第五十条
    # the intake is under way: the answer does not offer mediation again, nor its buttons
    assert not any(MEDIATION_OFFER in t for t in texts)
    assert not any(m.get("buttons") for m in dispatcher.messages)
    slots = [e["name"] for e in events if e.get("event") == "slot"]
    assert slots[: len(INTAKE_SLOTS)] == list(INTAKE_SLOTS)
    assert "requested_slot" not in slots
    plain = "能找人调解吗 不太想打官司"
    dispatcher = CollectingDispatcher()
    ActionStartIntake().run(dispatcher, make_tracker(plain, "request_mediation", **parse_extra(plain)), {})
    assert [m["text"] for m in dispatcher.messages] == [INTAKE_INTRO + INTAKE_FACTS_NOTED]


def test_a_bare_request_prefills_nothing():
    dispatcher = CollectingDispatcher()
    events = ActionStartIntake().run(
        dispatcher, make_tracker("我要申请调解", "request_mediation", **parse_extra("我要申请调解")), {}
    )
    assert events == [SlotSet(s, None) for s in INTAKE_SLOTS]
    assert [m["text"] for m in dispatcher.messages] == [INTAKE_INTRO]


def test_the_button_after_a_question_takes_the_question_as_the_facts():
    history = turn(
        "楼上邻居装修把我家墙弄裂了，要赔两万", "ask_legal_question", action("action_answer_legal_question")
    )
    dispatcher = CollectingDispatcher()
    events = ActionStartIntake().run(
        dispatcher, make_tracker("/request_mediation", "request_mediation", history=history), {}
    )
    assert events[5:] == [
        SlotSet("case_facts", "楼上邻居装修把我家墙弄裂了，要赔两万"),
        SlotSet("case_party", "邻居"),
        SlotSet("case_amount", "20000元"),
        SlotSet("dispute_type", "邻里纠纷"),
    ]
    assert dispatcher.messages[0]["text"] == INTAKE_INTRO + INTAKE_FACTS_NOTED


# --------------------------------------------------------------------------------------------------
# Which questions


def plan(slots: dict, asked: tuple[str, ...] = ()) -> list[str]:
    events = [action("action_start_intake")] + [slot("requested_slot", s) for s in asked]
    return intake_plan(make_tracker("x", history=events, slots=slots))


def test_only_what_is_missing_is_asked_most_needed_first_and_never_more_than_three():
    assert plan({}) == ["case_facts", "case_party", "case_contact"]
    assert plan({"case_facts": "f"}) == ["case_party", "case_amount", "case_contact"]
    assert plan({"case_facts": "f", "case_party": "p", "case_amount": "1元"}) == [
        "case_outcome",
        "case_contact",
    ]
    assert plan({"case_contact": "138"}) == ["case_facts", "case_party", "case_amount"]
    # the facts answer also gave the party and the amount: the two questions left go to the outcome and contact
    assert plan({"case_facts": "f", "case_party": "p", "case_amount": "1元"}, asked=("case_facts",)) == [
        "case_facts",
        "case_outcome",
        "case_contact",
    ]
    assert plan(
        {"case_facts": "f", "case_party": "p"}, asked=("case_facts", "case_party", "case_amount")
    ) == ["case_facts", "case_party", "case_amount"]


# --------------------------------------------------------------------------------------------------
# Whole intakes


def test_a_request_with_facts_corrected_and_skipped_reaches_the_queue_after_two_questions():
    c = Intake("我要申请调解，邻居家装修把我家墙弄裂了，修要两万块")
    assert c.said == [INTAKE_INTRO + INTAKE_FACTS_NOTED, ASK["case_outcome"]]
    assert c.say("不对，是三万") == ["好的，已改为“涉及金额：30000元”。", ASK["case_outcome"]]
    assert c.say("不知道") == [ASK["case_contact"]]
    done = c.say("13812345678")
    assert len(set(c.asked)) == 2 and len(c.asked) == 3
    assert done[0] == (
        "已记下您的调解申请：\n· 事情经过：邻居家装修把我家墙弄裂了，修要两万块\n· 对方：邻居\n"
        "· 涉及金额：30000元\n· 希望的结果：未说明\n· 联系方式：13812345678\n"
        f"{INTAKE_DONE}\n{INTAKE_CAVEAT}"
    )
    assert c.handoff["reason"] == "mediation_request" and c.handoff["dispute_type"] == "邻里纠纷"
    assert c.handoff["summary"] == (
        "调解申请。事情经过：邻居家装修把我家墙弄裂了，修要两万块；对方：邻居；涉及金额：30000元；"
        "希望的结果：未说明；联系方式：13812345678。"
    )


def test_a_bare_request_asks_three_questions_and_lists_what_was_not_asked():
    c = Intake("我要申请调解")
    assert c.said == [INTAKE_INTRO, ASK["case_facts"]]
    assert c.say("拖欠我两个月工资，一直拖着不给") == [ASK["case_party"]]
    assert c.say("不方便说") == [ASK["case_contact"]]
    c.say("不留")
    assert c.asked == ["case_facts", "case_party", "case_contact"]
    assert c.handoff["summary"] == (
        "调解申请。事情经过：拖欠我两个月工资，一直拖着不给；对方：未说明；"
        f"联系方式：{NO_PHONE}。未问到：涉及金额、希望的结果。"
    )
    assert c.handoff["dispute_type"] == "劳动工资"
    assert c.said[-1].endswith(INTAKE_CAVEAT + LABOUR_CAVEAT)


def test_an_answer_fills_whatever_else_it_carries():
    c = Intake("我想申请调解")
    assert c.say("楼上漏水把我家天花板泡坏了，修要三千块，他不肯赔") == [ASK["case_outcome"]]
    assert (c.slots["case_party"], c.slots["case_amount"]) == ("邻居", "3000元")
    c.say("赔我修天花板的钱")
    assert c.say("0575-88123456")[-1].endswith(INTAKE_CAVEAT)
    assert c.asked == ["case_facts", "case_outcome", "case_contact"]


def test_a_name_is_not_an_amount_and_a_bad_number_is_asked_again_once():
    c = Intake("我要申请调解，借了钱一直不还")
    assert c.said[-1] == ASK["case_party"]
    assert c.say("三千") == [PROBLEMS["case_party"], ASK["case_party"]]  # a number is not the other party
    assert c.say("老乡李某") == [ASK["case_amount"]]
    assert c.say("李某") == [PROBLEMS["case_amount"], ASK["case_amount"]]  # a name is not an amount
    assert c.say("两千五") == [ASK["case_contact"]]
    assert c.slots["case_amount"] == "2500元"
    assert c.say("12345") == [PROBLEMS["case_contact"], ASK["case_contact"]]
    c.say("就这个号")  # asked twice: kept as said, marked unconfirmed, and the intake goes on
    assert c.slots["case_contact"] == "未确认（原话：就这个号）"
    assert not c.active and len(set(c.asked)) == MAX_QUESTIONS


def test_corrections_go_to_the_answer_they_are_about():
    c = Intake("我要申请调解")
    c.say("邻居把垃圾堆在我家门口，说了好几次都不听")
    assert c.slots["case_party"] == "邻居"
    assert c.requested == "case_amount"
    assert c.say("没有") == [ASK["case_contact"]]
    assert c.slots["case_amount"] == NO_AMOUNT
    assert c.say("说错了，对方是楼上的张某") == ["好的，已改为“对方：楼上的张某”。", ASK["case_contact"]]
    assert c.say("不对，电话是13912345678")[0].startswith("已记下")  # the answer, said as a correction
    assert c.slots["case_contact"] == "13912345678"


def test_a_correction_that_names_nothing_goes_to_the_last_answer():
    c = Intake("我要申请调解")
    c.say("有人占了我家的承包地，不肯还")
    assert c.requested == "case_party"
    c.say("村委会")
    assert c.say("不对，是镇上的某某合作社") == [
        "好的，已改为“对方：镇上的某某合作社”。",
        ASK["case_contact"],
    ]


def test_at_most_three_questions_whatever_the_answers():
    for answers in (
        ["不知道"] * 6,
        ["跳过", "张三", "13812345678"],
        ["三万", "？", "？", "王某", "王某", "不留"],
    ):
        c = Intake("我要申请调解")
        for text in answers:
            if not c.active:
                break
            c.say(text)
        assert not c.active, answers
        assert len(set(c.asked)) <= MAX_QUESTIONS and len(c.asked) <= 2 * MAX_QUESTIONS, (answers, c.asked)


def test_skips_are_recorded_as_not_said():
    c = Intake("我要申请调解")
    for _ in range(3):
        c.say("跳过")
    assert c.handoff["summary"] == (
        f"调解申请。事情经过：{NOT_SAID}；对方：{NOT_SAID}；联系方式：{NO_PHONE}。"
        "未问到：涉及金额、希望的结果。"
    )


def test_submitted_intake_is_confirmed_and_handed_off_with_its_summary():
    slots = {
        "case_facts": "楼上漏水泡坏了我家吊顶，他不肯赔",
        "case_party": "楼上邻居",
        "case_amount": "3000元",
        "case_outcome": "赔偿修吊顶的钱",
        "case_contact": "13812345678",
        "dispute_type": "邻里纠纷",
    }
    dispatcher = CollectingDispatcher()
    events = ActionSubmitIntake().run(dispatcher, make_tracker("13812345678", slots=slots), {})
    assert events == PAUSE
    assert dispatcher.messages[0]["text"] == (
        "已记下您的调解申请：\n· 事情经过：楼上漏水泡坏了我家吊顶，他不肯赔\n· 对方：楼上邻居\n· 涉及金额：3000元\n"
        f"· 希望的结果：赔偿修吊顶的钱\n· 联系方式：13812345678\n{INTAKE_DONE}\n{INTAKE_CAVEAT}"
    )
    handoff = dispatcher.messages[0]["custom"]["handoff"]
    assert (handoff["reason"], handoff["priority"], handoff["dispute_type"]) == (
        "mediation_request",
        "normal",
        "邻里纠纷",
    )
    assert handoff["summary"] == (
        "调解申请。事情经过：楼上漏水泡坏了我家吊顶，他不肯赔；对方：楼上邻居；涉及金额：3000元；"
        "希望的结果：赔偿修吊顶的钱；联系方式：13812345678。"
    )
    assert all(c["kind"] == "statute" for c in handoff["suggested_citations"])


def test_the_validation_returns_exact_events_for_a_correction():
    history = [
        action("action_start_intake"),
        slot("case_facts", "邻居装修把墙弄裂了"),
        slot("case_amount", "20000元"),
        action("intake_form"),
        slot("requested_slot", "case_outcome"),
        action("action_listen"),
    ]
    tracker = make_tracker(
        "不对，是三万",
        "inform",
        history=history,
        active_loop="intake_form",
        slots={
            "case_facts": "邻居装修把墙弄裂了",
            "case_amount": "20000元",
            "case_party": "邻居",
            "case_outcome": "不对，是三万",
            "requested_slot": "case_outcome",
        },
        after=[
            slot("requested_slot", "case_outcome"),
            action("intake_form"),
            slot("case_outcome", "不对，是三万"),
        ],
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateIntakeForm().run(dispatcher, tracker, DOMAIN))
    assert events == [
        SlotSet("case_outcome", None),
        SlotSet("case_amount", "30000元"),
        SlotSet("requested_slot", "case_outcome"),
    ]
    assert [m["text"] for m in dispatcher.messages] == ["好的，已改为“涉及金额：30000元”。"]


def test_a_question_inside_the_intake_is_answered_and_the_question_asked_again():
    """Asked for the amount, the resident asks about the law instead: the answer comes (with its citations), the
    amount is asked again, and the question does not count as one of the two tries at an answer."""
    c = Intake("我要申请调解，老板拖欠工资不发")
    assert c.requested == "case_amount"  # the facts and the other party come with the request
    said = c.say("拖欠工资不发 能不能去仲裁？", intent="ask_legal_question")
    assert said[-1] == ASK["case_amount"] and len(said) >= 2
    assert PROBLEMS["case_amount"] not in said
    assert any("劳动法" in text or "工资" in text for text in said[:-1])
    assert c.slots["case_amount"] is None
    assert c.say("李某") == [PROBLEMS["case_amount"], ASK["case_amount"]]  # the first real try
    assert PROBLEMS["case_amount"] not in c.say("两千五")
    assert c.slots["case_amount"] == "2500元"


@pytest.mark.parametrize(
    ("slot", "text", "question"),
    [
        ("case_amount", "鼻梁骨折算不算轻伤 能不能追究他刑事责任", True),
        ("case_amount", "大概三千块 能要回来吗", False),  # an amount: the answer, question or not
        ("case_contact", "13812345678 什么时候打给我？", False),
        ("case_outcome", "能不能让他赔钱", False),  # an outcome, not a question
        ("case_outcome", "平台一直不给删咋办 能查到发视频的是谁吗", True),
        ("case_party", "对方是谁我也不知道", False),
        ("case_party", "老王", False),
        ("case_facts", "楼上漏水把我家泡了 这个谁赔？", False),  # the facts are never interrupted
        ("case_amount", "跳过", False),
        ("case_amount", "不对，是三万", False),
    ],
)
def test_what_counts_as_a_question_inside_the_intake(slot, text, question):
    assert interrupting_question(slot, normalize(text)) is question
