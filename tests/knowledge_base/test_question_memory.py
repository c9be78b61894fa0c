"""The answered questions' memory: votes, what a version keeps of it, fusion with it, and its tuning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge_base.build import add_dense, build
from knowledge_base.fusion import FusionWeights, fuse
from knowledge_base.question_memory import ANSWERS, MEMORY_DIR, VECTORS, QuestionMemory, load_memory
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import load_queries
from knowledge_base.store import current_version_dir


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_nearest_questions_vote_for_their_articles_best_first():
    memory = QuestionMemory(np.vstack([unit(1, 0), unit(0.9, 0.1), unit(0, 1)]), [[7], [7, 8], [9]])
    votes = memory.votes(unit(1, 0.05), neighbours=2)
    assert votes == {7: 1.0, 8: pytest.approx((1 / 7) / (1 / 6 + 1 / 7))}  # 9's question is the farthest
    assert set(memory.votes(unit(0, 1), neighbours=1)) == {9}
    assert memory.votes(unit(1, 0), neighbours=10).keys() == {7, 8, 9}  # more neighbours than questions
    assert memory.votes(unit(1, 0), neighbours=0) == {}
    assert QuestionMemory(np.zeros((0, 2), dtype=np.float32), []).votes(unit(1, 0), 3) == {}


def test_fusion_adds_the_weighted_vote_to_an_article_the_rankings_missed():
    weights = FusionWeights(bm25=0.0, k=10, memory=0.2, neighbours=3)
    fused = fuse([], [(1, 0.9), (2, 0.8)], weights, votes={3: 1.0, 2: 0.5})
    assert [i for i, _ in fused] == [3, 2, 1]
    assert dict(fused)[3] == pytest.approx(0.2)
    # without a weight, or without votes, the memory changes nothing
    assert [i for i, _ in fuse([], [(1, 0.9), (2, 0.8)], FusionWeights(bm25=0.0, k=10), votes={3: 1.0})] == [
        1,
        2,
    ]
    assert [i for i, _ in fuse([], [(1, 0.9), (2, 0.8)], weights)] == [1, 2]


def test_weights_round_trip_and_old_files_read_without_memory(tmp_path):
    weights = FusionWeights(bm25=0.5, k=10, prior=0.05, memory=0.04, neighbours=5)
    weights.save(tmp_path)
    assert FusionWeights.load(tmp_path) == weights
    (tmp_path / "fusion.json").write_text(json.dumps({"bm25": 0.3, "dense": 1.0, "k": 60}), encoding="utf-8")
    assert (FusionWeights.load(tmp_path).memory, FusionWeights.load(tmp_path).neighbours) == (0.0, 3)


def test_a_version_keeps_the_training_split_only_and_its_records_ids(
    tmp_path, tiny_files, base_encoder, questions_file
):
    kb_dir = remembering_kb(tmp_path, tiny_files, base_encoder, questions_file)
    version = current_version_dir(kb_dir)
    answers = json.loads((version / MEMORY_DIR / ANSWERS).read_text(encoding="utf-8"))
    train = load_queries(questions_file, "train")
    # the consumer-law question has no article in the tiny corpus, so it is not remembered
    assert len(answers) == len([q for q in train if "消费者" not in q.gold[0].law])
    assert np.load(version / MEMORY_DIR / VECTORS).shape == (len(answers), 384)
    snap = KnowledgeBase(kb_dir).snapshot()
    assert snap.memory is not None and len(snap.memory) == len(answers)
    wage = snap.lookup("劳动法", 50)
    assert wage is not None and [wage.id] in answers
    # the training question itself is its own nearest neighbour and votes for its article
    votes = snap.votes(snap.query_vector("老板拖欠工资不发怎么办"), neighbours=1)
    assert [snap.records[i].id for i in votes] == [wage.id]


def test_a_version_without_memory_serves_and_a_new_dense_index_remembers(
    tmp_path, tiny_files, base_encoder, questions_file
):
    kb_dir = tmp_path / "kb"
    build(kb_dir, [tiny_source(tiny_files)], progress=lambda m: None, encoder_dir=base_encoder)
    kb = KnowledgeBase(kb_dir)
    assert kb.snapshot().memory is None  # as versions built before the memory existed
    assert not (current_version_dir(kb_dir) / MEMORY_DIR).exists()
    assert kb.search("拖欠工资", k=1)[0].match == "hybrid"
    add_dense(kb_dir, base_encoder, progress=lambda m: None, answered=questions_file)
    assert kb.snapshot().memory is not None
    assert kb.search("拖欠工资", k=1)[0].match == "hybrid"


def test_a_memory_that_does_not_match_its_answers_is_an_error(tmp_path):
    (tmp_path / MEMORY_DIR).mkdir()
    np.save(tmp_path / MEMORY_DIR / VECTORS, np.zeros((2, 4), dtype=np.float32))
    (tmp_path / MEMORY_DIR / ANSWERS).write_text('[["st-1"]]', encoding="utf-8")
    with pytest.raises(ValueError, match="2 vectors for 1 answered questions"):
        load_memory(tmp_path, [])


def test_tuning_chooses_the_memory_after_the_fusion(tmp_path, tiny_files, base_encoder, questions_file):
    from knowledge_base.tuning import BM25_WEIGHTS, MEMORY_WEIGHTS, NEIGHBOURS, RRF_KS, tune_fusion

    kb_dir = remembering_kb(tmp_path, tiny_files, base_encoder, questions_file)
    weights, best, grid = tune_fusion(KnowledgeBase(kb_dir), load_queries(questions_file, "tune"))
    assert len(grid) == len(BM25_WEIGHTS) * len(RRF_KS) + len(MEMORY_WEIGHTS) * len(NEIGHBOURS)
    assert (weights.memory, weights.neighbours) == (best["memory"], best["neighbours"])
    stage = [row for row in grid if "memory" in row]
    assert best["objective"] == max(row["objective"] for row in stage)


def remembering_kb(tmp_path, tiny_files, base_encoder, questions_file):
    """The tiny corpus with a dense index and the memory of the question file's training split."""
    kb_dir = tmp_path / "kb"
    build(
        kb_dir,
        [tiny_source(tiny_files)],
        progress=lambda m: None,
        encoder_dir=base_encoder,
        answered=questions_file,
    )
    return kb_dir


def tiny_source(tiny_files):
    from knowledge_base.build import Source

    return Source("statutes_jsonl", tiny_files["statutes"])
