"""JSON Lines files, plain or compressed (`.xz`, `.gz`): the one line loop every reader of the project shares."""

from __future__ import annotations

import gzip
import json
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def open_text(path: Path) -> IO[str]:
    """The file as UTF-8 text; `.xz` and `.gz` files are decompressed as they are read."""
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def display_name(path: Path) -> str:
    """`statutes.jsonl` for `statutes.jsonl.xz` too: where a record came from does not depend on compression."""
    return path.stem if path.suffix in {".xz", ".gz"} else path.name


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not a JSON object is an error naming it."""
    name = display_name(path)
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name} line {line_no}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{name} line {line_no}: not a JSON object")
            yield line_no, row


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every object of the file, in order (blank lines skipped; errors as `iter_jsonl`'s)."""
    return [row for _, row in iter_jsonl(path)]
