"""Choosing what an answer cites (actions/retrieval.py) on the tiny real knowledge base."""

from __future__ import annotations

from actions import retrieval
from knowledge_base.search import KnowledgeBase


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
