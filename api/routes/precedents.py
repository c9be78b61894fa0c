"""The review of a closed case before it becomes a public precedent: the anonymised preview, the reviewer's edits,
approval (then the knowledge base takes it in) or rejection. See api/precedents.py for the steps."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import precedents
from api.db import get_existing
from api.deps import MediatorDep, PrecedentPublisherDep, SessionDep
from api.mediation import actor_of, audit
from api.models import ROLE_ADMIN, Handoff, Mediator, Precedent
from api.schemas import PrecedentEditIn, PrecedentFields, PrecedentOut

router = APIRouter(prefix="/api/precedents", tags=["precedents"])


def precedent_out(row: Precedent) -> PrecedentOut:
    record = row.record or {}
    return PrecedentOut(
        id=row.id,
        handoff_id=row.handoff_id,
        status=row.status,
        title=record.get("title", ""),
        text=record.get("text", ""),
        fields=PrecedentFields(**(row.fields or _legacy_fields(row))),
        held_reasons=precedents.held_reasons(row),
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        published=row.published_at is not None,
        error=row.error,
    )


def _legacy_fields(row: Precedent) -> dict:
    """A precedent stored before review existed: its fields as far as the record tells them."""
    extra = (row.record or {}).get("extra") or {}
    outcome = str(extra.get("outcome") or "其他").split("。")[0]
    return {
        "dispute_type": extra.get("category") or "民间纠纷",
        "facts": "",
        "outcome": outcome if outcome in ("调解成功", "部分达成", "未达成", "转诉讼") else "其他",
        "agreement": "",
        "statutes": list(extra.get("cited_articles") or []),
    }


def _reviewable(session: Session, precedent_id: str, mediator: Mediator) -> tuple[Precedent, Handoff]:
    """The precedent, if this mediator closed its case or is an administrator."""
    row = session.get(Precedent, precedent_id, populate_existing=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "precedent not found")
    handoff = get_existing(session, Handoff, row.handoff_id)
    if handoff.mediator_id != mediator.id and mediator.role != ROLE_ADMIN:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only the mediator of this case or an administrator reviews it"
        )
    return row, handoff


@router.get("", response_model=list[PrecedentOut])
def list_precedents(
    mediator: MediatorDep,
    session: SessionDep,
    status_: Annotated[Literal["draft", "held", "approved", "rejected"], Query(alias="status")] = "draft",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PrecedentOut]:
    """Precedents in one review state, newest first (drafts and held ones are the review queue)."""
    rows = session.scalars(
        select(Precedent)
        .where(Precedent.status == status_)
        .order_by(Precedent.created_at.desc())
        .limit(limit)
    )
    return [precedent_out(r) for r in rows]


@router.get("/{precedent_id}", response_model=PrecedentOut)
def read_precedent(precedent_id: str, mediator: MediatorDep, session: SessionDep) -> PrecedentOut:
    row, _ = _reviewable(session, precedent_id, mediator)
    return precedent_out(row)


@router.put("/{precedent_id}", response_model=PrecedentOut)
def edit_precedent(
    precedent_id: str, body: PrecedentEditIn, mediator: MediatorDep, session: SessionDep
) -> PrecedentOut:
    """Save the reviewer's text: anonymised and checked again (held while anything looks like an identifier)."""
    row, handoff = _reviewable(session, precedent_id, mediator)
    try:
        precedents.edit(
            row,
            handoff,
            dispute_type=body.dispute_type,
            facts=body.facts,
            agreement=body.agreement,
            statutes=body.statutes,
        )
    except precedents.NotReviewable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    audit(
        session,
        actor_of(mediator),
        "precedent.edit",
        conversation_id=handoff.conversation_id,
        handoff_id=handoff.id,
        status=row.status,
    )
    session.commit()
    return precedent_out(row)


@router.post("/{precedent_id}/approve", response_model=PrecedentOut)
def approve_precedent(
    precedent_id: str,
    mediator: MediatorDep,
    session: SessionDep,
    publisher: PrecedentPublisherDep,
    background: BackgroundTasks,
) -> PrecedentOut:
    """Public from now on; the knowledge base takes it in right after. 409 while it is held."""
    row, handoff = _reviewable(session, precedent_id, mediator)
    try:
        precedents.approve(row, handoff, mediator)
    except precedents.NotReviewable as exc:
        session.commit()  # a held status found now is kept
        raise HTTPException(
            status.HTTP_409_CONFLICT, {"detail": str(exc), "held_reasons": precedents.held_reasons(row)}
        ) from exc
    audit(
        session,
        actor_of(mediator),
        "precedent.approve",
        conversation_id=handoff.conversation_id,
        handoff_id=handoff.id,
    )
    session.commit()
    background.add_task(publisher.publish_pending, row.id)
    return precedent_out(row)


@router.post("/{precedent_id}/reject", response_model=PrecedentOut)
def reject_precedent(precedent_id: str, mediator: MediatorDep, session: SessionDep) -> PrecedentOut:
    """Never public."""
    row, handoff = _reviewable(session, precedent_id, mediator)
    try:
        precedents.reject(row, mediator)
    except precedents.NotReviewable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    audit(
        session,
        actor_of(mediator),
        "precedent.reject",
        conversation_id=handoff.conversation_id,
        handoff_id=handoff.id,
    )
    session.commit()
    return precedent_out(row)
