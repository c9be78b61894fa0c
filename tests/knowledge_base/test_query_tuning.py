"""Query-side fine-tuning against the fixed passage index (real converted e5-small, real FAISS, tiny corpus)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge_base.encoder.model import QUERY_DIR, Encoder, model_fingerprint
from knowledge_base.encoder.query_tuning import CARD_FILE, QueryTuningConfig, tune_query_encoder
from knowledge_base.search import KnowledgeBase

WAGES = "工资应当以货币形式按月支付给劳动者本人。"


def test_query_tower_is_trained_on_the_train_split_and_used_for_questions(own_encoder_kb, questions_file):
    kb_dir, encoder = own_encoder_kb
    fingerprint = model_fingerprint(encoder)
    before = Encoder(encoder).encode_queries(["老板拖欠工资不发怎么办"])
    passage_before = Encoder(encoder).encode_passages([WAGES])
    messages = []
    out = tune_query_encoder(
        KnowledgeBase(kb_dir),
        questions_file,
        config=QueryTuningConfig(epochs=2, batch_size=8, lr=5e-5, threads=1),
        progress=messages.append,
    )
    assert out == encoder / QUERY_DIR and (out / "onnx").is_dir()
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    assert card["data"]["training_questions"] == 14  # of 20: every fifth is validation, i % 10 == 3 tuning
    assert card["passages"]["count"] == 4  # national statutes only: no Zhejiang regulation, no precedent
    assert card["epoch_losses"][-1] < card["epoch_losses"][0]
    assert card["started_from"] == "passage encoder"  # there was no question tower yet
    assert any("14 training questions" in m for m in messages)
    # The passage side, and so the index, stays valid; only questions are encoded by the new tower.
    assert model_fingerprint(encoder) == fingerprint
    tuned = Encoder(encoder)
    assert tuned.query_encoder is not None
    after = tuned.encode_queries(["老板拖欠工资不发怎么办"])
    assert 0.5 < float(np.sum(before * after)) < 0.99999
    assert np.array_equal(tuned.encode_passages([WAGES]), passage_before)
    hits = KnowledgeBase(kb_dir).search("老板拖欠工资不发怎么办", k=3, mode="dense")
    assert hits[0].record.id == "st-a1-50"


def test_needs_a_dense_index(tiny_kb, questions_file):
    with pytest.raises(ValueError, match="no dense index"):
        tune_query_encoder(KnowledgeBase(tiny_kb), questions_file, progress=lambda m: None)
