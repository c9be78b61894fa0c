"""Mediator accounts: log in and out, who am I, change my password; administrators create, change and disable
accounts and read the audit log.

Whatever ends logins (logout: this one; disabling an account: all of its; a password change: all but the one that
changed it) is followed, after commit, by `sessions_changed` on the bus channel `mediator:<id>`: every gateway's
console sockets of that mediator check their login again and close with 4401 when it ended (api/routes/live.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from api.deps import (
    AdminDep,
    BusDep,
    LoginBackoffDep,
    MediatorDep,
    PasswordChecksDep,
    SessionDep,
    SettingsDep,
    _bearer,
)
from api.events import EventBus, mediator_channel
from api.limits import client_address, too_many
from api.mediation import audit, iso
from api.models import AuditEntry, Mediator, MediatorSession, utcnow
from api.schemas import (
    AuditEntryOut,
    LoginOut,
    MediatorCreate,
    MediatorLogin,
    MediatorOut,
    MediatorUpdate,
    PasswordChange,
    PasswordChanged,
)
from api.security import hash_password, hash_token, needs_rehash, new_token, verify_password

router = APIRouter(prefix="/api", tags=["mediators"])


def mediator_out(m: Mediator) -> MediatorOut:
    return MediatorOut(
        id=m.id,
        username=m.username,
        display_name=m.display_name,
        role=m.role,
        active=m.active,
        created_at=iso(m.created_at),
    )


def sessions_changed(bus: EventBus, mediator_id: int, reason: str) -> None:
    """Tell every gateway's sockets of this mediator to check their login (after the commit that changed it)."""
    bus.publish(
        mediator_channel(mediator_id),
        {"type": "sessions_changed", "mediator_id": mediator_id, "reason": reason},
    )


def _end_sessions(session, mediator_id: int, *, keep: str | None = None) -> int:
    """Revoke the mediator's logins (all but `keep`, a token hash); how many there were."""
    query = update(MediatorSession).where(
        MediatorSession.mediator_id == mediator_id, MediatorSession.revoked.is_(False)
    )
    if keep is not None:
        query = query.where(MediatorSession.token_hash != keep)
    return session.execute(query.values(revoked=True).execution_options(synchronize_session=False)).rowcount


LOGIN_BUSY_WAIT_S = 0.2  # how long a login waits for a free password check before 503


@router.post(
    "/mediators/login",
    response_model=LoginOut,
    responses={
        429: {
            "description": "too many failed logins from this address or of this username: "
            "wait Retry-After seconds"
        },
        503: {
            "description": "the gateway is checking as many passwords as it may: try again "
            "after Retry-After seconds"
        },
    },
)
def login(
    request: Request,
    body: MediatorLogin,
    session: SessionDep,
    settings: SettingsDep,
    backoff: LoginBackoffDep,
    password_checks: PasswordChecksDep,
) -> LoginOut:
    """Log in. Guessing is bounded three ways (api/limits.py `BackOff`, shared by every gateway through Redis):

    - Every attempt is counted as a failure *before* its password is checked, for the client address and for the
      username at once, so parallel guesses cannot all reach the check before the first has failed; a login
      that succeeds (or is not checked at all) takes its count back.
    - After `login_failures_per_window` failures, each further one doubles the wait before the next attempt
      (1 s, 2 s, 4 s …): up to `login_backoff_max_s` (5 min) per client address, which also bounds spraying one
      password over many usernames, and only up to `login_name_backoff_max_s` (30 s) per username, so a
      stranger's failures on a name keep its owner out for at most that long after each, never for good; the
      owner's successful login clears the name's count. Failures are forgotten `login_failure_window_s` after
      the wait of the last one ended; an attempt refused with 429 counts nothing.
    - At most `login_concurrency` argon2 checks run at once in this process; a login that finds none free
      within LOGIN_BUSY_WAIT_S gets 503 with Retry-After instead of queueing.
    """
    keys = {"client": client_address(request), "name": body.username.lower()}
    wait = backoff.attempt(keys)
    if wait:
        raise too_many(wait, "登录失败次数过多，", "Too many failed logins")
    mediator = session.scalar(select(Mediator).where(Mediator.username == body.username))
    if not password_checks.acquire(timeout=LOGIN_BUSY_WAIT_S):
        backoff.refund(keys)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "登录的人较多，请稍后再试。Too many logins at once; try again in a moment.",
            headers={"Retry-After": "1"},
        )
    try:
        ok = verify_password(mediator.password_hash if mediator else None, body.password)
    finally:
        password_checks.release()
    if not ok or mediator is None or not mediator.active:
        audit(session, f"login:{body.username[:60]}", "mediator.login_failed")
        session.commit()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    backoff.refund({"client": keys["client"]})
    backoff.reset({"name": keys["name"]})
    if needs_rehash(mediator.password_hash):
        mediator.password_hash = hash_password(body.password)
    token = new_token()
    expires = utcnow() + timedelta(seconds=settings.mediator_token_ttl_s)
    session.add(MediatorSession(token_hash=hash_token(token), mediator_id=mediator.id, expires_at=expires))
    audit(session, f"mediator:{mediator.username}", "mediator.login")
    session.commit()
    return LoginOut(
        token=token,
        expires_at=expires,
        username=mediator.username,
        display_name=mediator.display_name,
        role=mediator.role,
    )


@router.post("/mediators/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    mediator: MediatorDep,
    session: SessionDep,
    bus: BusDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    row = session.get(MediatorSession, hash_token(_bearer(authorization) or ""))
    if row is not None:
        row.revoked = True
        audit(session, f"mediator:{mediator.username}", "mediator.logout")
        session.commit()
        sessions_changed(bus, mediator.id, "logout")


@router.get("/mediators/me", response_model=MediatorOut)
def me(mediator: MediatorDep) -> MediatorOut:
    return mediator_out(mediator)


@router.post("/mediators/me/password", response_model=PasswordChanged)
def change_password(
    request: Request,
    body: PasswordChange,
    mediator: MediatorDep,
    session: SessionDep,
    bus: BusDep,
    backoff: LoginBackoffDep,
    password_checks: PasswordChecksDep,
    authorization: Annotated[str | None, Header()] = None,
) -> PasswordChanged:
    """A new password for the mediator logged in: every other login of the account ends, this one stays. The
    current password is checked under the same back-off and bound as a login (a stolen token must not become a
    way to guess the password without limit)."""
    actor = f"mediator:{mediator.username}"
    keys = {"client": client_address(request), "name": mediator.username.lower()}
    wait = backoff.attempt(keys)
    if wait:
        raise too_many(wait, "密码错误次数过多，", "Too many wrong passwords")
    if not password_checks.acquire(timeout=LOGIN_BUSY_WAIT_S):
        backoff.refund(keys)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "请稍后再试。Too many password checks at once; try again in a moment.",
            headers={"Retry-After": "1"},
        )
    try:
        ok = verify_password(mediator.password_hash, body.current_password)
    finally:
        password_checks.release()
    if not ok:
        audit(session, actor, "mediator.password_change_failed")
        session.commit()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong")
    backoff.refund(keys)
    mediator.password_hash = hash_password(body.new_password)
    ended = _end_sessions(session, mediator.id, keep=hash_token(_bearer(authorization) or ""))
    audit(session, actor, "mediator.password_change", sessions_ended=ended)
    session.commit()
    sessions_changed(bus, mediator.id, "password")
    return PasswordChanged(sessions_ended=ended)


@router.get("/mediators", response_model=list[MediatorOut])
def list_mediators(admin: AdminDep, session: SessionDep) -> list[MediatorOut]:
    return [mediator_out(m) for m in session.scalars(select(Mediator).order_by(Mediator.id))]


@router.post("/mediators", status_code=status.HTTP_201_CREATED, response_model=MediatorOut)
def create_mediator(body: MediatorCreate, admin: AdminDep, session: SessionDep) -> MediatorOut:
    mediator = Mediator(
        username=body.username,
        display_name=body.display_name or body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        active=True,
    )
    session.add(mediator)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "username already taken") from exc
    audit(session, f"mediator:{admin.username}", "mediator.create", username=body.username, role=body.role)
    session.commit()
    return mediator_out(mediator)


@router.patch("/mediators/{mediator_id}", response_model=MediatorOut)
def update_mediator(
    mediator_id: int, body: MediatorUpdate, admin: AdminDep, session: SessionDep, bus: BusDep
) -> MediatorOut:
    """Change an account's display name or role, or disable (every login ends at once) or enable it. An
    administrator cannot disable or demote their own account (there is always one administrator left)."""
    mediator = session.get(Mediator, mediator_id)
    if mediator is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mediator not found")
    changes = body.model_dump(include=body.model_fields_set)
    if mediator.id == admin.id and (
        changes.get("active") is False or changes.get("role", admin.role) != admin.role
    ):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "administrators cannot disable or demote their own account"
        )
    changed = sorted(k for k, v in changes.items() if getattr(mediator, k) != v)
    for key in changed:
        setattr(mediator, key, changes[key])
    ended = _end_sessions(session, mediator.id) if "active" in changed and not mediator.active else 0
    if changed:
        audit(
            session,
            f"mediator:{admin.username}",
            "mediator.update",
            username=mediator.username,
            fields=changed,
            **{k: changes[k] for k in changed},
            sessions_ended=ended,
        )
    session.commit()
    if changed:
        # Disabled: its consoles close; a new name or role: they pick it up.
        sessions_changed(bus, mediator.id, "disabled" if ended or not mediator.active else "updated")
    return mediator_out(mediator)


@router.get("/audit", response_model=list[AuditEntryOut])
def audit_log(
    admin: AdminDep,
    session: SessionDep,
    conversation_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntryOut]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    return [
        AuditEntryOut(
            id=e.id,
            at=iso(e.at),
            actor=e.actor,
            action=e.action,
            conversation_id=e.conversation_id,
            handoff_id=e.handoff_id,
            detail=e.detail,
        )
        for e in session.scalars(query)
    ]
