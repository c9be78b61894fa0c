"""What every encoder trainer sets up the same way (train, query_tuning, distill)."""

from __future__ import annotations

import random
from typing import Any


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
