"""Ingestion of each source format, duplicate laws, and the atomic switch between versions."""

from __future__ import annotations

import json

import pytest

from knowledge_base import store
from knowledge_base.build import Source, build
from knowledge_base.search import KnowledgeBase, KnowledgeBaseNotBuilt
from knowledge_base.sources.cases_jsonl import read_cases_jsonl
from knowledge_base.sources.laws_db import read_laws_db
from knowledge_base.sources.statutes_jsonl import read_statutes_jsonl
from tests.conftest import TINY_STATUTES, write_jsonl


def test_statutes_jsonl_fields(tiny_files):
    records = list(read_statutes_jsonl(tiny_files["statutes"]))
    assert len(records) == len(TINY_STATUTES)
    first = records[0]
    assert (first.kind, first.title, first.article_no, first.article_num, first.level) == (
        "statute",
        "中华人民共和国劳动法",
        "第五十条",
        50,
        "法律",
    )
    assert records[-1].region == "浙江省"


def test_cases_jsonl_keeps_outcome_and_cited_articles(tiny_files):
    (case,) = read_cases_jsonl(tiny_files["cases"])
    assert case.kind == "precedent"
    assert case.extra["outcome"] == "支持张某的加班费请求。"
    assert case.extra["cited_articles"] == ["《中华人民共和国劳动法》第四十四条"]


def test_embedded_laws_db_is_read():
    first = next(iter(read_laws_db()))
    assert first.kind == "statute" and first.title and first.article_no and first.text
    assert first.status in {"现行有效", "已废止", "已被修改", "历史版本"}


def test_bad_jsonl_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"law": "x", "text": "y"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        list(read_statutes_jsonl(path))


def test_same_law_in_two_sources_keeps_newest(tmp_path):
    old = [dict(TINY_STATUTES[0], id="old-50", version_date="2009-08-27", text="旧版本的条文。")]
    new = [dict(TINY_STATUTES[0], id="new-50", version_date="2018-12-29")]
    sources = [
        Source("statutes_jsonl", write_jsonl(tmp_path / "old.jsonl", old)),
        Source("statutes_jsonl", write_jsonl(tmp_path / "new.jsonl", new)),
    ]
    version_dir = build(tmp_path / "kb", sources, progress=lambda m: None)
    records = store.read_records(version_dir / "records.jsonl")
    assert [r.id for r in records] == ["st-new-50"]
    manifest = store.read_manifest(version_dir)
    assert len(manifest.dropped_duplicates) == 1
    assert "old.jsonl" in manifest.dropped_duplicates[0]


def test_manifest_describes_the_build(tiny_kb):
    manifest = store.read_manifest(store.current_version_dir(tiny_kb))
    assert manifest.counts == {"statute": 5, "precedent": 1, "laws": 3}
    assert len(manifest.corpus_hash) == 16
    assert manifest.built_at


def test_rebuild_switches_a_running_reader_atomically(tmp_path, tiny_files):
    kb_dir = tmp_path / "kb"
    reader = KnowledgeBase(kb_dir)
    with pytest.raises(KnowledgeBaseNotBuilt):
        reader.search("工资")
    first = build(kb_dir, [Source("statutes_jsonl", tiny_files["statutes"])], progress=lambda m: None)
    assert reader.snapshot().version_dir == first
    assert reader.search("拖欠工资")[0].record.article_no == "第五十条"

    extra = tmp_path / "more.jsonl"
    write_jsonl(
        extra,
        [
            {
                "id": "c-1",
                "law": "中华人民共和国消费者权益保护法",
                "level": "法律",
                "article_no": "第五十五条",
                "article_num": 55,
                "version_date": "2013-10-25",
                "text": "经营者提供商品或者服务有欺诈行为的，应当按照消费者的要求增加赔偿其受到的损失。",
            }
        ],
    )
    second = build(
        kb_dir,
        [Source("statutes_jsonl", tiny_files["statutes"]), Source("statutes_jsonl", extra)],
        progress=lambda m: None,
    )
    assert (kb_dir / "CURRENT").read_text().strip() == second.name
    assert not list(store.versions_dir(kb_dir).glob(".building-*"))
    # The same reader follows CURRENT without a restart.
    assert reader.search("商家欺诈")[0].record.title == "中华人民共和国消费者权益保护法"
    assert reader.snapshot().version_dir == second


def test_a_failed_build_leaves_the_current_version_alone(tmp_path, tiny_files):
    kb_dir = tmp_path / "kb"
    good = build(kb_dir, [Source("statutes_jsonl", tiny_files["statutes"])], progress=lambda m: None)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no records"):
        build(kb_dir, [Source("statutes_jsonl", empty)], progress=lambda m: None)
    assert store.current_version_dir(kb_dir) == good
    assert json.loads((good / "aliases.json").read_text())["劳动法"] == "中华人民共和国劳动法"


def test_city_regulations_bind_their_city_only(tmp_path):
    from knowledge_base.search import KnowledgeBase

    rows = [
        {
            "id": "hz-10",
            "law": "杭州市物业管理条例",
            "level": "地方性法规",
            "region": "浙江省",
            "article_no": "第十条",
            "article_num": 10,
            "text": "业主应当按时交纳物业服务费用。",
        }
    ]
    (record,) = read_statutes_jsonl(write_jsonl(tmp_path / "hz.jsonl", rows))
    assert record.region == "浙江省杭州市"
    build(tmp_path / "kb", [Source("statutes_jsonl", tmp_path / "hz.jsonl")], progress=lambda m: None)
    kb = KnowledgeBase(tmp_path / "kb")
    assert kb.search("物业服务费用", region="浙江省杭州市西湖区")[0].record.title == "杭州市物业管理条例"
    assert kb.search("物业服务费用", region="浙江省绍兴市") == []
