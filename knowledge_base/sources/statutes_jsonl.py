"""Statute files in the article-per-line JSON format (fields: id, law, level, region, chapter, article_no, …)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from knowledge_base.jsonl import display_name, iter_jsonl
from knowledge_base.records import Record

_CITY_RE = re.compile(r"^([\u4e00-\u9fff]{2,6}?(?:市|自治州|地区|盟))")


def refine_region(region: str | None, title: str) -> str | None:
    """A city's regulation (杭州市物业管理条例) binds that city only: 浙江省 → 浙江省杭州市."""
    if not region:
        return region
    m = _CITY_RE.match(title)
    if m and not title.startswith(region) and m.group(1) != region:
        return region + m.group(1)
    return region


def read_statutes_jsonl(path: Path) -> Iterator[Record]:
    name = display_name(path)
    for line_no, row in iter_jsonl(path):
        text = (row.get("text") or "").strip()
        if not text or not row.get("law"):
            continue
        yield Record(
            id=f"st-{row.get('id') or line_no}",
            kind="statute",
            title=row["law"],
            text=text,
            level=row.get("level"),
            region=refine_region(row.get("region"), row["law"]),
            chapter=row.get("chapter"),
            article_no=row.get("article_no"),
            article_num=row.get("article_num"),
            status=row.get("status"),
            version_date=row.get("version_date"),
            effective_date=row.get("effective_date"),
            source=row.get("source_file") or f"{name}:{line_no}",
        )
