"""Weighted reciprocal-rank fusion of BM25 and dense rankings, with a prior over laws.

The weights are tuned on held-out tuning questions (never the validation set) by
`fengqiao tune-fusion` and stored beside the encoder they were tuned for, as fusion.json.

The prior: residents ask about a few dozen laws (民法典, 劳动合同法, 道路交通安全法 …), while the corpus holds 1,800
laws and regulations, most of them about how the state runs itself (口岸, 海事, 军队). A fused score is multiplied
by 1 + prior · ln(1 + n), where n is how many question→article pairs of the training split cite that law; a law
no training question cites keeps its score. `prior` is chosen on the tuning split with the other weights.

The answered questions: the `neighbours` training questions nearest to the asked one vote for their articles
(see question_memory.py); an article's fused score gains `memory` × its vote (0 to 1). Both are chosen on the
tuning split after the other weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

FILE = "fusion.json"


@dataclass(frozen=True)
class FusionWeights:
    bm25: float = 0.3
    dense: float = 1.0
    k: float = 60.0
    prior: float = 0.0
    memory: float = 0.0
    neighbours: int = 3
    law_counts: Mapping[str, int] = field(default_factory=dict, hash=False)

    def boost(self, law: str) -> float:
        return 1.0 + self.prior * math.log1p(self.law_counts.get(law, 0))

    @classmethod
    def load(cls, encoder_dir: Path) -> FusionWeights:
        path = encoder_dir / FILE
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            bm25=float(data["bm25"]),
            dense=float(data["dense"]),
            k=float(data["k"]),
            prior=float(data.get("prior", 0.0)),
            memory=float(data.get("memory", 0.0)),
            neighbours=int(data.get("neighbours", 3)),
            law_counts=dict(data.get("law_counts") or {}),
        )

    def save(self, encoder_dir: Path, **provenance) -> None:
        (encoder_dir / FILE).write_text(
            json.dumps(asdict(self) | provenance, ensure_ascii=False, indent=2), encoding="utf-8"
        )


def fuse(
    sparse: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    w: FusionWeights,
    law_of: Callable[[int], str] | None = None,
    votes: Mapping[int, float] | None = None,
) -> list[tuple[int, float]]:
    """Fused (index, score), best first; with `law_of` (record index → law title) the prior applies, with
    `votes` (record index → vote of the answered questions) the memory."""
    scores: dict[int, float] = {}
    for weight, ranking in ((w.bm25, sparse), (w.dense, dense)):
        if weight <= 0:
            continue
        for rank, (idx, _) in enumerate(ranking, 1):
            scores[idx] = scores.get(idx, 0.0) + weight / (w.k + rank)
    if law_of is not None and w.prior > 0 and w.law_counts:
        scores = {idx: s * w.boost(law_of(idx)) for idx, s in scores.items()}
    if votes and w.memory > 0:
        for idx, vote in votes.items():
            scores[idx] = scores.get(idx, 0.0) + w.memory * vote
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)
