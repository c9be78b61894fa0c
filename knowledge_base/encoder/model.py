"""The sentence encoder used for dense retrieval (a sentence-transformers model directory on disk)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
INFERENCE_FILE = "inference.json"  # {"int8": true}: run the linear layers with dynamic int8 quantisation


def wants_int8(model_dir: Path) -> bool:
    f = model_dir / INFERENCE_FILE
    return bool(json.loads(f.read_text(encoding="utf-8")).get("int8")) if f.is_file() else False


def quantize_int8(model):
    """Dynamic int8 quantisation of the attention and feed-forward input projections (VNNI kernels on CPU).

    The two output projections of each layer (`...output.dense`) stay in float32: their inputs carry the
    outliers that per-tensor activation quantisation handles badly (cosine to float32 0.979 when they are
    quantised too, 0.997 when they are not, on statute passages).
    """
    import warnings

    import torch

    names = {name for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and not name.endswith("output.dense")}
    with warnings.catch_warnings():  # torch marks its quantised tensor types as deprecated; they work in 2.13
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, names, dtype=torch.qint8)


def model_fingerprint(model_dir: Path) -> str:
    """Hash of the weight and tokenizer files: an index is only valid with the encoder that built it."""
    h = hashlib.sha256()
    for f in sorted(model_dir.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".json", ".bin", ".txt", ".model"}:
            h.update(str(f.relative_to(model_dir)).encode())
            stat = f.stat()
            if f.suffix in {".safetensors", ".bin"}:
                with f.open("rb") as fh:  # size plus head and tail: fast and changes with any retraining
                    h.update(str(stat.st_size).encode())
                    h.update(fh.read(1 << 20))
                    fh.seek(max(0, stat.st_size - (1 << 20)))
                    h.update(fh.read())
            else:
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


class Encoder:
    """Lazily loads the model on first use, in the process (and worker) that uses it."""

    def __init__(self, model_dir: Path, *, threads: int | None = None, int8: bool | None = None):
        self.model_dir = model_dir
        self.threads = threads
        self.int8 = wants_int8(model_dir) if int8 is None else int8
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.threads:
                        torch.set_num_threads(self.threads)
                    model = SentenceTransformer(str(self.model_dir), device="cpu")
                    model.eval()
                    self._model = quantize_int8(model) if self.int8 else model
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode([QUERY_PREFIX + t for t in texts], batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    def encode_passages(self, texts: Sequence[str], *, batch_size: int = 32,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Encode in order of length (little padding), in chunks so progress can be reported."""
        import torch

        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        chunk = batch_size * 16
        with torch.inference_mode():
            for start in range(0, len(texts), chunk):
                ids = order[start : start + chunk]
                out[ids] = self.model.encode([PASSAGE_PREFIX + texts[i] for i in ids], batch_size=batch_size,
                                             normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False)
                if progress:
                    progress(min(start + chunk, len(texts)), len(texts))
        return out
