"""Mediator accounts: log in and out, who am I; administrators create accounts and read the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import AdminDep, MediatorDep, SessionDep, _bearer
from api.mediation import audit, iso
from api.models import AuditEntry, Mediator, MediatorSession, utcnow
from api.schemas import LoginOut, MediatorCreate, MediatorLogin
from api.security import hash_password, hash_token, needs_rehash, new_token, verify_password

router = APIRouter(prefix="/api", tags=["mediators"])


def mediator_dict(m: Mediator) -> dict:
    return {"id": m.id, "username": m.username, "display_name": m.display_name, "role": m.role,
            "active": m.active, "created_at": iso(m.created_at)}


@router.post("/mediators/login", response_model=LoginOut)
def login(request: Request, body: MediatorLogin, session: SessionDep) -> LoginOut:
    state = request.app.state
    key = body.username.lower()
    wait = state.login_limiter.blocked_for(key)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins; try again later",
                            headers={"Retry-After": str(max(1, round(wait)))})
    mediator = session.scalar(select(Mediator).where(Mediator.username == body.username))
    ok = verify_password(mediator.password_hash if mediator else None, body.password)
    if not ok or mediator is None or not mediator.active:
        state.login_limiter.hit(key)
        audit(session, f"login:{body.username[:60]}", "mediator.login_failed")
        session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    state.login_limiter.reset(key)
    if needs_rehash(mediator.password_hash):
        mediator.password_hash = hash_password(body.password)
    token = new_token()
    expires = utcnow() + timedelta(seconds=state.settings.mediator_token_ttl_s)
    session.add(MediatorSession(token_hash=hash_token(token), mediator_id=mediator.id, expires_at=expires))
    audit(session, f"mediator:{mediator.username}", "mediator.login")
    session.commit()
    return LoginOut(token=token, expires_at=expires, username=mediator.username, display_name=mediator.display_name,
                    role=mediator.role)


@router.post("/mediators/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(mediator: MediatorDep, session: SessionDep,
           authorization: Annotated[str | None, Header()] = None) -> None:
    row = session.get(MediatorSession, hash_token(_bearer(authorization) or ""))
    if row is not None:
        row.revoked = True
        audit(session, f"mediator:{mediator.username}", "mediator.logout")
        session.commit()


@router.get("/mediators/me")
def me(mediator: MediatorDep) -> dict:
    return mediator_dict(mediator)


@router.get("/mediators")
def list_mediators(admin: AdminDep, session: SessionDep) -> list[dict]:
    return [mediator_dict(m) for m in session.scalars(select(Mediator).order_by(Mediator.id))]


@router.post("/mediators", status_code=status.HTTP_201_CREATED)
def create_mediator(body: MediatorCreate, admin: AdminDep, session: SessionDep) -> dict:
    mediator = Mediator(username=body.username, display_name=body.display_name or body.username,
                        password_hash=hash_password(body.password), role=body.role, active=True)
    session.add(mediator)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "username already taken") from exc
    audit(session, f"mediator:{admin.username}", "mediator.create", username=body.username, role=body.role)
    session.commit()
    return mediator_dict(mediator)


@router.get("/audit")
def audit_log(admin: AdminDep, session: SessionDep,
              conversation_id: Annotated[str | None, Query(max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    return [{"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "conversation_id": e.conversation_id,
             "handoff_id": e.handoff_id, "detail": e.detail} for e in session.scalars(query)]
