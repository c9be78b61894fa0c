"""A closed case is added as a precedent without a full rebuild, and readers switch to it."""

from __future__ import annotations

import shutil

import pytest

from knowledge_base import store
from knowledge_base.precedents import add_precedent
from knowledge_base.records import Record
from knowledge_base.search import KnowledgeBase


def closed_case(case_id: str = "mediation-1") -> Record:
    return Record(
        id=case_id,
        kind="precedent",
        title="邻居空调外机噪音纠纷调解案",
        text="居民反映邻居空调外机夜间噪音大，经人民调解员调解，双方同意移机并互相谅解。",
        extra={
            "category": "相邻邻里",
            "outcome": "调解成功：邻居出资移机",
            "cited_articles": ["《中华人民共和国民法典》第二百八十八条"],
        },
    )


@pytest.fixture(params=["tiny_kb", "tiny_dense_kb"])
def kb_copy(request, tmp_path):
    source = request.getfixturevalue(request.param)
    shutil.copytree(source, tmp_path / "kb")
    return tmp_path / "kb"


def test_added_precedent_is_searchable(kb_copy):
    reader = KnowledgeBase(kb_copy)
    before = reader.snapshot()
    add_precedent(kb_copy, closed_case())
    after = reader.snapshot()
    assert after.version_dir != before.version_dir
    assert len(after.records) == len(before.records) + 1
    hits = reader.search("空调外机噪音", k=3, kind="precedent")
    assert hits[0].record.id == "mediation-1"
    assert hits[0].citation()["outcome"] == "调解成功：邻居出资移机"
    if after.has_dense:
        assert after.dense.size == len(after.records)
    manifest = store.read_manifest(after.version_dir)
    assert manifest.added == ["mediation-1"]
    assert manifest.counts["precedent"] == before.manifest.counts["precedent"] + 1


def test_old_results_are_unchanged(kb_copy):
    reader = KnowledgeBase(kb_copy)
    before = [h.record.id for h in reader.search("拖欠工资", k=3, kind="statute")]
    add_precedent(kb_copy, closed_case())
    assert [h.record.id for h in reader.search("拖欠工资", k=3, kind="statute")] == before


def test_refuses_duplicates_statutes_and_empty_text(kb_copy):
    add_precedent(kb_copy, closed_case())
    with pytest.raises(ValueError, match="already exists"):
        add_precedent(kb_copy, closed_case())
    statute = Record(id="x", kind="statute", title="某法", text="条文")
    with pytest.raises(ValueError, match="only precedents"):
        add_precedent(kb_copy, statute)
    with pytest.raises(ValueError, match="needs a title and a text"):
        add_precedent(kb_copy, Record(id="y", kind="precedent", title="案", text="  "))


def test_without_a_knowledge_base(tmp_path):
    with pytest.raises(ValueError, match="build one first"):
        add_precedent(tmp_path / "none", closed_case())
