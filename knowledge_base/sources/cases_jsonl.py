"""Precedents in the case-per-line JSON format (fields: id, title, category, facts, result, summary, …)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from knowledge_base.jsonl import display_name, iter_jsonl
from knowledge_base.records import Record

_SEARCH_FIELDS = ("summary", "facts", "claims", "reasoning", "result")


def case_to_record(row: dict, *, source: str) -> Record | None:
    parts = [(row.get(f) or "").strip() for f in _SEARCH_FIELDS]
    text = "\n".join(p for p in parts if p) or (row.get("full_text") or "").strip()
    if not text or not row.get("title"):
        return None
    return Record(
        id=f"case-{row['id']}",
        kind="precedent",
        title=row["title"],
        text=text,
        level=None,
        region=row.get("region"),
        status=None,
        version_date=row.get("release_date"),
        source=row.get("source_url") or row.get("source") or source,
        extra={
            "category": row.get("category"),
            "outcome": row.get("result") or row.get("summary"),
            "cited_articles": row.get("cited_articles") or [],
        },
    )


def read_cases_jsonl(path: Path) -> Iterator[Record]:
    name = display_name(path)
    for line_no, row in iter_jsonl(path):
        record = case_to_record(row, source=f"{name}:{line_no}")
        if record is not None:
            yield record
