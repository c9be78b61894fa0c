"""Answered questions: STARD's training questions, each with the articles that answer it.

A new question's nearest answered questions (cosine of the question tower's embeddings) vote for the articles that
answered them: the n nearest vote 1 / (5 + rank) each, and the votes are scaled so that the best-voted article has
1. Fusion adds `memory` × its vote to an article's score (see fusion.py); both `memory` and n are chosen on the
tuning split. Residents ask the same things again and again: 58 % of the validation split's gold articles answer
some training question too.

Only the training split is held, never the tuning or validation questions, so the figures on those splits stay
honest. Scoring the training split itself would find each question's own answer and means nothing.

A version keeps its memory under memory/: the questions' vectors (vectors.npy) and, for each, the ids of the
records that answer it (answers.json). The vectors come from the version's own encoder, so a new encoder means a
new memory (see build.add_dense), and so does a new question tower (`fengqiao tune-query-encoder` builds one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.goldmap import GoldMapper
from knowledge_base.records import Record
from knowledge_base.stard import load_queries
from knowledge_base.text import normalize

MEMORY_DIR = "memory"
VECTORS = "vectors.npy"
ANSWERS = "answers.json"
VOTE_OFFSET = 5.0


@dataclass(frozen=True)
class QuestionMemory:
    vectors: np.ndarray  # (questions, dim), unit length
    answers: list[list[int]]  # record indices answering each question

    def __len__(self) -> int:
        return len(self.answers)

    def votes(self, vector: np.ndarray, neighbours: int) -> dict[int, float]:
        """Record index → vote in (0, 1] from the `neighbours` answered questions nearest to `vector`."""
        n = min(neighbours, len(self.answers))
        if n <= 0:
            return {}
        sims = self.vectors @ vector
        nearest = np.argpartition(-sims, n - 1)[:n]
        nearest = nearest[np.argsort(-sims[nearest], kind="stable")]
        votes: dict[int, float] = {}
        for rank, j in enumerate(nearest.tolist(), 1):
            for idx in self.answers[j]:
                votes[idx] = votes.get(idx, 0.0) + 1.0 / (VOTE_OFFSET + rank)
        if not votes:
            return {}
        top = max(votes.values())
        return {idx: v / top for idx, v in votes.items()}


def build_memory(records: list[Record], encoder_dir: Path, questions: Path, out_dir: Path) -> int:
    """Write the memory of `questions`' training split for these records; returns how many questions it holds
    (those with at least one gold article in the corpus)."""
    from knowledge_base.encoder.model import Encoder

    mapper = GoldMapper(records)
    kept: list[tuple[str, list[str]]] = []
    for q in load_queries(questions, "train"):
        answers = sorted({i for i in (mapper.map(g) for g in q.gold) if i is not None})
        if answers:
            kept.append((normalize(q.question), [records[i].id for i in answers]))
    out_dir.mkdir(parents=True, exist_ok=True)
    vectors = (
        Encoder(encoder_dir, threads=2).encode_queries([text for text, _ in kept])
        if kept
        else np.zeros((0, 0), dtype=np.float32)
    )
    np.save(out_dir / VECTORS, vectors.astype(np.float32))
    (out_dir / ANSWERS).write_text(json.dumps([ids for _, ids in kept], ensure_ascii=False), encoding="utf-8")
    return len(kept)


def load_memory(version_dir: Path, records: list[Record]) -> QuestionMemory | None:
    """The version's memory, or None for a version built without one."""
    memory_dir = version_dir / MEMORY_DIR
    if not (memory_dir / VECTORS).is_file():
        return None
    index_of = {r.id: i for i, r in enumerate(records)}
    answers = [
        [index_of[rid] for rid in ids if rid in index_of]
        for ids in json.loads((memory_dir / ANSWERS).read_text(encoding="utf-8"))
    ]
    vectors = np.load(memory_dir / VECTORS)
    if len(vectors) != len(answers):
        raise ValueError(f"{memory_dir}: {len(vectors)} vectors for {len(answers)} answered questions")
    return QuestionMemory(vectors.astype(np.float32, copy=False), answers)
