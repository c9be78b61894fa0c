"""Real retrieval outcomes: known questions must find known articles."""

from __future__ import annotations

import pytest

from knowledge_base.search import KnowledgeBase


@pytest.fixture(scope="module")
def kb(embedded_kb) -> KnowledgeBase:
    return KnowledgeBase(embedded_kb)


def labels(hits):
    return [h.record.citation_label for h in hits]


def test_direct_citation_with_short_name_and_arabic_number(kb):
    hits = kb.search("《民法典》第1079条是什么内容", k=3)
    assert hits[0].match == "citation"
    assert hits[0].record.citation_label == "《中华人民共和国民法典》第一千零七十九条"


def test_direct_citation_without_book_marks(kb):
    assert labels(kb.search("劳动法第五十条", k=1)) == ["《中华人民共和国劳动法》第五十条"]


def test_unpaid_wages_question_finds_the_wage_article(kb):
    assert "《中华人民共和国劳动法》第五十条" in labels(kb.search("老板拖欠我三个月工资怎么办", k=5))


def test_traditional_characters_are_normalised(kb):
    simplified = labels(kb.search("离婚后孩子的抚养", k=5))
    traditional = labels(kb.search("離婚後孩子的撫養", k=5))
    assert traditional == simplified
    assert any("民法典" in label for label in traditional)


def test_kind_filter(kb, tiny_kb):
    tiny = KnowledgeBase(tiny_kb)
    hits = tiny.search("加班费", k=5, kind="precedent")
    assert [h.record.kind for h in hits] == ["precedent"]
    citation = hits[0].citation()
    assert citation["kind"] == "precedent" and citation["outcome"] == "支持张某的加班费请求。"


def test_local_regulations_only_for_their_region(tiny_kb):
    tiny = KnowledgeBase(tiny_kb)
    outside = labels(tiny.search("物业服务费用", k=5))
    inside = labels(tiny.search("物业服务费用", k=5, region="浙江省绍兴市"))
    assert "《浙江省物业管理条例》第十条" not in outside
    assert inside[0] == "《浙江省物业管理条例》第十条"


def test_question_with_no_known_words_returns_nothing(tiny_kb):
    assert KnowledgeBase(tiny_kb).search("？？？") == []


def test_a_fresh_install_remembers_the_training_questions(kb):
    """The shipped fusion weights use the memory, and a question like a training one is helped by it."""
    snap = kb.snapshot()
    assert snap.memory is not None and len(snap.memory) > 800
    assert snap.fusion.memory > 0
    votes = snap.votes(snap.query_vector("公司拖欠工资不发，我该怎么办"))
    assert votes and max(votes.values()) == 1.0
    assert all(snap.records[i].kind == "statute" for i in votes)
