"""Choosing what an answer cites: statutes and precedents from the knowledge base, each verified against the
snapshot before it is sent. Uses only the public KnowledgeBase API (search, snapshot().lookup/records)."""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from actions import disputes
from actions.answer import COMPANION, INVALID_STATUSES
from actions.companion_laws import LawQuery
from knowledge_base.citations import find_citations
from knowledge_base.records import Record
from knowledge_base.search import Hit, KnowledgeBase, Snapshot

RRF_K = 60
POOL_FACTOR = 3
# Of the k articles an answer cites, at most this many from one law while the candidates hold another law's: a
# question about overtime pay gets the 劳动合同法 and the 劳动法, a dog bite the 民法典 and the 动物防疫法.
MAX_PER_LAW = 2
# A law this long spans many topics (the 民法典 has 1,260 articles in seven books): having cited it says nothing
# of a follow-up's topic, so a follow-up keeps only the narrower laws of the earlier answers in view.
BROAD_LAW_ARTICLES = 500
# How deep the search for a companion law's best article goes (actions/companion_laws.py). It is BM25 alone: the
# law's own terms in the query do the work, and it costs about 3 ms where the hybrid search costs 25.
COMPANION_DEPTH = 50

T = TypeVar("T")
_ids_lock = threading.Lock()
_ids_by_snapshot: weakref.WeakKeyDictionary[Snapshot, dict[str, Record]] = weakref.WeakKeyDictionary()
_sizes_by_snapshot: weakref.WeakKeyDictionary[Snapshot, Counter[str]] = weakref.WeakKeyDictionary()


def _per_snapshot(cache: weakref.WeakKeyDictionary[Snapshot, T], snap: Snapshot, build: Callable[[], T]) -> T:
    """What `build` makes of a snapshot, made once per snapshot (and dropped with it)."""
    with _ids_lock:
        value = cache.get(snap)
        if value is None:
            value = cache[snap] = build()
        return value


def _records_by_id(snap: Snapshot) -> dict[str, Record]:
    return _per_snapshot(_ids_by_snapshot, snap, lambda: {r.id: r for r in snap.records})


def is_verified(snap: Snapshot, hit: Hit) -> bool:
    """The hit's record is in the snapshot, unchanged; a statute must also be found by 《law》article lookup."""
    r = hit.record
    stored = _records_by_id(snap).get(r.id)
    if stored is None or stored.text != r.text or stored.title != r.title:
        return False
    if r.kind != "statute":
        return True
    if r.article_num is None or not r.article_no:
        return False
    suffix = r.article_no.split("条", 1)[1] if "条" in r.article_no else ""
    looked_up = snap.lookup(r.title, r.article_num, suffix)
    return looked_up is not None and looked_up.id == r.id and looked_up.text == r.text


def _rrf(*rankings: list[Hit]) -> list[Hit]:
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking):
            scores[hit.record.id] = scores.get(hit.record.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            first.setdefault(hit.record.id, hit)
    ordered = sorted(scores, key=lambda rid: -scores[rid])
    return [first[rid] for rid in ordered]


def search_query(question: str, dispute_type: str | None) -> str | None:
    """The resident's words plus the legal terms of the dispute type, or None when there is no type."""
    t = disputes.get(dispute_type)
    return f"{question} {t.search_terms}" if t else None


def find_statutes(
    kb: KnowledgeBase,
    question: str,
    *,
    dispute_type: str | None,
    region: str | None,
    k: int,
    topic_laws: frozenset[str] = frozenset(),
    companions: Sequence[LawQuery] = (),
) -> list[Hit]:
    """Up to k verified articles for the resident's question.

    Order: articles cited by name (《劳动法》第五十条); then the articles the resident's own words found among
    the first k that belong to the dispute type; then the rest of both searches (the words alone, and the words
    plus the legal terms of the dispute type) fused by rank, current articles before repealed or historical
    ones, and articles of laws governing this type of dispute before those of unknown or another type.

    `topic_laws`: for a follow-up, the laws the conversation's earlier answers cited. Up to k - 1 articles of
    those laws found among the candidates come first (a follow-up stays on its topic's law); one place at least
    is left to the ranking, for what the follow-up adds.

    `companions`: the special and procedural laws the question points to (actions/companion_laws.py). The best
    current article of each that the answer does not cite yet comes after the ranked ones, which make room: at most
    k + 1 articles in all, the ranking's first two always kept, and a k-th that repeats a law given up first.
    """
    pool = max(k * POOL_FACTOR, k)
    plain = kb.search(question, k=pool, kind="statute", region=region)
    snap = kb.snapshot()
    chosen: list[Hit] = []
    if find_citations(question):
        chosen += [h for h in plain if h.match == "citation" and is_verified(snap, h)]
    expanded_query = search_query(question, dispute_type)
    if expanded_query:
        chosen += [
            h
            for h in plain[:k]
            if disputes.type_of_record(h.record) == dispute_type
            and h.record.status not in INVALID_STATUSES
            and is_verified(snap, h)
        ]
        candidates = _rrf(plain, kb.search(expanded_query, k=pool, kind="statute", region=region))
    else:
        candidates = plain
    ids = {h.record.id for h in chosen}
    rest = [h for h in candidates if h.record.id not in ids and is_verified(snap, h)]
    rest.sort(key=lambda h: _preference(h, dispute_type))  # stable: rank order within each group
    unique = list({h.record.id: h for h in chosen}.values())
    narrow = frozenset(law for law in topic_laws if _law_size(snap, law) <= BROAD_LAW_ARTICLES)
    if narrow and len(unique) < k:
        on_topic = [
            h for h in rest[:pool] if h.record.title in narrow and h.record.status not in INVALID_STATUSES
        ][: k - 1 - len(unique)]
        taken = {h.record.id for h in on_topic}
        unique += on_topic
        rest = [h for h in rest if h.record.id not in taken]
    chosen = unique + _diverse(rest[:pool], k - len(unique), Counter(h.record.title for h in unique))
    extras: list[Hit] = []
    for companion in companions:
        if any(h.record.title == companion.law for h in chosen + extras):
            continue
        hit = _best_of_law(kb, snap, companion.query, companion.law, region)
        if hit is not None:
            extras.append(replace(hit, match=COMPANION))
    return _with_room_for(chosen, extras, k)


def _with_room_for(chosen: list[Hit], extras: list[Hit], k: int) -> list[Hit]:
    """The ranked articles, shortened from the end so that the extras fit in k + 1 (two at least are kept), then
    the extras. With one extra, a k-th article of a law already cited makes way too."""
    kept = list(chosen)
    while len(kept) > 2 and extras:
        repeats = kept[-1].record.title in {h.record.title for h in kept[:-1]}
        if len(kept) + len(extras) > k + 1 or (len(kept) >= k and repeats):
            kept.pop()
        else:
            break
    return kept + extras


def _best_of_law(kb: KnowledgeBase, snap: Snapshot, query: str, law: str, region: str | None) -> Hit | None:
    """The best current article of `law` for the query among the first COMPANION_DEPTH found by BM25, if any."""
    for hit in kb.search(query, k=COMPANION_DEPTH, kind="statute", region=region, mode="bm25"):
        if hit.record.title == law and hit.record.status not in INVALID_STATUSES and is_verified(snap, hit):
            return hit
    return None


def _diverse(ranked: list[Hit], n: int, counts: Counter[str]) -> list[Hit]:
    """The first n of `ranked`, passing over an article whose law already has MAX_PER_LAW places while an
    article of another law is still further down; what was passed over fills the places left."""
    chosen: list[Hit] = []
    passed: list[Hit] = []
    for hit in ranked:
        if len(chosen) >= n:
            break
        if counts[hit.record.title] >= MAX_PER_LAW:
            passed.append(hit)
            continue
        chosen.append(hit)
        counts[hit.record.title] += 1
    return chosen + passed[: n - len(chosen)]


def _law_size(snap: Snapshot, title: str) -> int:
    """How many articles of the law `title` the snapshot holds (counted once per snapshot)."""
    sizes = _per_snapshot(
        _sizes_by_snapshot, snap, lambda: Counter(r.title for r in snap.records if r.kind == "statute")
    )
    return sizes[title]


def _preference(hit: Hit, dispute_type: str | None) -> tuple[int, int]:
    """Current articles before repealed or historical ones; then, when the dispute type is known, articles of
    laws governing that type of dispute, then articles of unknown type, then those of another type."""
    invalid = int(hit.record.status in INVALID_STATUSES)
    if dispute_type is None:
        return invalid, 0
    record_type = disputes.type_of_record(hit.record)
    return invalid, 0 if record_type == dispute_type else (1 if record_type is None else 2)


def find_precedents(
    kb: KnowledgeBase,
    question: str,
    *,
    dispute_type: str | None,
    statutes: list[Hit],
    region: str | None,
    k: int = 2,
) -> list[Hit]:
    """Verified precedents of the same dispute type, or citing one of the answer's articles. None when the
    knowledge base holds no precedents or none is related: never a precedent of another kind of dispute."""
    query = search_query(question, dispute_type) or question
    hits = kb.search(query, k=k * 5, kind="precedent", region=region)
    if not hits:
        return []
    snap = kb.snapshot()
    cited = {h.record.id for h in statutes}
    chosen = []
    for hit in hits:
        if not is_verified(snap, hit) or not (hit.record.extra or {}).get("outcome"):
            continue
        same_type = dispute_type is not None and disputes.type_of_record(hit.record) == dispute_type
        cites_ours = bool(cited & cited_record_ids(snap, hit))
        if same_type or cites_ours:
            chosen.append(hit)
        if len(chosen) >= k:
            break
    return chosen


def cited_record_ids(snap: Snapshot, precedent: Hit) -> set[str]:
    """The statute records a precedent cites (its `cited_articles`, resolved through the snapshot)."""
    ids = set()
    for cited in (precedent.record.extra or {}).get("cited_articles") or []:
        for ref in find_citations(str(cited)):
            record = snap.lookup(ref.law, ref.article_num, ref.suffix)
            if record is not None:
                ids.add(record.id)
    return ids


def infer_dispute_type(statutes: list[Hit]) -> str | None:
    """The most common dispute type among the cited articles (first wins a tie)."""
    counts: dict[str, int] = {}
    for hit in statutes:
        t = disputes.type_of_record(hit.record)
        if t:
            counts[t] = counts.get(t, 0) + 1
    return max(counts, key=lambda t: counts[t]) if counts else None
