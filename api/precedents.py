"""A closed case becomes a precedent: anonymised, stored in the gateway's database, then added to the knowledge
base with `knowledge_base.precedents.add_precedent(kb_dir, record)`.

The database row is written in the same transaction that closes the case, so no closed case is ever lost; the
knowledge base takes it in right after (in the background) and `fengqiao precedents publish` retries any that
failed (for example while the knowledge base was being rebuilt).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.anonymise import Anonymiser
from api.models import Handoff, Message, Precedent, as_utc, utcnow
from knowledge_base.records import Record

log = logging.getLogger(__name__)

SOURCE = "fengqiao-mediation"
AddPrecedent = Callable[[Path, Record], None]


class PrecedentStoreMissing(RuntimeError):
    """The knowledge base offers no way to add one precedent yet."""


def knowledge_base_add_precedent(kb_dir: Path, record: Record) -> None:
    try:
        from knowledge_base.precedents import add_precedent
    except ImportError as exc:
        raise PrecedentStoreMissing("knowledge_base.precedents.add_precedent is not available") from exc
    add_precedent(kb_dir, record)


def citation_label(c: dict[str, Any]) -> str | None:
    if c.get("kind") == "statute" and c.get("law"):
        return f"《{c['law']}》{c.get('article_no') or ''}"
    return None


def build_record(handoff: Handoff, messages: list[Message]) -> Record:
    """The anonymised precedent of a closed handoff."""
    party_names = [m.payload.get("mediator") for m in messages if m.payload and m.payload.get("mediator")]
    anon = Anonymiser(extra_names=party_names)
    closed = as_utc(handoff.closed_at) or utcnow()
    category = handoff.dispute_type or "民间纠纷"
    anon.learn([handoff.summary or "", handoff.outcome_summary or ""])
    facts = anon(handoff.summary or "")
    agreement = anon(handoff.outcome_summary or "")
    cited: list[str] = []
    for c in list(handoff.suggested_citations or []) + [c for m in messages if m.sender in {"mediator", "bot"}
                                                         for c in (m.payload or {}).get("citations") or []]:
        label = citation_label(c)
        if label and label not in cited:
            cited.append(label)
    parts = [f"纠纷类型：{category}。"]
    if facts:
        parts.append(f"基本情况：{facts}")
    parts.append(f"调解结果：{handoff.outcome}。")
    if agreement:
        parts.append(f"协议内容：{agreement}")
    if cited:
        parts.append("参考条文：" + "、".join(cited[:10]) + "。")
    return Record(
        id=f"fq-{handoff.id}",
        kind="precedent",
        title=f"{category}人民调解案例（{handoff.outcome}，{closed:%Y年%m月}）",
        text="\n".join(parts),
        level=None,
        region=None,
        status=None,
        version_date=closed.date().isoformat(),
        source=SOURCE,
        extra={"category": category, "outcome": f"{handoff.outcome}。{agreement}".strip("。 ") + "。",
               "cited_articles": cited},
    )


def store_precedent(session: Session, handoff: Handoff) -> Precedent:
    messages = list(session.scalars(select(Message).where(Message.conversation_id == handoff.conversation_id)
                                    .order_by(Message.id)))
    record = build_record(handoff, messages)
    row = Precedent(id=record.id, handoff_id=handoff.id, record=record.to_dict())
    session.add(row)
    return row


class PrecedentPublisher:
    """Adds stored, not yet published precedents to the knowledge base, one at a time per process."""

    def __init__(self, sessions: sessionmaker, kb_dir: Path, add: AddPrecedent | None = None,
                 on_published: Callable[[], None] | None = None):
        self.sessions = sessions
        self.kb_dir = kb_dir
        self.add = add or knowledge_base_add_precedent
        self.on_published = on_published
        self._lock = threading.Lock()

    def publish_pending(self, only: str | None = None) -> dict[str, int]:
        published = failed = 0
        with self._lock, self.sessions() as session:
            query = select(Precedent).where(Precedent.published_at.is_(None)).order_by(Precedent.created_at)
            if only:
                query = query.where(Precedent.id == only)
            for row in session.scalars(query):
                try:
                    self.add(self.kb_dir, Record.from_dict(dict(row.record)))
                except ValueError as exc:
                    if "already exists" not in str(exc):
                        row.error = f"{type(exc).__name__}: {exc}"[:2000]
                        failed += 1
                        session.commit()
                        continue
                    # Added by an earlier try whose bookkeeping did not finish: it is there.
                    row.published_at, row.error = utcnow(), None
                    published += 1
                except Exception as exc:  # kept in the row; retried by the next publish
                    row.error = f"{type(exc).__name__}: {exc}"[:2000]
                    failed += 1
                    log.warning("precedent %s not added to the knowledge base: %s", row.id, row.error)
                else:
                    row.published_at, row.error = utcnow(), None
                    published += 1
                session.commit()
        if published and self.on_published:
            self.on_published()
        return {"published": published, "failed": failed}
