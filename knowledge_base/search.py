"""Search over a built knowledge-base version: direct citation lookup, then BM25."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge_base import store
from knowledge_base.bm25_index import BM25Index
from knowledge_base.citations import find_citations
from knowledge_base.dense import DenseIndex
from knowledge_base.fusion import FusionWeights, fuse
from knowledge_base.question_memory import QuestionMemory, load_memory
from knowledge_base.records import Record
from knowledge_base.repeals import REPEALED_FILE
from knowledge_base.text import Tokenizer, normalize

if TYPE_CHECKING:
    from knowledge_base.encoder.model import Encoder

log = logging.getLogger(__name__)

QUERY_VECTORS_KEPT = 64


class KnowledgeBaseNotBuilt(RuntimeError):
    """No built version exists yet under the knowledge-base directory."""


@dataclass(frozen=True)
class Hit:
    record: Record
    score: float
    rank: int
    match: str  # "citation" | "bm25" | "dense" | "hybrid"

    def citation(self) -> dict[str, Any]:
        """The citation object of the public HTTP contract."""
        r = self.record
        out: dict[str, Any] = {
            "kind": r.kind,
            "id": r.id,
            "text": r.text,
            "status": r.status,
            "score": round(float(self.score), 4),
        }
        if r.kind == "statute":
            out |= {"law": r.title, "article_no": r.article_no, "level": r.level, "region": r.region}
        else:
            out |= {
                "title": r.title,
                "article_no": None,
                "category": (r.extra or {}).get("category"),
                "outcome": (r.extra or {}).get("outcome"),
                "cited_articles": (r.extra or {}).get("cited_articles", []),
            }
        return out


class Snapshot:
    """One loaded, immutable version of the knowledge base."""

    def __init__(self, version_dir: Path):
        self.version_dir = version_dir
        self.manifest = store.read_manifest(version_dir)
        self.records = store.read_records(version_dir / "records.jsonl")
        self.bm25 = BM25Index.load(version_dir / "bm25")
        self.tokenizer = Tokenizer.from_user_dict(version_dir / "userdict.txt")
        self.aliases: dict[str, str] = json.loads((version_dir / "aliases.json").read_text(encoding="utf-8"))
        repealed = version_dir / REPEALED_FILE  # absent in versions built before it was derived
        self.repealed: dict[str, str] = (
            json.loads(repealed.read_text(encoding="utf-8")) if repealed.is_file() else {}
        )
        self.dense: DenseIndex | None = None
        self.encoder: Encoder | None = None
        self.fusion = FusionWeights()
        self.memory: QuestionMemory | None = None
        dense = self.manifest.dense
        if dense and (version_dir / "dense").is_dir():
            from knowledge_base.encoder.model import Encoder

            self.dense = DenseIndex.load(version_dir / "dense")
            # Two threads halve a question's encoding time (12-16 ms instead of 20-28 ms, int8, 26 tokens).
            self.encoder = Encoder(dense.encoder_dir, threads=min(2, os.cpu_count() or 1))
            self.fusion = FusionWeights.load(dense.encoder_dir)
            self.memory = load_memory(version_dir, self.records)
        self._vectors: dict[str, np.ndarray] = {}
        self._vector_lock = threading.Lock()
        self.by_article: dict[tuple[str, int, str], int] = {}
        for idx, r in enumerate(self.records):
            if r.kind == "statute" and r.article_num is not None and r.article_no:
                suffix = r.article_no.split("条", 1)[1] if "条" in r.article_no else ""
                self.by_article.setdefault((r.title, r.article_num, suffix), idx)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def has_dense(self) -> bool:
        return self.dense is not None

    def ranked(self, text: str, depth: int, mode: str) -> list[tuple[int, float, str]]:
        """(record index, score, how it matched), best first, from BM25, the dense index or both fused."""
        if mode not in {"hybrid", "bm25", "dense"}:
            raise ValueError(f"unknown search mode {mode!r}")
        if mode != "bm25" and self.dense is None:
            if mode == "dense":
                raise KnowledgeBaseNotBuilt("this knowledge-base version has no dense index")
            mode = "bm25"
        sparse: list[tuple[int, float]] = []
        dense: list[tuple[int, float]] = []
        votes: dict[int, float] = {}
        if mode in {"bm25", "hybrid"}:
            ids, scores = self.bm25.search(self.tokenizer.tokens(text), depth)
            sparse = list(zip(ids.tolist(), scores.tolist(), strict=True))
        if mode in {"dense", "hybrid"}:
            assert self.dense is not None  # without one, mode became "bm25" or raised above
            vector = self.query_vector(text)
            ids, scores = self.dense.search(vector, depth)
            dense = list(zip(ids.tolist(), scores.tolist(), strict=True))
            if mode == "hybrid":
                votes = self.votes(vector)
        if mode == "bm25":
            return [(i, s, "bm25") for i, s in sparse]
        if mode == "dense":
            return [(i, s, "dense") for i, s in dense]
        return [(i, s, "hybrid") for i, s in fuse(sparse, dense, self.fusion, self.law_of, votes)]

    def votes(self, vector: np.ndarray, neighbours: int | None = None) -> dict[int, float]:
        """The answered questions' votes for this question vector (none without a memory or its weight)."""
        if self.memory is None or (neighbours is None and self.fusion.memory <= 0):
            return {}
        return self.memory.votes(vector, self.fusion.neighbours if neighbours is None else neighbours)

    def law_of(self, idx: int) -> str:
        return self.records[idx].title

    def query_vector(self, text: str) -> np.ndarray:
        """The question's embedding; the last few are kept, since one answer searches statutes and precedents
        with the same words (one encoding instead of two)."""
        with self._vector_lock:
            vector = self._vectors.get(text)
        if vector is None:
            if self.encoder is None:
                raise KnowledgeBaseNotBuilt("this knowledge-base version has no dense index")
            vector = self.encoder.encode_queries([text])[0]
            with self._vector_lock:
                self._vectors[text] = vector
                while len(self._vectors) > QUERY_VECTORS_KEPT:
                    self._vectors.pop(next(iter(self._vectors)))
        return vector

    def resolve_law(self, name: str) -> str | None:
        name = normalize(name).strip("《》 ")
        if name in self.aliases:
            return self.aliases[name]
        if not name.startswith("中华人民共和国"):
            return self.aliases.get("中华人民共和国" + name)
        return None

    def lookup(self, law: str, article_num: int, suffix: str = "") -> Record | None:
        full = self.resolve_law(law)
        if full is None:
            return None
        idx = self.by_article.get((full, article_num, suffix))
        return self.records[idx] if idx is not None else None


def _visible(record: Record, kind: str | None, region: str | None, level: str | None) -> bool:
    if kind and record.kind != kind:
        return False
    if level and record.level != level:
        return False
    # National records (region None) are for everyone; a local regulation only for residents of its region.
    return not (record.region and not (region and region.startswith(record.region)))


class KnowledgeBase:
    """Thread-safe searcher that follows the CURRENT pointer, so a rebuild is picked up without a restart."""

    def __init__(self, kb_dir: Path):
        self.kb_dir = kb_dir
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        version_dir = store.current_version_dir(self.kb_dir)
        if version_dir is None:
            raise KnowledgeBaseNotBuilt(f"no knowledge base built under {self.kb_dir.name}/ yet")
        snap = self._snapshot
        if snap is not None and snap.version_dir == version_dir:
            return snap
        with self._lock:
            if self._snapshot is None or self._snapshot.version_dir != version_dir:
                log.info("loading knowledge base %s", version_dir.name)
                self._snapshot = Snapshot(version_dir)
            return self._snapshot

    def is_ready(self) -> bool:
        return store.current_version_dir(self.kb_dir) is not None

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        kind: str | None = None,
        region: str | None = None,
        level: str | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Explicit citations first (《民法典》第1079条), then ranked retrieval; filters by kind, region, level."""
        snap = self.snapshot()
        text = normalize(query)
        hits: list[Hit] = []
        seen: set[str] = set()
        for ref in find_citations(text):
            record = snap.lookup(ref.law, ref.article_num, ref.suffix)
            if record and record.id not in seen and _visible(record, kind, region, level):
                seen.add(record.id)
                hits.append(Hit(record, 1.0, len(hits) + 1, "citation"))
        if len(hits) >= k:
            return hits[:k]
        filtered = bool(kind or region or level)
        depth = max(k * 20, 200) if filtered else max(k + len(hits), 100)
        for idx, score, how in snap.ranked(text, depth, mode):
            record = snap.records[idx]
            if record.id in seen or not _visible(record, kind, region, level):
                continue
            seen.add(record.id)
            hits.append(Hit(record, score, len(hits) + 1, how))
            if len(hits) >= k:
                break
        return hits
