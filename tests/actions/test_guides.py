"""Plain-language guides: each is complete and short enough for a phone, rests on articles in force that say
what it relies on, has every number it shows in its numbers table (each resting on a quote of its article or a
named source), and the selector picks the fitting guide, or none, on the project's own labelled messages. The
answer leads with a fitting guide and still cites the articles."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import guide_checks, guides, knowledge
from actions.actions import ActionAnswerLegalQuestion
from actions.answer import ACTION_BUTTONS, DISCLAIMER, INVALID_STATUSES, compose_answer, guide_lines
from core.settings import Settings
from knowledge_base.articles import shipped_articles
from knowledge_base.jsonl import read_jsonl
from knowledge_base.search import KnowledgeBase
from tests.actions.trackers import make_tracker

EXAMPLES = Path(__file__).with_name("guide_examples.jsonl")
CATALOGUE = guides.load_guides()
SITUATIONS = {s["id"]: s for s in guides.situations()}
RESET = [SlotSet("pending_question", None), SlotSet("clarify_detail", None), SlotSet("other_party", None)]


def examples() -> list[dict]:
    return read_jsonl(EXAMPLES)


@pytest.fixture(scope="module")
def articles():
    return shipped_articles()


# --------------------------------------------------------------------------------------------------
# The guides themselves


def test_every_situation_has_a_guide():
    assert len(SITUATIONS) == 62
    assert list(CATALOGUE) == list(SITUATIONS)  # one guide each, in the order of the situation list


@pytest.mark.parametrize("gid", list(CATALOGUE))
def test_guide_is_complete_and_short(gid):
    g = CATALOGUE[gid]
    assert g.name == SITUATIONS[gid]["name"]
    assert g.dispute_type in guides.DISPUTE_TYPES
    sentences = [s for s in g.summary.replace("！", "。").replace("？", "。").split("。") if s.strip()]
    assert 2 <= len(sentences) <= 4, g.summary
    assert 1 <= len(g.claims) <= 4 and 2 <= len(g.evidence) <= 5 and 2 <= len(g.where_to_go) <= 5
    assert 1 <= len(g.time_limits) <= 3 and all(t.starts for t in g.time_limits)
    assert len(g.articles) >= 2
    lines = guide_lines(g, "")
    assert sum(len(line) for line in lines) <= 900, f"{gid}: {sum(len(line) for line in lines)} characters"
    assert not any("\n" in line for line in lines)


@pytest.mark.parametrize("gid", list(CATALOGUE))
def test_guide_articles_exist_are_in_force_and_say_what_it_relies_on(gid, articles):
    assert guide_checks.check_articles(CATALOGUE[gid], articles) == []


@pytest.mark.parametrize("gid", list(CATALOGUE))
def test_every_number_of_a_guide_rests_on_its_articles_or_a_named_source(gid, articles):
    assert guide_checks.check_numbers(CATALOGUE[gid], articles) == []


def test_number_keys_compare_ways_of_writing_a_number():
    keys = guide_checks.number_keys
    assert keys("十五日") == keys("15日") == keys("15天") == {(15, "day")}
    assert keys("一年") == keys("12个月") == {(12, "month")}
    assert keys("半个月") == {(0.5, "month")} and keys("三年半") == {(42, "month")}
    assert keys("百分之五十") == keys("50%") == {(50, "%")}
    assert keys("50%到100%") == {(50, "%"), (100, "%")}
    assert keys("二倍") == keys("两倍") == keys("2倍") == {(2, "times")}
    assert keys("两万元") == keys("20000元") == {(20000, "yuan")}
    assert keys("12348") == {("12348", "")}


def test_a_number_without_an_entry_and_a_quote_not_in_its_article_are_found(articles):
    g = CATALOGUE["unpaid_wages"]
    broken = guides.parse_guide(
        {
            "id": "x",
            "name": "x",
            "dispute_type": "劳动工资",
            "triggers": {"core": ["x"]},
            "summary": "单位要在七日内付清。否则加付赔偿金。",
            "claims": ["工资"],
            "evidence": ["工资条", "考勤"],
            "where_to_go": ["仲裁", "起诉"],
            "time_limits": [{"what": "仲裁", "limit": "一年", "starts": "从知道之日起算"}],
            "articles": [{"law": a.law, "article": a.article, "terms": list(a.terms)} for a in g.articles],
            "numbers": [
                {
                    "value": "一年",
                    "law": "中华人民共和国劳动争议调解仲裁法",
                    "article": "第二十七条",
                    "quote": "时效期间为两年",
                }
            ],
        }
    )
    problems = guide_checks.check_numbers(broken, articles)
    assert any("七日" in p for p in problems) and any("quote" in p for p in problems)


def test_superseded_texts_are_refused_whatever_status_the_corpus_gives_them(articles):
    # repealed from 2021-01-01 (法释〔2020〕16号); the corpus has long served it as 现行有效
    record = articles.get("最高人民法院关于适用《中华人民共和国婚姻法》若干问题的解释（二）", "第十条")
    assert record is not None
    g = guides.parse_guide(
        {
            "id": "x",
            "name": "x",
            "dispute_type": "婚姻家庭",
            "triggers": {"core": ["x"]},
            "summary": "a。b。",
            "claims": ["c"],
            "evidence": ["d", "e"],
            "where_to_go": ["f", "g"],
            "time_limits": [{"what": "h", "limit": "i", "starts": "j"}],
            "numbers": [],
            "articles": [{"law": record.title, "article": "第十条", "terms": ["彩礼"]}],
        }
    )
    assert guide_checks.check_articles(g, articles) == [f"{record.title}第十条: a superseded text"]


def test_a_guide_file_without_a_field_is_refused():
    with pytest.raises(guides.GuideError, match="missing"):
        guides.parse_guide({"id": "x", "name": "x"})
    with pytest.raises(guides.GuideError, match="dispute_type"):
        guides.parse_guide({f: ["x"] for f in guides.FIELDS} | {"id": "x", "dispute_type": "打官司"})


# --------------------------------------------------------------------------------------------------
# The selector

# Close to a guide's words, but about something no guide covers (or too vague to say which): no guide.
NEAR_MISSES = [
    "公司要我调岗降薪，我不同意",
    "年终奖不发了怎么办",
    "个体工商户怎么注册",
    "我想开一家公司需要什么手续",
    "合同违约金约定得太高了能调低吗",
    "你好，我想咨询一下",
    "工资个税怎么算",
    "我要去哪里办身份证",
    "孩子上学的户口问题",
    "养老保险交满十五年能领多少",
]


def test_selector_on_its_own_labelled_examples():
    result = guides.evaluate(examples())
    labelled = result.n - result.correct_none - sum(1 for t, label, _ in result.mistakes if label == "none")
    assert result.wrong == 0, [m for m in result.mistakes if m[2]]
    assert result.fitting >= 0.85 * labelled, [m for m in result.mistakes if not m[2]]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_get_no_guide(text):
    chosen = guides.select(text)
    assert chosen is None, chosen.id


def test_a_close_second_means_no_guide():
    g = CATALOGUE["unpaid_wages"]
    twin = guides.Guide(**{**g.__dict__, "id": "twin"})
    assert guides.select("老板拖欠工资", catalogue={"unpaid_wages": g}) is g
    assert guides.select("老板拖欠工资", catalogue={"unpaid_wages": g, "twin": twin}) is None


def test_a_generic_guide_gives_way_to_the_situation():
    # 到法院起诉 fits "去哪里告" alone; with the situation named, the situation's guide answers
    assert guides.select("我要去哪里起诉，怎么打官司").id == "suing_in_court"
    assert guides.select("老板拖欠工资不发，我要去哪里起诉").id == "unpaid_wages"
    assert CATALOGUE["suing_in_court"].generic and not CATALOGUE["unpaid_wages"].generic


def test_the_conversation_type_counts_for_the_guide_of_that_type():
    text = "老板拖欠工资"
    plain = {s.guide.id: s.score for s in guides.rank(text)}["unpaid_wages"]
    typed = {s.guide.id: s.score for s in guides.rank(text, "劳动工资")}["unpaid_wages"]
    assert typed == plain + guides.TYPE_BONUS


def test_traditional_characters_and_spaces_are_read_the_same():
    assert guides.select("老闆 拖欠 工資 三個月").id == "unpaid_wages"


def test_selection_takes_well_under_five_milliseconds():
    texts = [e["text"] for e in examples()]
    guides.select(texts[0])
    timings = []
    for text in texts:
        started = time.perf_counter()
        guides.select(text)
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.002 and max(timings) < 0.02, (
        statistics.median(timings),
        max(timings),
    )


def test_eval_guides_command_prints_counts_and_shares(tmp_path, capsys):
    from fengqiao.cli import main

    path = tmp_path / "labelled.jsonl"
    rows = [
        {"text": "老板拖欠我三个月工资不给", "situation": "unpaid_wages"},
        {"text": "老板拖欠我三个月工资不给", "situation": "dismissal"},
        {"text": "今天天气怎么样", "situation": "unpaid_wages"},
        {"text": "今天天气怎么样", "situation": "none"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert main(["eval", "guides", "--file", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n"], out["fitting"], out["wrong"], out["no_guide"], out["correct_no_guide"]) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert out["fitting_share"] == 0.25
    assert main(["eval", "guides", "--file", str(path)]) == 0
    text = capsys.readouterr().out
    assert "fitting guide chosen: 1 (25.0%)" in text and "wrong guide chosen:   1 (25.0%)" in text


# --------------------------------------------------------------------------------------------------
# The answer

WAGE_GUIDE = {
    "id": "test_wages",
    "name": "拖欠工资",
    "dispute_type": "劳动工资",
    "triggers": {"core": ["拖欠.{0,4}工资"], "boost": ["老板"]},
    "summary": "工资要按月发。不得克扣或者无故拖欠。",
    "claims": ["补发工资。"],
    "evidence": ["工资条", "考勤记录"],
    "where_to_go": ["向人社部门投诉，电话 12333。", "申请劳动仲裁。"],
    "time_limits": [{"what": "申请劳动仲裁", "limit": "一年", "starts": "从知道权利被侵害之日起算"}],
    "articles": [
        {"law": "中华人民共和国劳动法", "article": "第四十四条", "terms": ["工资报酬"]},
        {"law": "中华人民共和国劳动法", "article": "第五十条", "terms": ["不得克扣或者无故拖欠"]},
        {"law": "中华人民共和国劳动合同法", "article": "第三十条", "terms": ["支付令"]},
    ],
    "numbers": [],
}
GUIDE_TEXT = (
    "简单说（拖欠工资）：工资要按月发。不得克扣或者无故拖欠。\n"
    "您可以要求：\n· 补发工资。\n"
    "下一步：\n1. 向人社部门投诉，电话 12333。\n2. 申请劳动仲裁。\n"
    "注意时限：\n· 申请劳动仲裁：一年，从知道权利被侵害之日起算。\n"
    "请保存好：工资条；考勤记录。\n"
    "法律依据：\n"
    "1. 《中华人民共和国劳动法》第四十四条（现行有效）：有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬。\n"
    "2. 《中华人民共和国劳动法》第五十条（现行有效）：工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。"
)
CLOSING = "需要的话，我可以帮您登记人民调解申请，或者转给调解员。\n" + DISCLAIMER


@pytest.fixture
def kb_at(monkeypatch):
    module = sys.modules[ActionAnswerLegalQuestion.__module__]

    def use(kb_dir, k=2):
        kb = KnowledgeBase(kb_dir)
        monkeypatch.setattr(knowledge, "_kb", kb)
        monkeypatch.setattr(module, "get_settings", lambda: Settings(answer_top_k=k))
        return kb

    return use


@pytest.fixture
def test_catalogue(monkeypatch):
    catalogue = {"test_wages": guides.parse_guide(WAGE_GUIDE)}
    monkeypatch.setattr(guides, "guides", lambda directory=None: catalogue)
    return catalogue


def answer(text: str, **kwargs) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = ActionAnswerLegalQuestion().run(dispatcher, make_tracker(text, **kwargs), {})
    return events, dispatcher.messages


def test_the_answer_leads_with_the_guide_and_cites_its_articles_first(kb_at, tiny_kb, test_catalogue):
    kb_at(
        tiny_kb, k=1
    )  # the search finds 劳动法第五十条 only: the guide's 第四十四条 is looked up and comes first
    events, messages = answer("老板拖欠工资不给怎么办")
    assert events == [SlotSet("dispute_type", "劳动工资")] + RESET
    assert [m["text"] for m in messages] == [
        GUIDE_TEXT,
        "类似纠纷是这样处理的：\n1. 加班费的仲裁时效应当如何认定\n   结果：支持张某的加班费请求。",
        CLOSING,
    ]
    first = messages[0]["custom"]
    assert first["guide"] == "test_wages"
    assert [(c["law"], c["article_no"]) for c in first["citations"]] == [
        ("中华人民共和国劳动法", "第四十四条"),
        ("中华人民共和国劳动法", "第五十条"),
    ]
    assert messages[2]["buttons"] == ACTION_BUTTONS and not messages[2].get("custom")
    assert not any("\n\n" in m["text"] for m in messages)


def test_no_fitting_guide_means_the_statute_answer(kb_at, tiny_kb, test_catalogue):
    kb_at(tiny_kb)
    _, messages = answer("离婚了要去哪里起诉")
    assert messages[0]["text"].startswith("简单说，《中华人民共和国民法典》第一千零七十九条规定：")
    assert "guide" not in messages[0]["custom"]
    assert messages[-1]["text"].startswith("您下一步可以这样做（婚姻家庭）：")


def test_the_real_wage_guide_on_the_tiny_corpus(kb_at, tiny_kb):
    kb_at(tiny_kb)
    events, messages = answer("老板拖欠我三个月工资不给")
    assert events == [SlotSet("dispute_type", "劳动工资")] + RESET
    guide = CATALOGUE["unpaid_wages"]
    assert messages[0]["text"].startswith(
        f"简单说（拖欠工资）：{guide.summary}\n您可以要求：\n· {guide.claims[0]}"
    )
    assert messages[0]["custom"]["guide"] == "unpaid_wages"
    # 劳动法第五十条 is the guide's first article and was retrieved; the tiny corpus has none of its others
    assert [c["article_no"] for c in messages[0]["custom"]["citations"]] == ["第五十条", "第四十四条"]
    assert messages[-1]["text"] == CLOSING


def test_a_guide_works_out_the_sum_from_the_message(kb_at, tiny_kb):
    kb_at(tiny_kb)
    _, messages = answer("我干了5年 月薪6000 被辞退了 能赔多少")
    text = messages[0]["text"]
    assert text.startswith("简单说（被辞退）：") and messages[0]["custom"]["guide"] == "dismissal"
    assert (
        "· 按您说的（工作5年）：经济补偿 = 5个月 × 月工资 6000元 = 30000元；如果是违法辞退，赔偿金是它的两倍，60000元。"
        in text
    )


class _Snapshot:
    def __init__(self, records):
        self.records = records

    def lookup(self, law, num, suffix=""):
        return self.records.get((law, num))


def test_a_bound_article_that_is_not_in_force_is_not_cited(tiny_kb):
    from dataclasses import replace

    kb = KnowledgeBase(tiny_kb)
    fifty = kb.snapshot().lookup("中华人民共和国劳动法", 50)
    forty_four = kb.snapshot().lookup("中华人民共和国劳动法", 44)
    for status in INVALID_STATUSES:
        snap = _Snapshot(
            {
                ("中华人民共和国劳动法", 44): replace(forty_four, status=status),
                ("中华人民共和国劳动法", 50): fifty,
            }
        )
        messages = compose_answer(
            "老板拖欠工资",
            [],
            dispute_type="劳动工资",
            snapshot=snap,
            catalogue={"test_wages": guides.parse_guide(WAGE_GUIDE)},
        )
        assert [c["article_no"] for c in messages[0].custom["citations"]] == ["第五十条"]


def test_a_guide_with_no_article_to_show_falls_back_to_the_statute_answer():
    messages = compose_answer(
        "老板拖欠工资",
        [],
        dispute_type="劳动工资",
        snapshot=_Snapshot({}),
        catalogue={"test_wages": guides.parse_guide(WAGE_GUIDE)},
    )
    assert [m.text for m in messages][0].startswith("抱歉，我没有找到")


def test_a_guide_already_sent_is_not_sent_again(tiny_kb):
    """A follow-up on the same situation gets the articles for what it asks, not the same guide a second time."""
    kb = KnowledgeBase(tiny_kb)
    catalogue = {"test_wages": guides.parse_guide(WAGE_GUIDE)}
    statutes = kb.search("拖欠工资", k=2, kind="statute")
    first = compose_answer(
        "老板拖欠工资", statutes, dispute_type="劳动工资", snapshot=kb.snapshot(), catalogue=catalogue
    )
    assert first[0].custom["guide"] == "test_wages"
    again = compose_answer(
        "老板拖欠工资",
        statutes,
        dispute_type="劳动工资",
        snapshot=kb.snapshot(),
        catalogue=catalogue,
        shown_guides=frozenset({"test_wages"}),
    )
    assert "guide" not in again[0].custom and again[0].custom["citations"]


def test_the_guides_a_conversation_was_sent():
    from actions.conversation import guides_shown
    from tests.actions.trackers import bot, make_tracker, turn

    history = turn(
        "老板拖欠工资", "ask_legal_question", bot("简单说……", {"guide": "unpaid_wages", "citations": []})
    )
    assert guides_shown(make_tracker("那要多久", history=history)) == frozenset({"unpaid_wages"})
    assert guides_shown(make_tracker("老板拖欠工资")) == frozenset()
