"""A shallower passage encoder distilled from the index's own vectors (real e5-small, real FAISS, tiny corpus)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge_base.build import Source, build
from knowledge_base.encoder.distill import CARD_FILE, DistillConfig, distill_passage_encoder, kept_layers
from knowledge_base.encoder.model import QUERY_DIR, Encoder, model_fingerprint
from knowledge_base.search import KnowledgeBase

QUESTION = "老板拖欠工资不发怎么办"


def test_kept_layers_are_evenly_spaced_with_the_first_and_the_last():
    assert kept_layers(12, 8) == [0, 2, 3, 5, 6, 8, 9, 11]
    assert kept_layers(12, 4) == [0, 4, 7, 11]
    assert kept_layers(12, 12) == list(range(12))
    assert kept_layers(12, 1) == [11]
    with pytest.raises(ValueError, match="between 1 and 12"):
        kept_layers(12, 13)


def test_student_learns_the_teachers_passage_vectors_and_keeps_its_question_side(
    own_encoder_kb, tiny_files, tmp_path
):
    kb_dir, teacher = own_encoder_kb
    student = tmp_path / "student"
    messages = []
    out = distill_passage_encoder(
        KnowledgeBase(kb_dir),
        student,
        config=DistillConfig(layers=4, batch_size=4, epochs=12, lr=2e-4, threads=1),
        progress=messages.append,
    )
    assert out == student and (student / "onnx").is_dir()
    assert json.loads((student / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"] == 4
    card = json.loads((student / CARD_FILE).read_text(encoding="utf-8"))
    assert card["teacher_layers_kept"] == [0, 4, 7, 11]
    assert card["data"]["passages"] == 5  # 6 records, one held out to measure agreement
    assert card["epoch_losses"][-1] < card["epoch_losses"][0] / 2
    assert card["held_out_cosine"]["passages"] == 1 and -1 <= card["held_out_cosine"]["mean"] <= 1
    assert any("held-out" in m for m in messages)
    assert model_fingerprint(student) != model_fingerprint(teacher)

    # Questions still go through the teacher (it has no tuned tower): exactly the teacher's vectors.
    assert (student / QUERY_DIR / "config.json").is_file()
    assert np.allclose(
        Encoder(student).encode_queries([QUESTION]), Encoder(teacher).encode_queries([QUESTION]), atol=1e-6
    )
    # An index built with the student finds the wages article for the wages question.
    student_kb = tmp_path / "student-kb"
    build(
        student_kb,
        [Source("statutes_jsonl", tiny_files["statutes"]), Source("cases_jsonl", tiny_files["cases"])],
        progress=lambda m: None,
        encoder_dir=student,
    )
    hits = KnowledgeBase(student_kb).search(QUESTION, k=3, mode="dense")
    assert hits[0].record.id == "st-a1-50"


def test_refuses_an_index_whose_encoder_changed_and_an_existing_output(own_encoder_kb, tmp_path):
    kb_dir, teacher = own_encoder_kb
    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(FileExistsError):
        distill_passage_encoder(KnowledgeBase(kb_dir), taken, progress=lambda m: None)
    (teacher / "special_tokens_map.json").write_text(
        "{}", encoding="utf-8"
    )  # the teacher is no longer the same
    with pytest.raises(ValueError, match="changed since the index was built"):
        distill_passage_encoder(KnowledgeBase(kb_dir), tmp_path / "student", progress=lambda m: None)
    assert not (tmp_path / "student").exists()


def test_needs_a_dense_index(tiny_kb, tmp_path):
    with pytest.raises(ValueError, match="no dense index"):
        distill_passage_encoder(KnowledgeBase(tiny_kb), tmp_path / "student", progress=lambda m: None)
