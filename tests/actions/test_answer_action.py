"""The legal-answer action on tracker fixtures: exact events and messages."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes, knowledge, retrieval
from actions.actions import KB_UNAVAILABLE, ActionAnswerLegalQuestion
from actions.answer import ACTION_BUTTONS, DISCLAIMER, NO_RESULT
from core.settings import Settings
from knowledge_base.build import Source, build
from knowledge_base.search import Hit, KnowledgeBase
from tests.actions.trackers import action, make_tracker, turn
from tests.conftest import TINY_STATUTES, write_jsonl

RESET = [SlotSet("pending_question", None), SlotSet("clarify_detail", None), SlotSet("other_party", None)]
# The steps themselves are fixed texts of actions/disputes.py (their numbers are checked in test_legal_numbers.py).
LABOUR_STEPS = (
    "您下一步可以这样做（劳动工资）：\n"
    + "".join(f"{i}. {step}\n" for i, step in enumerate(disputes.TYPES["劳动工资"].next_steps, 1))
    + "需要的话，我可以帮您登记人民调解申请，或者转给调解员。\n"
    + DISCLAIMER
)


@pytest.fixture
def kb_at(monkeypatch):
    def use(kb_dir):
        kb = KnowledgeBase(kb_dir)
        monkeypatch.setattr(knowledge, "_kb", kb)
        monkeypatch.setattr("actions.flows.answer.get_settings", lambda: Settings(answer_top_k=2))
        return kb

    return use


@pytest.fixture
def statute_answer(monkeypatch):
    """The answer when no plain-language guide fits (tests/actions/test_guides.py covers the answers that lead
    with one)."""
    monkeypatch.setattr("actions.guides.select", lambda *args, **kwargs: None)


@pytest.fixture(scope="module")
def statutes_only_kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("statutes-only")
    build(
        root / "kb",
        [Source("statutes_jsonl", write_jsonl(root / "s.jsonl", TINY_STATUTES))],
        progress=lambda m: None,
    )
    return root / "kb"


def answer(text: str, **kwargs) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(dispatcher, make_tracker(text, **kwargs), {})
    return events, dispatcher.messages


def test_answer_explains_cites_shows_precedents_and_next_steps(kb_at, tiny_kb, statute_answer):
    kb_at(tiny_kb)
    events, messages = answer("老板拖欠工资不给怎么办")
    assert events == [SlotSet("dispute_type", "劳动工资")] + RESET
    assert [m["text"] for m in messages] == [
        "简单说，《中华人民共和国劳动法》第五十条规定：不得克扣或者无故拖欠劳动者的工资。"
        "《中华人民共和国劳动法》第四十四条规定：有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬。\n"
        "相关法律条文：\n"
        "1. 《中华人民共和国劳动法》第五十条（现行有效）：工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。\n"
        "2. 《中华人民共和国劳动法》第四十四条（现行有效）：有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬。",
        "类似纠纷是这样处理的：\n1. 加班费的仲裁时效应当如何认定\n   结果：支持张某的加班费请求。",
        LABOUR_STEPS,
    ]
    statutes = messages[0]["custom"]["citations"]
    assert [(c["kind"], c["law"], c["article_no"]) for c in statutes] == [
        ("statute", "中华人民共和国劳动法", "第五十条"),
        ("statute", "中华人民共和国劳动法", "第四十四条"),
    ]
    precedents = messages[1]["custom"]["citations"]
    assert [(c["kind"], c["title"], c["outcome"]) for c in precedents] == [
        ("precedent", "加班费的仲裁时效应当如何认定", "支持张某的加班费请求。")
    ]
    assert messages[2]["buttons"] == ACTION_BUTTONS and not messages[2].get("custom")
    # Rasa splits a text message at blank lines: each of these must stay one chat bubble
    assert not any("\n\n" in m["text"] for m in messages)


def test_every_citation_exists_in_the_corpus(kb_at, tiny_kb):
    kb = kb_at(tiny_kb)
    _, messages = answer("加班费不给怎么办")
    records = {r.id: r for r in kb.snapshot().records}
    cited = [c for m in messages for c in (m.get("custom") or {}).get("citations", [])]
    assert cited
    for c in cited:
        r = records[c["id"]]
        assert (r.title, r.text) == (c.get("law") or c.get("title"), c["text"])


def test_a_hit_that_does_not_match_the_snapshot_is_never_cited(kb_at, tiny_kb, monkeypatch, statute_answer):
    kb = kb_at(tiny_kb)
    real_search = kb.search

    def tampered(query, k=10, **kw):
        hits = real_search(query, k, **kw)
        return [
            Hit(replace(h.record, text=h.record.text + "（伪造）"), h.score, h.rank, h.match)
            if h.record.article_no == "第五十条"
            else h
            for h in hits
        ]

    monkeypatch.setattr(kb, "search", tampered)
    _, messages = answer("老板拖欠工资不给怎么办")
    assert "第五十条" not in messages[0]["text"]
    assert [c["article_no"] for c in messages[0]["custom"]["citations"]] == ["第四十四条"]


def test_traditional_question_gets_the_same_articles(kb_at, tiny_kb):
    kb_at(tiny_kb)
    _, simplified = answer("老板拖欠工资不给怎么办")
    _, traditional = answer("老闆拖欠工資不給怎麼辦")
    assert traditional[0]["custom"]["citations"] == simplified[0]["custom"]["citations"]


def test_no_precedents_means_no_precedent_message(kb_at, statutes_only_kb, statute_answer):
    kb_at(statutes_only_kb)
    _, messages = answer("老板拖欠工资不给怎么办")
    assert len(messages) == 2
    assert not any("类似纠纷" in m["text"] for m in messages)
    assert messages[1]["text"] == LABOUR_STEPS


def test_precedents_must_share_the_dispute_type_or_a_cited_article(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    art44 = kb.search("《劳动法》第四十四条", k=1, kind="statute")
    art50 = kb.search("《劳动法》第五十条", k=1, kind="statute")
    found = lambda **kw: [h.record.id for h in retrieval.find_precedents(kb, "加班费", region=None, **kw)]  # noqa: E731
    assert found(dispute_type="劳动工资", statutes=[]) == ["case-lrb-1"]
    assert found(dispute_type="婚姻家庭", statutes=art44) == ["case-lrb-1"]  # cites 劳动法第四十四条
    assert found(dispute_type="婚姻家庭", statutes=art50) == []
    assert found(dispute_type=None, statutes=art50) == []


def test_region_from_message_metadata_reaches_local_regulations(kb_at, tiny_kb, statute_answer):
    kb_at(tiny_kb)
    _, outside = answer("物业服务费用不交")
    _, inside = answer("物业服务费用不交", metadata={"region": "浙江省杭州市"})
    assert "浙江省物业管理条例" not in outside[0]["text"]
    assert inside[0]["custom"]["citations"][0]["law"] == "浙江省物业管理条例"
    assert "您下一步可以这样做（物业）" in inside[-1]["text"]


def test_after_clarifying_questions_the_whole_story_is_searched(kb_at, tiny_kb, statute_answer):
    kb_at(tiny_kb)
    events, messages = answer(
        '/inform{"relationship":"公司/老板"}',
        intent="inform",
        entities=[],
        slots={
            "pending_question": "我被欺负了怎么办；他一直拖着工资不给",
            "dispute_type": "劳动工资",
            "other_party": "公司/老板",
        },
        history=turn(
            "我被欺负了怎么办", "vague_question", action("action_start_clarify"), action("clarify_form")
        ),
        after=[action("clarify_form"), {"event": "active_loop", "name": None}],
    )
    assert events == RESET
    assert messages[0]["custom"]["citations"][0]["article_no"] == "第五十条"
    assert messages[-1]["text"] == LABOUR_STEPS


def test_a_pending_question_from_abandoned_clarifying_is_not_answered(kb_at, tiny_kb, statute_answer):
    kb_at(tiny_kb)
    history = turn(
        "我被欺负了怎么办", "vague_question", action("action_start_clarify"), action("clarify_form")
    ) + turn("算了", "cancel", action("action_deactivate_loop"), action("utter_clarify_cancelled"))
    events, messages = answer(
        "离婚了要去哪里起诉", slots={"pending_question": "我被欺负了怎么办"}, history=history
    )
    assert events == [SlotSet("dispute_type", "婚姻家庭")] + RESET
    assert messages[0]["custom"]["citations"][0]["article_no"] == "第一千零七十九条"


def test_topic_button_then_question_uses_the_chosen_type(kb_at, tiny_kb):
    kb_at(tiny_kb)
    history = turn('/inform{"dispute_type":"邻里纠纷"}', "inform", action("action_topic_prompt"))
    _, messages = answer("他们家总是不讲道理", slots={"dispute_type": "邻里纠纷"}, history=history)
    assert "您下一步可以这样做（邻里纠纷）" in messages[-1]["text"]


def test_nothing_found_asks_for_details(kb_at, tiny_kb):
    kb_at(tiny_kb)
    events, messages = answer("？？？")
    assert events == RESET
    assert messages == [
        {
            "text": NO_RESULT,
            "buttons": [],
            "elements": [],
            "custom": {"citations": []},
            "template": None,
            "response": None,
            "image": None,
            "attachment": None,
        }
    ]


def test_knowledge_base_not_built(kb_at, tmp_path):
    kb_at(tmp_path / "empty")
    events, messages = answer("拖欠工资")
    assert events == RESET
    assert [m["text"] for m in messages] == [KB_UNAVAILABLE]


def test_a_follow_up_keeps_the_topic_and_what_was_said(kb_at, tiny_kb, monkeypatch):
    """ "那如果他还是不给呢？" after an unpaid-wage question: the search gets the wage question with it and the
    conversation's dispute type (before, it searched the four words alone and cited 民法典 on unjust enrichment);
    a message that names another type strongly starts fresh."""
    kb_at(tiny_kb)
    searched = []
    real = retrieval.find_statutes

    def spy(kb, question, **kwargs):
        searched.append((question, kwargs["dispute_type"]))
        return real(kb, question, **kwargs)

    monkeypatch.setattr("actions.flows.answer.find_statutes", spy)
    from tests.actions.trackers import slot

    history = turn(
        "老板拖欠我两个月工资不给",
        "ask_legal_question",
        action("action_answer_legal_question"),
        slot("dispute_type", "劳动工资"),
    )
    answer("那如果他还是不给呢？", slots={"dispute_type": "劳动工资"}, history=history, entities=[])
    question, dispute_type = searched[-1]
    assert question.startswith("老板拖欠我两个月工资不给 那如果他还是不给呢") and dispute_type == "劳动工资"
    answer(
        "楼上邻居家装修把我家的墙震裂了，他们不肯赔偿维修费用怎么办",
        slots={"dispute_type": "劳动工资"},
        history=history,
        entities=[],
    )
    assert searched[-1][0].startswith("楼上邻居家装修") and "工资" not in searched[-1][0]


def test_what_counts_as_a_follow_up():
    from actions.conversation import looks_like_follow_up

    assert looks_like_follow_up("那如果他还是不给呢？") and looks_like_follow_up("去哪里告")
    assert looks_like_follow_up("要是没签合同的话公司还能这样扣我的工资吗")
    assert not looks_like_follow_up("我在工地干活从脚手架上摔下来了老板不给报工伤怎么办")
    assert not looks_like_follow_up("/request_human")
