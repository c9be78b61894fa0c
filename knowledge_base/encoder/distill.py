"""A shallower passage encoder distilled from the one that built the current index.

Encoding every passage is nearly all of a full build, and its cost grows with the number of transformer
layers. The student is the teacher with some layers removed (evenly spaced, first and last kept), trained
to reproduce the teacher's passage embeddings: the targets are the vectors already in the built index, so
the teacher never runs again. The student maps passages into the teacher's space, so questions keep going
through the teacher's question side, copied along as `query/` (its tuned question tower, or the teacher
itself when it has none); `fengqiao tune-query-encoder` then adapts it to the student's passages.

The card records how closely the student agrees with the teacher on passages it never trained on.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge_base.build import dense_text
from knowledge_base.encoder.model import (
    INFERENCE_FILE,
    PASSAGE_PREFIX,
    QUERY_DIR,
    Encoder,
    model_fingerprint,
    wants_int8,
)
from knowledge_base.encoder.training import (
    indexed_encoder,
    linear_warmup,
    optimise,
    optimiser_with_frozen_embeddings,
    seeded,
)
from knowledge_base.fusion import FILE as FUSION_FILE
from knowledge_base.search import KnowledgeBase

Progress = Callable[[str], None]
CARD_FILE = "card.json"
HELD_OUT = 500  # passages kept out of training to measure the student's agreement with the teacher


@dataclass(frozen=True)
class DistillConfig:
    layers: int = 8
    passages: int = 24_000
    epochs: int = 1
    batch_size: int = 32
    lr: float = 1e-4
    warmup: float = 0.1
    seed: int = 13
    threads: int = 2


def kept_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers, always the first and the last (12 → 8: 0 2 3 5 6 8 9 11)."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(f"a student needs between 1 and {teacher_layers} layers, not {student_layers}")
    if student_layers == 1:
        return [teacher_layers - 1]
    step = (teacher_layers - 1) / (student_layers - 1)
    return [round(i * step) for i in range(student_layers)]


def distill_passage_encoder(
    kb: KnowledgeBase, out_dir: Path, *, config: DistillConfig | None = None, progress: Progress = print
) -> Path:
    """Write a student of the current index's encoder to out_dir (model, ONNX export, card); returns out_dir."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    config = config or DistillConfig()
    snap = kb.snapshot()
    index, teacher = indexed_encoder(snap)
    teacher_dir = teacher.encoder_dir
    if model_fingerprint(teacher_dir) != teacher.encoder_hash:
        raise ValueError(
            f"the encoder in {teacher_dir.name}/ changed since the index was built; rebuild the index "
            "first, so that its vectors are the teacher's"
        )
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    rng = seeded(config.seed, config.threads)

    targets = index.vectors()
    order = list(range(len(snap.records)))
    rng.shuffle(order)
    held_out = order[: min(HELD_OUT, len(order) // 5)]
    train = order[len(held_out) : len(held_out) + config.passages]

    model = SentenceTransformer(str(teacher_dir), device="cpu")
    # A Hugging Face model: its submodules and config are attributes that torch's stubs cannot describe.
    bert: Any = model[0].auto_model
    teacher_layers = len(bert.encoder.layer)
    keep = kept_layers(teacher_layers, config.layers)
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in keep])
    bert.config.num_hidden_layers = len(keep)
    optimizer, params = optimiser_with_frozen_embeddings(model, config.lr)  # the teacher's question tower
    # shares the word embeddings: they must not move
    # Batches of passages of similar length (little padding), in a new random order every epoch.
    train.sort(key=lambda i: len(dense_text(snap.records[i])))
    batches = [train[i : i + config.batch_size] for i in range(0, len(train), config.batch_size)]
    total = len(batches) * config.epochs
    warmup = max(1, round(total * config.warmup))
    scheduler = linear_warmup(optimizer, total, warmup)
    progress(
        f"distilling {len(keep)} of the {teacher_layers} layers of {teacher_dir.name}/ ({keep}) "
        f"on {len(train):,} passages"
    )

    started = time.monotonic()
    epoch_losses: list[float] = []
    step = 0
    model.train()
    for epoch in range(1, config.epochs + 1):
        rng.shuffle(batches)
        losses = []
        for batch in batches:
            features = model.tokenize([PASSAGE_PREFIX + dense_text(snap.records[i]) for i in batch])
            embedding = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)
            target = torch.from_numpy(np.asarray(targets[batch], dtype=np.float32))
            loss = (1.0 - (embedding * target).sum(dim=-1)).mean()  # 1 - cosine to the teacher's vector
            losses.append(optimise(loss, optimizer, params, scheduler))
            step += 1
            if step % 50 == 0:
                progress(
                    f"  step {step}/{total}: 1 - cosine {sum(losses[-50:]) / len(losses[-50:]):.4f} "
                    f"({time.monotonic() - started:.0f} s)"
                )
        epoch_losses.append(round(sum(losses) / len(losses), 4))
        progress(
            f"epoch {epoch}/{config.epochs}: 1 - cosine {epoch_losses[-1]} ({time.monotonic() - started:.0f} s)"
        )

    staging = out_dir.with_name(f".{out_dir.name}-building")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    for name in (INFERENCE_FILE, FUSION_FILE, *[f.name for f in teacher_dir.glob("LICENSE*")]):
        if (teacher_dir / name).is_file():
            shutil.copy2(teacher_dir / name, staging / name)
    # Questions keep going through the teacher's question side: its tuned tower, else the teacher itself.
    question_side = (
        teacher_dir / QUERY_DIR if (teacher_dir / QUERY_DIR / "config.json").is_file() else teacher_dir
    )
    shutil.copytree(
        question_side,
        staging / QUERY_DIR,
        ignore=shutil.ignore_patterns(QUERY_DIR, CARD_FILE, FUSION_FILE, ".*"),
    )
    from knowledge_base.encoder.onnx_export import ensure_onnx, export_onnx

    int8 = wants_int8(teacher_dir)
    ensure_onnx(staging / QUERY_DIR, int8=int8)
    export_onnx(staging, int8=int8)
    student = Encoder(staging).encode_passages([dense_text(snap.records[i]) for i in held_out])
    agreement = np.sum(student * np.asarray(targets[held_out], dtype=np.float32), axis=1)
    cosine = {
        "passages": len(held_out),
        "mean": round(float(agreement.mean()), 4),
        "min": round(float(agreement.min()), 4),
        "p05": round(float(np.percentile(agreement, 5)), 4),
    }
    card = {
        "base": f"distilled from {teacher_dir.name}",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(time.monotonic() - started, 1),
        "teacher_layers_kept": keep,
        "data": {
            "index_version": snap.version,
            "teacher_hash": teacher.encoder_hash,
            "passages": len(train),
            "targets": "the teacher's vectors in the index",
        },
        "config": asdict(config),
        "epoch_losses": epoch_losses,
        "held_out_cosine": cosine,
    }
    (staging / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    progress(
        f"agreement with the teacher on {len(held_out)} held-out passages: mean cosine "
        f"{cosine['mean']}, 5th percentile {cosine['p05']}"
    )
    staging.rename(out_dir)
    return out_dir
