"""Recognise explicit citations in a question: 《民法典》第1079条, 劳动法第五十条, 劳动合同法第30条."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.numerals import cn_to_int

_NUM = r"[零〇一二两三四五六七八九十百千\d]+"
_BOOK_RE = re.compile(rf"《([^》]{{2,60}})》\s*第?({_NUM})条(之[一二三四五六七八九十]+)?")
_BARE_RE = re.compile(
    rf"([\u4e00-\u9fff（）()]{{2,40}}?(?:法典|法|条例|规定|解释|办法))\s*第({_NUM})条(之[一二三四五六七八九十]+)?"
)


@dataclass(frozen=True)
class CitationRef:
    law: str
    article_num: int
    suffix: str = ""


def find_citations(text: str) -> list[CitationRef]:
    refs: list[CitationRef] = []
    for pattern in (_BOOK_RE, _BARE_RE):
        for m in pattern.finditer(text):
            try:
                num = cn_to_int(m.group(2))
            except ValueError:
                continue
            ref = CitationRef(m.group(1).strip(), num, m.group(3) or "")
            if ref not in refs:
                refs.append(ref)
        if refs:
            break
    return refs
