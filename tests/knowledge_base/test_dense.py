"""Dense retrieval with the real converted encoder and a real FAISS index, and the fusion weights."""

from __future__ import annotations

import shutil

from knowledge_base import store
from knowledge_base.build import add_dense, build
from knowledge_base.fusion import FusionWeights, fuse
from knowledge_base.jsonl import read_jsonl
from knowledge_base.search import KnowledgeBase


def test_manifest_records_the_encoder(tiny_dense_kb, base_encoder):
    manifest = store.read_manifest(store.current_version_dir(tiny_dense_kb))
    assert manifest.require_dense().dim == 384
    assert manifest.require_dense().encoder_dir == base_encoder.resolve()
    assert manifest.encoder_hash == manifest.require_dense().encoder_hash


def test_dense_search_finds_the_article_without_shared_words(tiny_dense_kb):
    kb = KnowledgeBase(tiny_dense_kb)
    assert kb.snapshot().has_dense
    hits = kb.search("两口子过不下去了想分开", k=1, kind="statute", mode="dense")
    assert hits[0].record.article_no == "第一千零七十九条"
    assert hits[0].match == "dense"


def test_hybrid_is_the_default_and_bm25_still_works(tiny_dense_kb):
    kb = KnowledgeBase(tiny_dense_kb)
    hybrid = kb.search("老板拖欠工资", k=2, kind="statute")
    assert hybrid[0].match == "hybrid"
    assert hybrid[0].record.article_no == "第五十条"
    assert kb.search("老板拖欠工资", k=1, mode="bm25")[0].match == "bm25"


def test_add_dense_switches_a_bm25_only_version(tmp_path, tiny_files, base_encoder):
    from knowledge_base.build import Source

    kb_dir = tmp_path / "kb"
    build(kb_dir, [Source("statutes_jsonl", tiny_files["statutes"])], progress=lambda m: None)
    kb = KnowledgeBase(kb_dir)
    assert not kb.snapshot().has_dense
    assert kb.search("拖欠工资", k=1)[0].match == "bm25"  # degraded mode answers
    add_dense(kb_dir, base_encoder, progress=lambda m: None)
    assert kb.snapshot().has_dense
    assert kb.search("拖欠工资", k=1)[0].match == "hybrid"


def test_fusion_weights_round_trip_and_order(tmp_path):
    weights = FusionWeights(bm25=0.2, dense=1.0, k=10)
    weights.save(tmp_path, tuned_on="tune")
    assert FusionWeights.load(tmp_path) == weights
    assert FusionWeights.load(tmp_path / "missing") == FusionWeights()
    fused = fuse([(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.8)], weights)
    assert [i for i, _ in fused] == [2, 3, 1]
    only_dense = fuse([(1, 9.0)], [(3, 0.8)], FusionWeights(bm25=0.0))
    assert [i for i, _ in only_dense] == [3]


def test_the_law_prior_lifts_laws_residents_ask_about(tmp_path):
    """Dense ranks a customs rule first; the prior (from the training split's counts) puts the civil code first."""
    laws = {1: "海关监管办法", 2: "民法典"}
    weights = FusionWeights(bm25=0.0, k=10, prior=0.2, law_counts={"民法典": 400})
    assert [i for i, _ in fuse([], [(1, 0.9), (2, 0.8)], weights, laws.get)] == [2, 1]
    assert [i for i, _ in fuse([], [(1, 0.9), (2, 0.8)], weights)] == [1, 2]  # no titles: plain fusion
    weights.save(tmp_path)
    assert FusionWeights.load(tmp_path).law_counts == {"民法典": 400}
    assert weights.boost("海关监管办法") == 1.0


def test_copy_of_a_version_keeps_working(tmp_path, tiny_dense_kb):
    copy = tmp_path / "kb"
    shutil.copytree(tiny_dense_kb, copy)
    assert (
        KnowledgeBase(copy).search("物业服务费用", k=1, region="浙江省")[0].record.title
        == "浙江省物业管理条例"
    )


def test_rebuild_reuses_embeddings_of_unchanged_passages(tmp_path, tiny_files, base_encoder):
    """Same encoder, same passage text → the vector is reused; a changed article is encoded again."""
    import json

    import numpy as np

    from knowledge_base.build import Source
    from knowledge_base.dense import DenseIndex

    kb_dir = tmp_path / "kb"
    sources = [Source("statutes_jsonl", tiny_files["statutes"])]
    first = build(kb_dir, sources, progress=lambda m: None, encoder_dir=base_encoder)
    n = store.read_manifest(first).counts["statute"]
    assert store.read_manifest(first).require_dense().encoded == n

    second = build(kb_dir, sources, progress=lambda m: None, encoder_dir=base_encoder)
    dense = store.read_manifest(second).require_dense()
    assert (dense.encoded, dense.reused) == (0, n)
    assert np.allclose(
        DenseIndex.load(first / "dense").vectors(), DenseIndex.load(second / "dense").vectors()
    )

    rows = read_jsonl(tiny_files["statutes"])
    rows[0]["text"] += "（修正后新增的一句。）"
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    third = build(
        kb_dir, [Source("statutes_jsonl", changed)], progress=lambda m: None, encoder_dir=base_encoder
    )
    dense = store.read_manifest(third).require_dense()
    assert (dense.encoded, dense.reused) == (1, n - 1)
    # Search still finds the changed article by its new words.
    hits = KnowledgeBase(kb_dir).search("修正后新增的一句", k=1, mode="dense")
    assert hits and hits[0].record.text.endswith("（修正后新增的一句。）")
