"""A closed case becomes a public precedent in three steps: drafted when the case closes, reviewed by a mediator,
then added to the knowledge base with `knowledge_base.precedents.add_precedent(kb_dir, record)`.

The draft is built from what the mediator wrote when closing (dispute type, facts, outcome, agreement) and the
statutes cited in the case, never from the resident's own messages; every text is anonymised. A mediator (the one
who closed the case, or an administrator) reads the anonymised preview in the console, may edit it, and approves
or rejects it. Anonymisation fails closed: a wider net (`anonymise.residual_identifiers`) is cast over the
preview on every save and again on approval, and a precedent it catches anything in is held, not published,
until the text is edited clean.

Only approved precedents reach the knowledge base. The database row is written in the transaction that closes
the case, so no closed case is lost; the knowledge base takes an approved one right after (in the background) and
`fengqiao precedents publish` retries any that failed (for example while the knowledge base was being rebuilt).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.anonymise import Anonymiser, residual_identifiers
from api.models import (
    P_APPROVED,
    P_DRAFT,
    P_HELD,
    P_REJECTED,
    Handoff,
    Mediator,
    Message,
    Precedent,
    as_utc,
    utcnow,
)
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


class NotReviewable(Exception):
    """The precedent is not in a state this review step accepts (already approved or rejected, or still held)."""


def cited_labels(handoff: Handoff, messages: list[Message]) -> list[str]:
    """The statutes the bot suggested and the bot or mediator cited in the case, as 《law》article labels."""
    cited: list[str] = []
    for c in list(handoff.suggested_citations or []) + [
        c
        for m in messages
        if m.sender in {"mediator", "bot"}
        for c in (m.payload or {}).get("citations") or []
    ]:
        label = citation_label(c)
        if label and label not in cited:
            cited.append(label)
    return cited[:10]


def draft_fields(handoff: Handoff, messages: list[Message], facts: str) -> dict[str, Any]:
    """The anonymised parts of the precedent, from the mediator's closing record (not the resident's messages)."""
    names = [n for m in messages if m.payload and (n := m.payload.get("mediator"))]
    anon = Anonymiser(extra_names=names)
    anon.learn([facts or "", handoff.outcome_summary or ""])
    return {
        "dispute_type": anon(handoff.dispute_type or "民间纠纷"),
        "facts": anon(facts or ""),
        "outcome": handoff.outcome,
        "agreement": anon(handoff.outcome_summary or ""),
        "statutes": cited_labels(handoff, messages),
    }


def build_record(precedent_id: str, fields: dict[str, Any], closed) -> Record:
    category = fields["dispute_type"] or "民间纠纷"
    parts = [f"纠纷类型：{category}。"]
    if fields.get("facts"):
        parts.append(f"基本情况：{fields['facts']}")
    parts.append(f"调解结果：{fields['outcome']}。")
    if fields.get("agreement"):
        parts.append(f"协议内容：{fields['agreement']}")
    cited = list(fields.get("statutes") or [])
    if cited:
        parts.append("参考条文：" + "、".join(cited) + "。")
    return Record(
        id=precedent_id,
        kind="precedent",
        title=f"{category}人民调解案例（{fields['outcome']}，{closed:%Y年%m月}）",
        text="\n".join(parts),
        level=None,
        region=None,
        status=None,
        version_date=closed.date().isoformat(),
        source=SOURCE,
        extra={
            "category": category,
            "outcome": f"{fields['outcome']}。{fields.get('agreement') or ''}".strip("。 ") + "。",
            "cited_articles": cited,
        },
    )


def held_reasons(row: Precedent) -> list[str]:
    return [r for r in (row.held_reason or "").split("\n") if r]


def _check(row: Precedent, closed) -> None:
    """Rebuild the record from the fields and hold it if anything in it still looks like an identifier."""
    record = build_record(row.id, dict(row.fields or {}), closed)
    row.record = record.to_dict()
    residual = residual_identifiers("\n".join([record.title, record.text, record.extra["outcome"]]))
    row.held_reason = "\n".join(dict.fromkeys(residual)) or None
    row.status = P_HELD if residual else P_DRAFT


def store_precedent(session: Session, handoff: Handoff, facts: str = "") -> Precedent:
    """The draft of a just-closed case, awaiting review (held when the anonymiser left something behind)."""
    messages = list(
        session.scalars(
            select(Message).where(Message.conversation_id == handoff.conversation_id).order_by(Message.id)
        )
    )
    row = Precedent(
        id=f"fq-{handoff.id}", handoff_id=handoff.id, fields=draft_fields(handoff, messages, facts)
    )
    _check(row, as_utc(handoff.closed_at) or utcnow())
    session.add(row)
    return row


def _open_for_review(row: Precedent) -> None:
    if row.status in (P_APPROVED, P_REJECTED):
        raise NotReviewable(f"this precedent is already {row.status}")


def edit(
    row: Precedent, handoff: Handoff, *, dispute_type: str, facts: str, agreement: str, statutes: list[str]
) -> None:
    """The reviewer's text, anonymised again (a reviewer may type a name back in) and checked again."""
    _open_for_review(row)
    anon = Anonymiser()
    anon.learn([facts, agreement])
    row.fields = {
        "dispute_type": anon(dispute_type.strip()),
        "facts": anon(facts.strip()),
        "outcome": handoff.outcome,
        "agreement": anon(agreement.strip()),
        "statutes": [anon(s.strip()) for s in statutes if s.strip()],
    }
    _check(row, as_utc(handoff.closed_at) or utcnow())


def approve(row: Precedent, handoff: Handoff, mediator: Mediator) -> None:
    """Public from now on, unless the check (run once more) still finds something: then held, NotReviewable."""
    _open_for_review(row)
    _check(row, as_utc(handoff.closed_at) or utcnow())
    if row.status == P_HELD:
        raise NotReviewable("the preview still contains what looks like personal information; edit it first")
    row.status, row.reviewed_by, row.reviewed_at = P_APPROVED, mediator.id, utcnow()


def reject(row: Precedent, mediator: Mediator) -> None:
    """Never public (a case too particular to anonymise, or of no use to others)."""
    _open_for_review(row)
    row.status, row.reviewed_by, row.reviewed_at = P_REJECTED, mediator.id, utcnow()


class PrecedentPublisher:
    """Adds stored, not yet published precedents to the knowledge base, one at a time per process."""

    def __init__(
        self,
        sessions: sessionmaker,
        kb_dir: Path,
        add: AddPrecedent | None = None,
        on_published: Callable[[], None] | None = None,
    ):
        self.sessions = sessions
        self.kb_dir = kb_dir
        self.add = add or knowledge_base_add_precedent
        self.on_published = on_published
        self._lock = threading.Lock()

    def publish_pending(self, only: str | None = None) -> dict[str, int]:
        published = failed = 0
        with self._lock, self.sessions() as session:
            query = (
                select(Precedent)
                .where(Precedent.published_at.is_(None), Precedent.status == P_APPROVED)
                .order_by(Precedent.created_at)
            )
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
