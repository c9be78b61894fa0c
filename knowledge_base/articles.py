"""Statute articles looked up by citation, with the status a knowledge-base build gives them.

For checks of the project's own texts that rest on articles (the plain-language guides, the fixed next-step
texts): does the article exist, is it in force, does it say what the text relies on. It reads the statutes
the project ships (`build.statute_sources`), merged and dated exactly as a build does, so a check agrees with
what residents are served.
"""

from __future__ import annotations

import functools
import re

from knowledge_base.build import merge_sources, statute_sources
from knowledge_base.numerals import parse_article_no
from knowledge_base.records import Record
from knowledge_base.validity import IN_FORCE, assign_statuses

PRC = "中华人民共和国"
_CITATION_RE = re.compile(
    r"^《?(?P<law>[^》]+?)》?(?P<article>第[零〇一二两三四五六七八九十百千\d]+条(?:之[一二三四五六七八九十]+)?)$"
)


class ArticleIndex:
    """Articles by (law, number, suffix); a law may be named with or without 中华人民共和国."""

    def __init__(self, records: list[Record]):
        self._by_key: dict[tuple[str, int, str], Record] = {}
        for r in records:
            if r.kind != "statute" or not r.article_no:
                continue
            parsed = parse_article_no(r.article_no)
            if parsed is None:
                continue
            key = (r.title, *parsed)
            held = self._by_key.get(key)  # several versions of a law: the one in force, else the newest
            if (
                held is None
                or (r.status == IN_FORCE) > (held.status == IN_FORCE)
                or (
                    (r.status == IN_FORCE) == (held.status == IN_FORCE)
                    and (r.version_date or "") > (held.version_date or "")
                )
            ):
                self._by_key[key] = r
        self.laws = {law for law, _, _ in self._by_key}

    def law_name(self, law: str) -> str | None:
        """The corpus's full title of a law: 劳动合同法 → 中华人民共和国劳动合同法."""
        law = law.strip("《》 ")
        for name in (law, PRC + law):
            if name in self.laws:
                return name
        return None

    def get(self, law: str, article_no: str) -> Record | None:
        name = self.law_name(law)
        parsed = parse_article_no(article_no)
        if name is None or parsed is None:
            return None
        return self._by_key.get((name, *parsed))

    def cite(self, citation: str) -> Record | None:
        """《中华人民共和国劳动合同法》第三十条, 劳动合同法第三十条 → the article, or None."""
        m = _CITATION_RE.match(citation.strip())
        return self.get(m.group("law"), m.group("article")) if m else None

    @staticmethod
    def in_force(record: Record) -> bool:
        return record.status == IN_FORCE


@functools.cache
def shipped_articles() -> ArticleIndex:
    """Every statute the project ships (about 100k articles; reading them takes a few seconds, once)."""
    records, _ = merge_sources([(s, list(s.read())) for s in statute_sources()])
    assign_statuses(records)
    return ArticleIndex(records)
