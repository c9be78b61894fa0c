"""Versioned on-disk layout of a built knowledge base, with an atomic switch between versions.

    <kb_dir>/versions/<version>/manifest.json, records.jsonl, userdict.txt, aliases.json, bm25/
    <kb_dir>/CURRENT   one line: the version readers should load

A build writes a fresh version directory and only then replaces CURRENT (os.replace is atomic on
POSIX), so a running server never sees a half-built index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from knowledge_base.records import Record

CURRENT = "CURRENT"
TOKENS = "tokens.jsonl"  # BM25 tokens of every record, so one record can be added without re-tokenising
VERSIONS = "versions"
KEEP_VERSIONS = 2


def versions_dir(kb_dir: Path) -> Path:
    return kb_dir / VERSIONS


def current_version_dir(kb_dir: Path) -> Path | None:
    pointer = kb_dir / CURRENT
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = versions_dir(kb_dir) / version
    return path if (path / "manifest.json").is_file() else None


def activate(kb_dir: Path, version_dir: Path) -> None:
    tmp = kb_dir / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(version_dir.name + "\n", encoding="utf-8")
    os.replace(tmp, kb_dir / CURRENT)
    prune(kb_dir, keep=version_dir.name)


def prune(kb_dir: Path, *, keep: str) -> None:
    """Remove old versions, keeping the active one and the newest few (a reader may still hold one open)."""
    root = versions_dir(kb_dir)
    others = sorted((p for p in root.iterdir() if p.is_dir() and p.name != keep), key=lambda p: p.name)
    for old in others[: max(0, len(others) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def write_records(path: Path, records: Iterable[Record]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_records(path: Path) -> list[Record]:
    with path.open(encoding="utf-8") as fh:
        return [Record.from_dict(json.loads(line)) for line in fh if line.strip()]


def read_manifest(version_dir: Path) -> dict:
    return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))


def write_tokens(path: Path, corpus_tokens: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for tokens in corpus_tokens:
            fh.write(json.dumps(tokens, ensure_ascii=False) + "\n")


def read_tokens(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def publish(kb_dir: Path, staging: Path, manifest: dict) -> Path:
    """Finish a staged version: write its manifest, move it into place under its name, make it current.

    A staging directory that cannot be finished is removed, so no half-built version is ever left."""
    try:
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        final = versions_dir(kb_dir) / manifest["version"]
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    activate(kb_dir, final)
    return final
