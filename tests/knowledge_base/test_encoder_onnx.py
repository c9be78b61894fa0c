"""The ONNX Runtime encoder reproduces the sentence-transformers model and is re-exported when weights change."""

import subprocess
import sys

import numpy as np

from knowledge_base.encoder.model import PASSAGE_PREFIX, QUERY_PREFIX, Encoder
from knowledge_base.encoder.onnx_export import SOURCE_FILE, ensure_onnx, is_current, onnx_file

# Different lengths in one batch, so padding and the attention mask are exercised.
SENTENCES = [
    "拖欠工资",
    "樓上漏水把我家泡壞了，物业也不管，我该找谁？",
    "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。" * 3,
    "Wi-Fi 密码 12348",
]


def test_onnx_float32_matches_sentence_transformers(base_encoder):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(base_encoder), device="cpu")
    expected = reference.encode([PASSAGE_PREFIX + s for s in SENTENCES], normalize_embeddings=True)
    got = Encoder(base_encoder, int8=False).encode_passages(SENTENCES)
    assert got.shape == (4, 384) and got.dtype == np.float32
    assert np.min(np.sum(expected * got, axis=1)) > 0.9999
    query = reference.encode([QUERY_PREFIX + SENTENCES[1]], normalize_embeddings=True)
    assert float(np.sum(query * Encoder(base_encoder, int8=False).encode_queries([SENTENCES[1]]))) > 0.9999


def test_long_passages_are_truncated_where_sentence_transformers_truncates_them(base_encoder):
    """The converted model declares max_seq_length 256 and its tokenizer sets no limit of its own: a
    passage of about 420 tokens must give sentence-transformers' vector, not one of all its tokens."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(base_encoder), device="cpu")
    assert reference.max_seq_length == 256
    long_text = "".join(f"第{i}项，用人单位拖欠劳动者工资的，劳动行政部门责令限期支付。" for i in range(20))
    assert len(reference.tokenizer(PASSAGE_PREFIX + long_text)["input_ids"]) > 400
    expected = reference.encode([PASSAGE_PREFIX + long_text], normalize_embeddings=True)
    got = Encoder(base_encoder, int8=False).encode_passages([long_text])
    assert float(np.sum(expected * got)) > 0.9999


def test_export_is_redone_when_the_weights_change(base_encoder):
    path = ensure_onnx(base_encoder, int8=False)
    assert path == onnx_file(base_encoder, int8=False) and is_current(base_encoder, int8=False)
    stamp = path.stat().st_mtime_ns
    assert ensure_onnx(base_encoder, int8=False).stat().st_mtime_ns == stamp  # up to date: not exported again
    source = path.parent / SOURCE_FILE
    source.write_text("weights of an older model\n", encoding="utf-8")
    assert not is_current(base_encoder, int8=False)
    ensure_onnx(base_encoder, int8=False)
    assert is_current(base_encoder, int8=False) and path.stat().st_mtime_ns != stamp


def test_serving_an_exported_encoder_does_not_load_torch(base_encoder):
    ensure_onnx(base_encoder, int8=False)
    code = (
        "import sys; from pathlib import Path; from knowledge_base.encoder.model import Encoder; "
        f"v = Encoder(Path({str(base_encoder)!r}), threads=1, int8=False).encode_queries(['拖欠工资']); "
        "assert v.shape == (1, 384), v.shape; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_empty_query_list_gives_an_empty_matrix(base_encoder):
    assert Encoder(base_encoder, int8=False).encode_queries([]).shape == (0, 384)


def test_parallel_batches_give_the_same_embeddings_in_the_same_order(base_encoder):
    texts = [
        s + f" 第{i}条" for i in range(7) for s in SENTENCES
    ]  # 28 texts, several batches of mixed length
    reported = []
    encoder = Encoder(base_encoder, threads=1, int8=False)
    one_at_a_time = encoder.encode_passages(texts, batch_size=4)
    parallel = encoder.encode_passages(
        texts, batch_size=4, workers=2, progress=lambda done, total: reported.append((done, total))
    )
    assert parallel.shape == (28, 384)
    assert np.allclose(parallel, one_at_a_time, atol=1e-6)
    assert reported[-1] == (28, 28) and [d for d, _ in reported] == sorted(d for d, _ in reported)
