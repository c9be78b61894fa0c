"""Choose the fusion weights on the tuning split (never the validation split); the law prior's counts come from
the training split."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

from knowledge_base.evaluation import score
from knowledge_base.fusion import FusionWeights, fuse
from knowledge_base.goldmap import GoldMapper
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import Query
from knowledge_base.text import normalize

BM25_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
RRF_KS = (5.0, 10.0, 20.0, 30.0, 60.0)
PRIORS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
MEMORY_WEIGHTS = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12)
NEIGHBOURS = (3, 5, 10, 20)
DEPTH = 200


def law_counts(mapper: GoldMapper, records: list, train: list[Query]) -> dict[str, int]:
    """How many question→article pairs of the training questions cite each law (as the corpus names it)."""
    counts: Counter[str] = Counter()
    for q in train:
        for idx in {i for i in (mapper.map(g) for g in q.gold) if i is not None}:
            counts[records[idx].title] += 1
    return dict(counts.most_common())


def tune_fusion(
    kb: KnowledgeBase,
    queries: list[Query],
    train: list[Query] | None = None,
) -> tuple[FusionWeights, dict, list[dict]]:
    snap = kb.snapshot()
    if not snap.has_dense:
        raise ValueError("the current knowledge base has no dense index; build one before tuning fusion")
    mapper = GoldMapper(snap.records)
    counts = law_counts(mapper, snap.records, train or [])
    statute = [r.kind == "statute" for r in snap.records]
    cache: dict[str, tuple[list, list]] = {}
    votes: dict[tuple[str, int], dict[int, float]] = {}
    for q in queries:
        text = normalize(q.question)
        sparse = [(i, s) for i, s, _ in snap.ranked(text, DEPTH, "bm25") if statute[i]]
        dense = [(i, s) for i, s, _ in snap.ranked(text, DEPTH, "dense") if statute[i]]
        cache[q.question] = (sparse, dense)
        if snap.memory is not None:
            for n in NEIGHBOURS:
                votes[q.question, n] = snap.votes(snap.query_vector(text), n)
    grid = []
    for w_bm25, k, prior in itertools.product(BM25_WEIGHTS, RRF_KS, PRIORS if counts else (0.0,)):
        weights = FusionWeights(bm25=w_bm25, dense=1.0, k=k, prior=prior, law_counts=counts)

        def ranker(question: str, weights=weights) -> list[int]:
            sparse, dense = cache[question]
            return [i for i, _ in fuse(sparse, dense, weights, snap.law_of)][:100]

        metrics = score(queries, mapper, ranker)
        grid.append(
            {"bm25": w_bm25, "k": k, "prior": prior, "objective": metrics["recall@10"] + metrics["mrr@10"]}
            | metrics
        )
    # Ties go to less BM25 and less prior: the simpler model.
    best = max(grid, key=lambda row: (row["objective"], -row["prior"], -row["bm25"]))
    weights = FusionWeights(
        bm25=best["bm25"],
        dense=1.0,
        k=best["k"],
        prior=best["prior"],
        law_counts=counts if best["prior"] else {},
    )
    if snap.memory is None:
        return weights, best, grid
    # Then the answered questions' weight, the fusion above fixed; ties go to less memory and fewer neighbours.
    stage = []
    for memory, n in itertools.product(MEMORY_WEIGHTS, NEIGHBOURS):
        with_memory = replace(weights, memory=memory, neighbours=n)

        def with_votes(question: str, weights=with_memory, n=n) -> list[int]:
            sparse, dense = cache[question]
            fused = fuse(sparse, dense, weights, snap.law_of, votes[question, n])
            return [i for i, _ in fused if statute[i]][:100]

        metrics = score(queries, mapper, with_votes)
        stage.append(
            {
                "bm25": best["bm25"],
                "k": best["k"],
                "prior": best["prior"],
                "memory": memory,
                "neighbours": n,
                "objective": metrics["recall@10"] + metrics["mrr@10"],
            }
            | metrics
        )
    best = max(stage, key=lambda row: (row["objective"], -row["memory"], -row["neighbours"]))
    return replace(weights, memory=best["memory"], neighbours=best["neighbours"]), best, grid + stage
