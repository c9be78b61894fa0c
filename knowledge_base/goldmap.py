"""Map gold article names ("劳动合同法第三十条") to corpus records, checked against the gold text."""

from __future__ import annotations

import re
from collections import defaultdict

from knowledge_base.records import Record
from knowledge_base.stard import Gold

TEXT_MATCH_MIN = 0.5
_STRIP_RE = re.compile(r"[\s《》〈〉“”\"'，。、；：:,.;（）()]")


def law_key(name: str) -> str:
    """One key for all the ways a law is written: with or without 中华人民共和国, book marks, spaces."""
    name = _STRIP_RE.sub("", name)
    return name.replace("中华人民共和国", "")


def _bigrams(text: str) -> set[str]:
    text = _STRIP_RE.sub("", text)
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def text_similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / max(1, len(x | y))


class GoldMapper:
    def __init__(self, records: list[Record]):
        self.by_law: dict[str, list[int]] = defaultdict(list)
        self.by_article: dict[tuple[str, int, str], int] = {}
        self.records = records
        for idx, r in enumerate(records):
            if r.kind != "statute":
                continue
            key = law_key(r.title)
            self.by_law[key].append(idx)
            if r.article_num is not None and r.article_no:
                suffix = r.article_no.split("条", 1)[1] if "条" in r.article_no else ""
                self.by_article.setdefault((key, r.article_num, suffix), idx)

    def map(self, gold: Gold) -> int | None:
        """Record index for a gold article, or None when its law is not in the corpus."""
        key = law_key(gold.law)
        candidates = self.by_law.get(key)
        if not candidates:
            return None
        idx = (
            self.by_article.get((key, gold.article_num, gold.suffix))
            if gold.article_num is not None
            else None
        )
        if idx is not None and (
            not gold.text or text_similarity(gold.text, self.records[idx].text) >= TEXT_MATCH_MIN
        ):
            return idx
        if not gold.text:
            return idx
        # Amendments renumber articles: take the best text match within the same law.
        best = max(candidates, key=lambda i: text_similarity(gold.text, self.records[i].text))
        if text_similarity(gold.text, self.records[best].text) >= TEXT_MATCH_MIN:
            return best
        return idx  # same law and number, texts too different to tell: trust the number (None if absent)
