"""Weighted reciprocal-rank fusion of BM25 and dense rankings.

The weights are tuned on held-out tuning questions (never the validation set) by
`fengqiao tune-fusion` and stored beside the encoder they were tuned for, as fusion.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

FILE = "fusion.json"


@dataclass(frozen=True)
class FusionWeights:
    bm25: float = 0.3
    dense: float = 1.0
    k: float = 60.0

    @classmethod
    def load(cls, encoder_dir: Path) -> FusionWeights:
        path = encoder_dir / FILE
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(bm25=float(data["bm25"]), dense=float(data["dense"]), k=float(data["k"]))

    def save(self, encoder_dir: Path, **provenance) -> None:
        (encoder_dir / FILE).write_text(json.dumps(asdict(self) | provenance, ensure_ascii=False, indent=2),
                                        encoding="utf-8")


def fuse(sparse: list[tuple[int, float]], dense: list[tuple[int, float]], w: FusionWeights) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for weight, ranking in ((w.bm25, sparse), (w.dense, dense)):
        if weight <= 0:
            continue
        for rank, (idx, _) in enumerate(ranking, 1):
            scores[idx] = scores.get(idx, 0.0) + weight / (w.k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)
