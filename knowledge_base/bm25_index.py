"""Sparse retrieval: bm25s over jieba tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

log = logging.getLogger(__name__)


class BM25Index:
    def __init__(self, retriever: bm25s.BM25):
        self._retriever = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict or {}

    @classmethod
    def build(cls, corpus_tokens: list[list[str]], *, show_progress: bool = False) -> BM25Index:
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(corpus_tokens, show_progress=show_progress)
        return cls(retriever)

    def save(self, directory: Path) -> None:
        self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = False) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False))

    @property
    def size(self) -> int:
        return int(self._retriever.scores["num_docs"])

    def search(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (doc ids, scores) best first; tokens unknown to the index are ignored."""
        known = [t for t in query_tokens if t in self._vocab]
        if not known or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        token_ids = [self._vocab[t] for t in known]
        scores = self._retriever.get_scores(token_ids)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)
