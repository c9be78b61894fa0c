"""Which laws the corpus itself says were repealed, and by which article (民法典第一千二百六十条 …).

Precedents quote the laws their judges applied; many were decided under laws the Civil Code replaced on
2021-01-01 (民法通则, 物权法, 合同法 …), which are no longer in the statute corpus at all. A resident reading
such an outcome must be told. The repealing provisions are ordinary articles ("《中华人民共和国物权法》……同时
废止。"), so the list is derived from the corpus instead of being written by hand.
"""

from __future__ import annotations

import re

from knowledge_base.records import Record

REPEALED_FILE = "repealed.json"

_SENTENCE = re.compile(r"[^。；;]*(?:同时|予以|即行|一并)?废止[^。；;]*")
_TITLE = re.compile(r"《([^《》]{2,60})》")
_NOT_A_REPEAL = re.compile(r"(撤销|修改|不适用|可以废止|应当废止|提出废止|建议废止|报请|依照|批准)")


def repealed_laws(records: list[Record]) -> dict[str, str]:
    """{repealed law title: citation label of the repealing article}, from every statute text: a law that
    repealed another and was itself repealed later (噪声污染防治法, by the 生态环境法典) does not bring the older one
    back."""
    out: dict[str, str] = {}
    for r in records:
        if r.kind != "statute" or "废止" not in r.text:
            continue
        for sentence in _SENTENCE.findall(r.text):
            if _NOT_A_REPEAL.search(sentence) or not re.search(
                r"》(?:[、，和及]?(?:《[^《》]+》)?)*(?:同时|予以|即行|一并)?废止", sentence
            ):
                continue
            for title in _TITLE.findall(sentence.split("废止")[0]):
                if title != r.title:
                    out.setdefault(title, r.citation_label)
    return out


def repealed_in(text: str, repealed: dict[str, str]) -> list[tuple[str, str]]:
    """The repealed laws a text quotes, with the article that repealed each, in order of mention."""
    seen: list[tuple[str, str]] = []
    for title in _TITLE.findall(text or ""):
        label = repealed.get(title) or repealed.get("中华人民共和国" + title)
        if label and all(title != t for t, _ in seen):
            seen.append((title, label))
    return seen
