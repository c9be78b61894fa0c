"""Choosing what an answer cites (actions/retrieval.py) on the tiny real knowledge base."""

from __future__ import annotations

from actions import retrieval
from actions.companion_laws import LawQuery
from knowledge_base.search import Hit, KnowledgeBase


def test_a_follow_up_keeps_articles_of_its_topics_law_and_leaves_one_place_to_the_ranking(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    question = "工资 离婚 相邻"  # words of every law: the ranking alone mixes them
    on_topic = retrieval.find_statutes(
        kb, question, dispute_type=None, region=None, k=3, topic_laws=frozenset({"中华人民共和国民法典"})
    )
    assert [h.record.title for h in on_topic[:2]] == ["中华人民共和国民法典"] * 2
    assert on_topic[2].record.title != "中华人民共和国民法典"  # the one place the ranking keeps


def test_without_topic_laws_nothing_changes(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    args = {"dispute_type": "劳动工资", "region": None, "k": 2}
    assert [h.record.id for h in retrieval.find_statutes(kb, "拖欠工资", **args)] == [
        h.record.id for h in retrieval.find_statutes(kb, "拖欠工资", topic_laws=frozenset(), **args)
    ]


PROPERTY = "浙江省物业管理条例"


def test_a_companion_laws_best_article_comes_after_the_ranked_ones(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    where = {"dispute_type": None, "region": "浙江省", "k": 2}  # the property regulation is Zhejiang's
    ranked = retrieval.find_statutes(kb, "拖欠工资", **where)
    assert PROPERTY not in {h.record.title for h in ranked}
    with_companion = retrieval.find_statutes(
        kb, "拖欠工资", companions=[LawQuery(PROPERTY, "物业服务费用")], **where
    )
    assert [h.record.id for h in with_companion[:2]] == [h.record.id for h in ranked]
    assert with_companion[2].record.title == PROPERTY
    assert with_companion[2].match == retrieval.COMPANION


def test_a_companion_law_the_answer_already_cites_adds_nothing(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    ranked = retrieval.find_statutes(kb, "拖欠工资", dispute_type=None, region=None, k=2)
    law = ranked[0].record.title
    again = retrieval.find_statutes(
        kb, "拖欠工资", dispute_type=None, region=None, k=2, companions=[LawQuery(law, "工资")]
    )
    assert [h.record.id for h in again] == [h.record.id for h in ranked]


def _hits(kb: KnowledgeBase, *titles: str) -> list[Hit]:
    """One distinct record per title given (the tiny knowledge base has two articles of each national law)."""
    records = [r for r in kb.snapshot().records if r.kind == "statute"]
    out: list[Hit] = []
    for title in titles:
        record = next(r for r in records if r.title == title and r.id not in {h.record.id for h in out})
        out.append(Hit(record, 1.0, len(out) + 1, "hybrid"))
    return out


def test_the_ranked_articles_make_room_for_the_companions(tiny_kb):
    kb = KnowledgeBase(tiny_kb)
    labour, civil = "中华人民共和国劳动法", "中华人民共和国民法典"
    a, b, c = _hits(kb, labour, civil, PROPERTY)
    extra1, extra2 = _hits(kb, labour, civil)[::-1]  # stand-ins: only the lengths and laws matter here
    # Three laws and one extra: k + 1 articles.
    assert retrieval._with_room_for([a, b, c], [extra1], 3) == [a, b, c, extra1]
    # Two extras: the ranking keeps its first two.
    assert retrieval._with_room_for([a, b, c], [extra1, extra2], 3) == [a, b, extra1, extra2]
    # A k-th article repeating a law already cited makes way for the one extra.
    a2, a3 = _hits(kb, labour, labour)
    assert retrieval._with_room_for([a2, b, a3], [extra1], 3) == [a2, b, extra1]
    assert retrieval._with_room_for([a, b], [], 3) == [a, b]
