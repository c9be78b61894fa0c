"""What every encoder trainer sets up the same way (train, query_tuning, distill)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge_base.dense import DenseIndex
    from knowledge_base.manifest import DenseSection
    from knowledge_base.search import Snapshot


def seeded(seed: int, threads: int) -> random.Random:
    """Seed Python, NumPy and torch, fix torch's thread count; returns the trainer's own random source."""
    import numpy as np
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    return random.Random(seed)


def optimiser_with_frozen_embeddings(model: Any, lr: float) -> tuple[Any, list[Any]]:
    """AdamW over every weight but the word-embedding matrix, which stays as it is: most of the weights, rarely
    used rows, and shared between the passage encoder and its question tower. Returns (optimiser, weights)."""
    import torch

    for name, param in model.named_parameters():
        if "word_embeddings" in name:
            param.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.01), params


def indexed_encoder(snap: Snapshot) -> tuple[DenseIndex, DenseSection]:
    """The snapshot's dense index and the encoder that built it, for trainers that learn from the index."""
    if snap.dense is None:
        raise ValueError("the current knowledge base has no dense index; build one first")
    return snap.dense, snap.manifest.require_dense()


def linear_warmup(optimizer: Any, total: int, warmup: int) -> Any:
    """A learning rate rising linearly over the first `warmup` of `total` steps, then falling linearly to 0."""
    import torch

    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )


def optimise(loss: Any, optimizer: Any, params: list[Any], scheduler: Any = None) -> float:
    """One training step: back-propagate, clip the gradient norm to 1, step the optimiser (and the schedule),
    clear the gradients. Returns the loss."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())
