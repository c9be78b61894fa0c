"""Compose a resident-facing answer from knowledge-base hits.

When a plain-language guide fits the question (actions/guides.py), the answer is:
1. the guide: what the law says about this situation, what the resident can claim (with the sum worked out
   when the message holds the numbers), what to do next, by when and where; then the articles it rests on
   (the guide's own articles first, looked up in the knowledge base, then the retrieved ones), each with its
   validity note; the statute citations travel in the message's custom payload;
2. the most similar precedents with their outcome, when the knowledge base holds relevant ones;
3. the offer of mediation or a mediator, and a one-line note that this is legal information, not legal advice.

Otherwise it is up to three chat messages:
1. one or two sentences taken from the retrieved articles themselves (never written by the bot), then the
   articles cited as 《law》article number with their text and a validity note; the statute citations
   travel in the message's custom payload;
2. the most similar precedents with their outcome, when the knowledge base holds relevant ones;
3. what the resident can do next for this type of dispute, and a one-line note that this is legal
   information, not legal advice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from actions import disputes, guides, knowledge
from core.contracts import REQUEST_HUMAN_PAYLOAD
from knowledge_base.numerals import parse_article_no
from knowledge_base.repeals import repealed_in
from knowledge_base.search import Hit, KnowledgeBaseNotBuilt, Snapshot

DISCLAIMER = "以上是法律信息，不是针对您个案的法律意见；情况复杂时请咨询律师或拨打 12348 法律援助热线。"
NO_RESULT = (
    "抱歉，我没有找到与您描述直接相关的法律条文。能否再具体说说：发生了什么事、对方是谁（个人、公司还是物业等）、"
    "涉及多少钱？"
)
EXCERPT_CHARS = 120
OUTCOME_CHARS = 90
LEAD_CHARS = 90

VALIDITY_NOTES = {
    "现行有效": "现行有效",
    "已被修改": "注意：此条所在法律已被修改，请以现行文本为准",
    # A repealed law does not govern what happens now; only what happened before its repeal may still fall under it.
    "已废止": "注意：此法已废止，不适用于现在发生的纠纷，只有废止以前发生的事才可能仍按它处理",
    "历史版本": "注意：这是历史版本，请以现行文本为准",
    "尚未施行": "注意：此法尚未施行，施行以前发生的事不按它处理",
}
# Preferred when choosing which articles to cite.
INVALID_STATUSES = frozenset({"已废止", "历史版本", "尚未施行"})

MEDIATION_OFFER = "需要的话，我可以帮您登记人民调解申请，或者转给调解员。"
# With a guide: at most this many of its own articles, and this many articles in all beyond the retrieved k.
GUIDE_ARTICLES = 3
GUIDE_EXTRA_ARTICLES = 1
# The match label of a companion law's article (actions/retrieval.py, which imports this module).
COMPANION = "companion"

ACTION_BUTTONS = [
    {"title": "申请调解", "payload": "/request_mediation"},
    {"title": "转人工调解员", "payload": REQUEST_HUMAN_PAYLOAD},
]

_SENTENCE_RE = re.compile(r"[^。；！？\n]+[。；！？]?")
_ITEM_RE = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_NORMATIVE_RE = re.compile(r"应当|不得|有权|可以|必须|禁止|负责|承担")


@dataclass
class Message:
    text: str
    custom: dict[str, Any] | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = text.replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validity_note(status: str | None) -> str:
    note = VALIDITY_NOTES.get(status or "")
    return f"（{note}）" if note else ""


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if _CJK_RE.match(c)]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def key_sentence(question: str, text: str) -> str | None:
    """The sentence of an article that shares most with the question (character bigrams), or None."""
    wanted = _bigrams(question)
    best, best_score = None, 0.0
    for raw in _SENTENCE_RE.findall(text):
        sentence = raw.strip()
        if len(sentence) < 6 or _ITEM_RE.match(sentence):
            continue
        grams = _bigrams(sentence)
        if not grams:
            continue
        overlap = len(grams & wanted)
        # A rule (应当/不得/有权 …) explains more than a definition or a formula.
        score = overlap + (1.5 if _NORMATIVE_RE.search(sentence) else 0.0) + 0.1 / (1 + len(sentence) / 100)
        if overlap and score > best_score:
            best, best_score = sentence, score
    if best is None:
        return None
    best = best.rstrip("；;，,：:")
    if len(best) > LEAD_CHARS:
        best = best[: LEAD_CHARS - 1] + "…"
    elif not best.endswith(("。", "！", "？")):
        best += "。"
    return best


def plain_explanation(question: str, statutes: list[Hit]) -> str:
    """One or two sentences quoted from the cited articles, each with its source."""
    parts: list[str] = []
    for hit in statutes[:2]:
        sentence = key_sentence(question, hit.record.text)
        if sentence and all(sentence not in p for p in parts):
            parts.append(f"{hit.record.citation_label}规定：{sentence}")
    if not parts:
        first = statutes[0].record
        sentence = key_sentence(first.text, first.text) or excerpt(first.text, LEAD_CHARS)
        parts.append(f"{first.citation_label}规定：{sentence}")
    return "简单说，" + "".join(parts)


def statutes_message(question: str, statutes: list[Hit]) -> Message:
    # One chat bubble: Rasa splits a text message at blank lines, so none are used here.
    lines = [plain_explanation(question, statutes), "相关法律条文："]
    for i, hit in enumerate(statutes, 1):
        r = hit.record
        lines.append(f"{i}. {r.citation_label}{validity_note(r.status)}：{excerpt(r.text)}")
    return Message("\n".join(lines), {"citations": [h.citation() for h in statutes]})


def repeal_note(outcome: str, repealed: dict[str, str]) -> str | None:
    """A warning when a precedent's outcome applies laws that have since been repealed (物权法, 民法通则 …)."""
    found = repealed_in(outcome, repealed)
    if not found:
        return None
    names = "、".join(f"《{title}》" for title, _ in found)
    by = "、".join(dict.fromkeys(label for _, label in found))
    return f"   注意：该案适用的{names}已经废止（见{by}），现在请以现行法律为准。"


def precedents_message(precedents: list[Hit], repealed: dict[str, str] | None = None) -> Message | None:
    lines = ["类似纠纷是这样处理的："]
    shown = []
    for hit in precedents:
        outcome = (hit.record.extra or {}).get("outcome")
        if not outcome:
            continue
        shown.append(hit)
        lines.append(f"{len(shown)}. {hit.record.title}\n   结果：{excerpt(outcome, OUTCOME_CHARS)}")
        note = repeal_note(outcome, repealed or {})
        if note:
            lines.append(note)
    if not shown:
        return None
    return Message("\n".join(lines), {"citations": [h.citation() for h in shown]})


def next_steps_message(dispute_type: str | None) -> Message:
    label = f"（{dispute_type}）" if disputes.get(dispute_type) else ""
    lines = [f"您下一步可以这样做{label}："]
    lines += [f"{i}. {step}" for i, step in enumerate(disputes.next_steps(dispute_type), 1)]
    lines.append(MEDIATION_OFFER)
    lines.append(DISCLAIMER)
    return Message("\n".join(lines), buttons=list(ACTION_BUTTONS))


# --------------------------------------------------------------------------------------------------
# Answers that lead with a plain-language guide


def guide_lines(guide: guides.Guide, question: str) -> list[str]:
    """The guide as the resident reads it: plain words, what to claim, what to do, by when, what to keep."""
    lines = [f"简单说（{guide.name.split('（', 1)[0]}）：{guide.summary}", "您可以要求："]
    lines += [f"· {claim}" for claim in guide.claims]
    worked_out = guides.calculation(guide, question)
    if worked_out:
        lines.append(f"· {worked_out}")
    lines.append("下一步：")
    lines += [f"{i}. {step}" for i, step in enumerate(guide.where_to_go, 1)]
    if guide.time_limits:
        lines.append("注意时限：")
        lines += [f"· {limit.text}。" for limit in guide.time_limits]
    lines.append("请保存好：" + "；".join(guide.evidence) + "。")
    return lines


def _article_hit(snapshot: Snapshot, ref: guides.ArticleRef) -> Hit | None:
    parsed = parse_article_no(ref.article)
    if parsed is None:
        return None
    record = snapshot.lookup(ref.law, *parsed)
    if record is None or record.status in INVALID_STATUSES:
        return None
    return Hit(record, 1.0, 0, "guide")


def guide_articles(guide: guides.Guide, statutes: list[Hit], snapshot: Snapshot | None, k: int) -> list[Hit]:
    """The guide's own articles first (as retrieved when they were, else looked up in the knowledge base), then
    the retrieved ones: at most GUIDE_ARTICLES of the guide's and len(statutes) + GUIDE_EXTRA_ARTICLES in all."""
    retrieved = {(h.record.title, h.record.article_no): h for h in statutes}
    own: list[Hit] = []
    for ref in guide.articles:
        if len(own) >= GUIDE_ARTICLES:
            break
        hit = retrieved.get((ref.law, ref.article))
        if hit is None and snapshot is not None:
            hit = _article_hit(snapshot, ref)
        if hit is not None and hit.record.id not in {h.record.id for h in own}:
            own.append(hit)
    ids = {h.record.id for h in own}
    rest = [h for h in statutes if h.record.id not in ids]
    # The special or procedural law's article (actions/retrieval.py COMPANION) stays, whatever the room.
    companions = [h for h in rest if h.match == COMPANION]
    ranked = [h for h in rest if h.match != COMPANION]
    return (own + ranked)[: max(k, len(own)) + GUIDE_EXTRA_ARTICLES - len(companions)] + companions


def guide_message(guide: guides.Guide, question: str, cited: list[Hit]) -> Message:
    lines = guide_lines(guide, question)
    if cited:
        lines.append("法律依据：")
        for i, hit in enumerate(cited, 1):
            r = hit.record
            lines.append(f"{i}. {r.citation_label}{validity_note(r.status)}：{excerpt(r.text)}")
    return Message("\n".join(lines), {"citations": [h.citation() for h in cited], "guide": guide.id})


def closing_message() -> Message:
    return Message(f"{MEDIATION_OFFER}\n{DISCLAIMER}", buttons=list(ACTION_BUTTONS))


def _loaded_snapshot() -> Snapshot | None:
    """The action server's knowledge base when it is loaded (it is, once a question has been searched)."""
    kb = knowledge.loaded_knowledge_base()
    if kb is None:
        return None
    try:
        return kb.snapshot()
    except KnowledgeBaseNotBuilt:
        return None


def compose_answer(
    question: str,
    statutes: list[Hit],
    precedents: Iterable[Hit] = (),
    dispute_type: str | None = None,
    repealed: dict[str, str] | None = None,
    *,
    snapshot: Snapshot | None = None,
    catalogue: dict[str, guides.Guide] | None = None,
    shown_guides: frozenset[str] = frozenset(),
) -> list[Message]:
    """The answer's messages. `snapshot` (for the guide's own articles) defaults to the action server's loaded
    knowledge base; `catalogue` (the guides to choose from) to data/guides. A guide already sent in this
    conversation (`shown_guides`) is not sent again: a follow-up on its situation gets the articles for what it
    asks."""
    guide = guides.select(question, dispute_type, catalogue)
    if guide is not None and guide.id not in shown_guides:
        cited = guide_articles(guide, statutes, snapshot or _loaded_snapshot(), len(statutes))
        if cited:
            messages = [guide_message(guide, question, cited)]
            cases = precedents_message(list(precedents), repealed)
            if cases:
                messages.append(cases)
            messages.append(closing_message())
            return messages
    if not statutes:
        return [Message(NO_RESULT, {"citations": []})]
    messages = [statutes_message(question, statutes)]
    cases = precedents_message(list(precedents), repealed)
    if cases:
        messages.append(cases)
    messages.append(next_steps_message(dispute_type))
    return messages
