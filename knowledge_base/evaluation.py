"""Retrieval evaluation on STARD-format question files: Recall@k, MRR@10, coverage, latency."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from knowledge_base.goldmap import GoldMapper, law_key
from knowledge_base.numerals import parse_article_no
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import Query

KS = (1, 5, 10, 100)
Ranker = Callable[[str], list[int]]  # question → record indices, best first (at least 100 deep)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def score(queries: list[Query], mapper: GoldMapper, ranker: Ranker) -> dict:
    """Recall@k = share of a question's gold articles in the top k, averaged over questions; an unmapped gold
    article counts as a miss. MRR@10 = 1 / rank of the first gold article within the top 10."""
    sums = dict.fromkeys(KS, 0.0)
    mrr = 0.0
    mapped = total = 0
    latencies = []
    for q in queries:
        gold = {mapper.map(g) for g in q.gold}
        mapped += len([g for g in gold if g is not None])
        total += len(q.gold)
        gold.discard(None)
        started = time.perf_counter()
        ranked = ranker(q.question)
        latencies.append((time.perf_counter() - started) * 1000)
        for k in KS:
            sums[k] += len(gold & set(ranked[:k])) / max(1, len(q.gold))
        first = next((rank for rank, idx in enumerate(ranked[:10], 1) if idx in gold), None)
        mrr += 1 / first if first else 0.0
    n = max(1, len(queries))
    return {
        **{f"recall@{k}": round(sums[k] / n, 4) for k in KS},
        "mrr@10": round(mrr / n, 4),
        "coverage": round(mapped / max(1, total), 4),
        "n": len(queries),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p95": round(_percentile(latencies, 0.95), 2) if latencies else None,
    }


def kb_ranker(kb: KnowledgeBase, mode: str) -> Ranker:
    snap = kb.snapshot()
    index_of = {r.id: i for i, r in enumerate(snap.records)}

    def rank(question: str) -> list[int]:
        return [index_of[h.record.id] for h in kb.search(question, k=100, kind="statute", mode=mode)]

    return rank


def china_law_mcp_ranker(mapper: GoldMapper) -> Ranker:
    """The published peer's own search(), its results mapped onto this corpus by law name and article number."""
    from china_law_mcp import retrieval

    def rank(question: str) -> list[int]:
        out = []
        for hit in retrieval.search(question, top_k=100):
            parsed = parse_article_no(hit.get("article_no") or "")
            if not parsed:
                continue
            idx = mapper.by_article.get((law_key(hit.get("law_name") or ""), parsed[0], parsed[1]))
            if idx is not None:
                out.append(idx)
        return out

    return rank


def evaluate(kb: KnowledgeBase, queries: list[Query], *, baselines: bool = False) -> dict:
    snap = kb.snapshot()
    mapper = GoldMapper(snap.records)
    main_mode = "hybrid" if snap.has_dense else "bm25"
    result = score(queries, mapper, kb_ranker(kb, main_mode)) | {"method": f"{main_mode} (this system)"}
    if not baselines:
        return result
    table = [result]
    if snap.has_dense:
        table.append(score(queries, mapper, kb_ranker(kb, "bm25")) | {"method": "BM25 alone"})
        table.append(score(queries, mapper, kb_ranker(kb, "dense")) | {"method": "dense alone"})
    table.append(score(queries, mapper, china_law_mcp_ranker(mapper)) | {"method": "china-law-mcp search()"})
    return result | {"baselines": table[1:]}
