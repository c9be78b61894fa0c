"""The sentence encoder used for dense retrieval (a sentence-transformers model directory on disk)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
INFERENCE_FILE = "inference.json"  # {"int8": true}: run the int8 ONNX model (see onnx_export)
QUERY_DIR = "query"  # optional query-side copy of the encoder, tuned against the fixed passage index
# Files that describe a model without changing its embeddings: not part of the fingerprint.
NOT_WEIGHTS = {"card.json", "fusion.json", "README.md"}
RUNTIME = b"onnxruntime-fused-v2"  # part of the fingerprint: embeddings depend on the runtime (v2: truncation
# at sentence-transformers' max_seq_length), not only on the weights


def wants_int8(model_dir: Path) -> bool:
    f = model_dir / INFERENCE_FILE
    return bool(json.loads(f.read_text(encoding="utf-8")).get("int8")) if f.is_file() else False


def model_fingerprint(model_dir: Path) -> str:
    """Hash of the weight and tokenizer files: an index is only valid with the encoder that built it."""
    h = hashlib.sha256(RUNTIME)
    files = [
        f
        for f in sorted(model_dir.rglob("*"))
        # a query tower or re-tuned fusion weights leave the passage embeddings valid
        if f.is_file() and f.relative_to(model_dir).parts[0] != QUERY_DIR and f.name not in NOT_WEIGHTS
    ]
    weights = {".safetensors", ".bin"}
    if not any(f.suffix in weights for f in files):
        weights = {".onnx"}  # an inference-only copy (the shipped encoder): its ONNX file is the weights
    for f in files:
        if f.suffix in weights | {".json", ".txt", ".model"}:
            h.update(str(f.relative_to(model_dir)).encode())
            stat = f.stat()
            if f.suffix in weights:
                with f.open("rb") as fh:  # size plus head and tail: fast and changes with any retraining
                    h.update(str(stat.st_size).encode())
                    h.update(fh.read(1 << 20))
                    fh.seek(max(0, stat.st_size - (1 << 20)))
                    h.update(fh.read())
            else:
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


class Encoder:
    """Sentence embeddings with ONNX Runtime; the session is created on first use, in the process that uses it.

    The ONNX model is exported from the encoder directory the first time it is needed (see onnx_export);
    index builds do that, so serving processes find it and never import torch."""

    def __init__(self, model_dir: Path, *, threads: int | None = None, int8: bool | None = None):
        self.model_dir = model_dir
        self.threads = threads
        self.int8 = wants_int8(model_dir) if int8 is None else int8
        self._session: Any = None  # an onnxruntime.InferenceSession (onnxruntime has no type information)
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()
        query_dir = model_dir / QUERY_DIR
        self.query_encoder = (
            Encoder(query_dir, threads=threads, int8=self.int8)
            if (query_dir / "config.json").is_file()
            else None
        )

    def _load(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort
                    from tokenizers import Tokenizer

                    from knowledge_base.encoder.onnx_export import ensure_onnx

                    path = ensure_onnx(self.model_dir, int8=self.int8)
                    tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                    tokenizer.enable_truncation(self.max_seq_length(tokenizer))
                    pad = tokenizer.token_to_id("<pad>")
                    tokenizer.enable_padding(pad_id=1 if pad is None else pad, pad_token="<pad>")
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = self.threads or os.cpu_count() or 1
                    options.inter_op_num_threads = 1
                    # Idle intra-op threads sleep instead of spinning: on a server whose cores are all busy, the
                    # spinning threads took CPU from the other processes (bench profile: 48 ms per question).
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    self._tokenizer = tokenizer
                    self._session = ort.InferenceSession(
                        str(path), options, providers=["CPUExecutionProvider"]
                    )
        return self._session, self._tokenizer

    @functools.cached_property
    def _config(self) -> dict:
        return json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))

    def _max_positions(self) -> int:
        return int(self._config.get("max_position_embeddings", 512))

    def max_seq_length(self, tokenizer) -> int:
        """Where sentence-transformers truncates this model: its module config's max_seq_length, else the
        tokenizer's own limit, else the position embeddings."""
        limit = None
        st_config = self.model_dir / "sentence_bert_config.json"
        if st_config.is_file():
            limit = json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length")
        limit = limit or (tokenizer.truncation or {}).get("max_length") or self._max_positions()
        return min(int(limit), self._max_positions())

    @property
    def dim(self) -> int:
        return int(self._config["hidden_size"])

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0].astype(np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if self.query_encoder is not None:
            return self.query_encoder.encode_queries(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(
            [self._run([QUERY_PREFIX + t for t in texts[i : i + 32]]) for i in range(0, len(texts), 32)]
        )

    def encode_passages(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 16,
        workers: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Encode in order of length (little padding), reporting progress every few hundred passages.

        With `workers` > 1, that many batches run at once on the one session (ONNX Runtime sessions are
        thread-safe and release the GIL). For a bulk build, give the Encoder `threads=1` and one worker per
        core: on two cores that encodes about 25% more passages a second than one batch at a time on two
        intra-op threads, which synchronise after every small matrix product."""
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]

        def run(ids: np.ndarray) -> np.ndarray:
            return self._run([PASSAGE_PREFIX + texts[i] for i in ids])

        with ThreadPoolExecutor(max(1, workers)) as pool:
            done = 0
            for n, (ids, vectors) in enumerate(zip(batches, pool.map(run, batches), strict=True)):
                out[ids] = vectors
                done += len(ids)
                if progress and (done == len(texts) or n % 16 == 15):
                    progress(done, len(texts))
        return out
