"""Retrieval metrics, gold-name mapping, the fixed split, fusion tuning and encoder training on a tiny corpus."""

from __future__ import annotations

import json
import shutil

from knowledge_base.evaluation import evaluate, score
from knowledge_base.goldmap import GoldMapper, law_key
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import Gold, load_queries, parse_gold_name, split_of


def test_gold_name_parsing():
    assert parse_gold_name("中华人民共和国民法典第五十四条") == ("中华人民共和国民法典", 54, "")
    assert parse_gold_name("最高人民法院关于适用《民法典》有关担保制度的解释第十条") == (
        "最高人民法院关于适用《民法典》有关担保制度的解释",
        10,
        "",
    )
    assert parse_gold_name("刑法第一百二十条之一") == ("刑法", 120, "之一")
    assert law_key("《中华人民共和国 劳动法》") == law_key("劳动法")


def test_fixed_split_never_changes():
    assert [split_of(i) for i in range(10)] == [
        "train",
        "train",
        "train",
        "tune",
        "val",
        "train",
        "train",
        "train",
        "train",
        "val",
    ]


def test_split_selection(questions_file):
    assert len(load_queries(questions_file)) == 20
    val = load_queries(questions_file, "val")
    assert [q.index for q in val] == [4, 9, 14, 19]


def test_gold_mapping_by_number_and_by_text(tiny_kb):
    snap = KnowledgeBase(tiny_kb).snapshot()
    mapper = GoldMapper(snap.records)
    by_number = mapper.map(Gold("劳动法第五十条", "劳动法", 50, "", ""))
    assert snap.records[by_number].article_no == "第五十条"
    # Renumbered: the number points at another article, the text decides.
    renumbered = mapper.map(
        Gold(
            "x",
            "中华人民共和国劳动法",
            44,
            "",
            "工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。",
        )
    )
    assert snap.records[renumbered].article_no == "第五十条"
    assert mapper.map(Gold("y", "消费者权益保护法", 55, "", "")) is None


def test_metrics_count_unmapped_gold_as_misses(tiny_dense_kb, questions_file):
    kb = KnowledgeBase(tiny_dense_kb)  # dense ranks every record, so recall@100 only misses unmapped gold
    result = evaluate(kb, load_queries(questions_file)[:5])
    assert result["n"] == 5
    assert result["coverage"] == 0.8  # the consumer-law article is not in the tiny corpus
    assert result["recall@100"] == 0.8
    assert result["recall@1"] <= result["recall@5"] <= result["recall@10"] <= result["recall@100"]
    assert 0 < result["mrr@10"] <= 1
    assert result["latency_ms_p95"] >= result["latency_ms_p50"] > 0


def test_perfect_and_useless_rankers(tiny_kb, questions_file):
    snap = KnowledgeBase(tiny_kb).snapshot()
    mapper = GoldMapper(snap.records)
    queries = load_queries(questions_file)[:4]
    gold = {q.question: [mapper.map(g) for g in q.gold] for q in queries}
    perfect = score(queries, mapper, lambda question: gold[question])
    assert (perfect["recall@1"], perfect["mrr@10"]) == (1.0, 1.0)
    useless = score(queries, mapper, lambda question: [])
    assert (useless["recall@100"], useless["mrr@10"]) == (0.0, 0.0)


def test_tune_fusion_on_the_tune_split_only(tmp_path, tiny_dense_kb, questions_file):
    from knowledge_base.fusion import FusionWeights
    from knowledge_base.tuning import BM25_WEIGHTS, RRF_KS, tune_fusion

    kb_dir = tmp_path / "kb"
    shutil.copytree(tiny_dense_kb, kb_dir)
    tune = load_queries(questions_file, "tune")
    assert {q.index % 10 for q in tune} == {3}
    weights, best, grid = tune_fusion(KnowledgeBase(kb_dir), tune)
    assert len(grid) == len(BM25_WEIGHTS) * len(RRF_KS)
    assert best["objective"] == max(row["objective"] for row in grid)
    assert isinstance(weights, FusionWeights) and weights.bm25 in BM25_WEIGHTS


def test_train_encoder_writes_model_and_card(tmp_path, tiny_kb, base_encoder, questions_file):
    from knowledge_base.encoder.train import TrainConfig, train_encoder

    out = train_encoder(
        KnowledgeBase(tiny_kb),
        base_encoder,
        tmp_path / "finetuned",
        questions_file,
        config=TrainConfig(epochs=1, batch_size=4, threads=1),
        progress=lambda m: None,
    )
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    assert card["data"]["training_questions"] == len(load_queries(questions_file, "train")) == 14
    # Every fifth question (the consumer-law one, whose article is not in the corpus) is validation only.
    assert card["data"]["question_pairs"] == 14
    assert card["data"]["precedent_pairs"] == 1
    assert len(card["epoch_losses"]) == 1
    assert (out / "modules.json").is_file() and list(out.glob("LICENSE*"))
    tuned = KnowledgeBase(tiny_kb)  # the tuned model loads and encodes like the base one
    from knowledge_base.encoder.model import Encoder

    vec = Encoder(out).encode_queries(["拖欠工资"])
    assert vec.shape == (1, 384)
    assert tuned.snapshot().records
