"""Choose the fusion weights on the tuning split (never the validation split)."""

from __future__ import annotations

import itertools

from knowledge_base.evaluation import score
from knowledge_base.fusion import FusionWeights, fuse
from knowledge_base.goldmap import GoldMapper
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import Query
from knowledge_base.text import normalize

BM25_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
RRF_KS = (5.0, 10.0, 20.0, 30.0, 60.0)
DEPTH = 200


def tune_fusion(kb: KnowledgeBase, queries: list[Query]) -> tuple[FusionWeights, dict, list[dict]]:
    snap = kb.snapshot()
    if not snap.has_dense:
        raise ValueError("the current knowledge base has no dense index; build one before tuning fusion")
    mapper = GoldMapper(snap.records)
    statute = [r.kind == "statute" for r in snap.records]
    cache: dict[str, tuple[list, list]] = {}
    for q in queries:
        text = normalize(q.question)
        sparse = [(i, s) for i, s, _ in snap.ranked(text, DEPTH, "bm25") if statute[i]]
        dense = [(i, s) for i, s, _ in snap.ranked(text, DEPTH, "dense") if statute[i]]
        cache[q.question] = (sparse, dense)
    grid = []
    for w_bm25, k in itertools.product(BM25_WEIGHTS, RRF_KS):
        weights = FusionWeights(bm25=w_bm25, dense=1.0, k=k)

        def ranker(question: str, weights=weights) -> list[int]:
            sparse, dense = cache[question]
            return [i for i, _ in fuse(sparse, dense, weights)][:100]

        metrics = score(queries, mapper, ranker)
        grid.append({"bm25": w_bm25, "k": k, "objective": metrics["recall@10"] + metrics["mrr@10"]} | metrics)
    best = max(grid, key=lambda row: (row["objective"], -row["bm25"]))
    return FusionWeights(bm25=best["bm25"], dense=1.0, k=best["k"]), best, grid
