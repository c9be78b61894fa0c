"""Compose a resident-facing answer from knowledge-base hits."""

from __future__ import annotations

from knowledge_base.search import Hit

DISCLAIMER = "以上是法律信息，不是针对您个案的法律意见；情况复杂时请咨询律师或拨打 12348 法律援助热线。"
NO_RESULT = (
    "抱歉，我没有找到与您描述直接相关的法律条文。能否再具体说说：发生了什么事、对方是谁（个人、公司还是物业等）、"
    "涉及多少钱？"
)
EXCERPT_CHARS = 120


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = text.replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose_answer(hits: list[Hit]) -> str:
    if not hits:
        return NO_RESULT
    lines = ["根据检索到的法律规定，以下条文可能与您的问题有关："]
    for i, hit in enumerate(hits, 1):
        status = hit.record.status
        note = f"（{status}）" if status and status != "现行有效" else ""
        lines.append(f"{i}. {hit.record.citation_label}{note}：{excerpt(hit.record.text)}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)
