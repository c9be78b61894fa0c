"""The shipped encoder (knowledge_base/encoder/bundled/): complete, unchanged, small enough, and its vectors are
the ones its passage tower gives the shipped statutes, so a first build may reuse them instead of encoding."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from knowledge_base import store
from knowledge_base.build import Source, build, statute_sources, text_hash
from knowledge_base.encoder import bundle, registry
from knowledge_base.encoder.model import QUERY_DIR, Encoder, model_fingerprint
from knowledge_base.records import Record
from knowledge_base.search import KnowledgeBase
from tests.conftest import write_jsonl

BUNDLED = bundle.BUNDLED_DIR


def test_quantised_vectors_keep_their_direction():
    """4 bits a dimension: cosine about 0.99 to the original (random directions, the hardest case)."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 385)).astype(np.float32)  # an odd dimension is padded and cut again
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    back = bundle.dequantise(*bundle.quantise(v), 385)
    cosine = (back * v).sum(axis=1)
    assert back.shape == v.shape and float(cosine.min()) > 0.98 and float(cosine.mean()) > 0.985


def test_every_file_is_listed_with_its_checksum_and_the_whole_is_under_100_mb():
    assert bundle.is_complete(BUNDLED)
    assert bundle.verify(BUNDLED) == []
    size = sum(f.stat().st_size for f in BUNDLED.rglob("*") if f.is_file())
    assert size < bundle.MAX_BYTES
    assert not list(BUNDLED.rglob("*.safetensors"))  # inference only: no PyTorch weights are shipped


def test_a_changed_file_is_caught(tmp_path):
    copy = tmp_path / "bundled"
    shutil.copytree(BUNDLED, copy)
    with (copy / "config.json").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    (copy / "stray.txt").write_text("x", encoding="utf-8")
    assert bundle.verify(copy) == ["config.json: checksum differs", "stray.txt: not in SHA256SUMS"]


def test_the_card_names_data_split_licence_and_validation():
    card = json.loads((BUNDLED / "card.json").read_text(encoding="utf-8"))
    assert card["data"]["questions_file"].startswith("stard_train.jsonl")
    assert card["data"]["precedent_pairs"] == 0  # rebuilt from committed inputs only
    assert card["validation"]["n"] == 247
    if (BUNDLED / QUERY_DIR).is_dir():  # a question tower, when one was trained, ships complete
        assert (BUNDLED / QUERY_DIR / "onnx" / "model-int8.onnx").is_file()
    assert list(BUNDLED.glob("LICENSE*"))
    readme = (BUNDLED / "README.md").read_text(encoding="utf-8")
    assert "make encoder" in readme and "i % 5 == 4" in readme


def test_a_fresh_install_uses_it(tmp_path):
    assert registry.active_encoder(tmp_path) == BUNDLED


@pytest.fixture(scope="module")
def shipped_sample() -> list[Record]:
    """Forty articles of the shipped statutes, as a build merges them (the newest version of each law)."""
    from knowledge_base.build import merge_sources

    records, _ = merge_sources([(s, list(s.read())) for s in statute_sources()])
    return records[:: len(records) // 40][:40]


def test_the_vectors_are_those_of_its_passage_tower(shipped_sample):
    """Made by the int8 export of this passage tower; 4-bit storage and float16 weights move them by about 0.01, and
    ONNX Runtime's int8 kernels differ between CPUs (AVX2 without VNNI, where they were made, and AVX-512 VNNI) by
    about as much again: on a VNNI machine, 200 articles gave cosine min 0.971, mean 0.983. Another article's vector
    scores 0.33 on average, 0.76 at most."""
    made_by, vectors = bundle.read_vectors(BUNDLED / bundle.VECTORS_FILE)
    assert made_by == model_fingerprint(BUNDLED)
    assert len(vectors) > 75_000  # one a distinct text of the 79,818 shipped statutes
    fresh = Encoder(BUNDLED, threads=1).encode_passages([f"{r.title} {r.text}" for r in shipped_sample])
    shipped = np.stack([vectors[text_hash(r)] for r in shipped_sample])
    cosines = (fresh * shipped).sum(axis=1)
    assert float(cosines.min()) > 0.95
    assert float(cosines.mean()) > 0.975


def test_a_first_build_reuses_the_shipped_vectors_and_answers(tmp_path, shipped_sample):
    """The real stack of a fresh install: shipped statutes, shipped encoder (ONNX, both towers), FAISS, BM25."""
    # The embedded NPC laws hold the 劳动合同法 version a build keeps (the statute file's copy is dropped).
    labour = [r for r in statute_sources()[0].read() if r.title == "中华人民共和国劳动合同法"]
    rows = [
        {
            "id": r.id.removeprefix("st-"),
            "law": r.title,
            "level": r.level,
            "chapter": r.chapter,
            "article_no": r.article_no,
            "article_num": r.article_num,
            "version_date": r.version_date,
            "text": r.text,
        }
        for r in labour
    ]
    lines: list[str] = []
    kb_dir = build(
        tmp_path / "kb",
        [Source("statutes_jsonl", write_jsonl(tmp_path / "s.jsonl", rows))],
        progress=lines.append,
        encoder_dir=BUNDLED,
    )
    dense = store.read_manifest(kb_dir).require_dense()
    assert dense.reused == len(labour) and dense.encoded == 0
    hits = KnowledgeBase(tmp_path / "kb").search("公司拖欠我三个月工资不发怎么办", k=5)
    assert any(h.record.article_no in ("第三十条", "第八十五条") for h in hits)
