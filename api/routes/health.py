"""GET /healthz: each dependency reported separately; 503 when one is down."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Response, status
from sqlalchemy import text

from api.deps import KnowledgeBaseDep, RasaDep, SessionDep
from api.schemas import (
    CheckOut,
    CheckStatus,
    HealthChecks,
    HealthOut,
    KnowledgeBaseCheck,
    LiveChecks,
    LiveOut,
    RasaCheck,
)
from knowledge_base import store

router = APIRouter(tags=["operations"])


def _check_rasa(rasa: RasaDep) -> RasaCheck:
    try:
        info = rasa.rasa_status()
    except (httpx.HTTPError, ValueError) as exc:
        return RasaCheck(status="down", error=type(exc).__name__)
    if not info.get("model_file"):
        return RasaCheck(status="down", error="no model loaded")
    return RasaCheck(status="ok", model=str(info.get("model_file")).rsplit("/", 1)[-1])


def _check_kb(kb: KnowledgeBaseDep) -> KnowledgeBaseCheck:
    version_dir = store.current_version_dir(kb.kb_dir)
    if version_dir is None:
        return KnowledgeBaseCheck(status="down", error="knowledge base not built")
    manifest = store.read_manifest(version_dir)
    version, counts, dense = manifest.version, manifest.counts, manifest.dense is not None
    if not dense:
        return KnowledgeBaseCheck(
            status="degraded",
            version=version,
            counts=counts,
            dense=dense,
            error="no dense index yet: searching with BM25 alone",
        )
    return KnowledgeBaseCheck(status="ok", version=version, counts=counts, dense=dense)


def _check_db(session: SessionDep) -> CheckOut:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means the database is unusable
        return CheckOut(status="down", error=type(exc).__name__)
    return CheckOut(status="ok")


# response_model_exclude_unset: a check shows only the fields it has (no `"error": null` when ok).
@router.get("/healthz", response_model=HealthOut, response_model_exclude_unset=True)
def healthz(response: Response, rasa: RasaDep, kb: KnowledgeBaseDep, session: SessionDep) -> HealthOut:
    checks = HealthChecks(
        rasa=_check_rasa(rasa),
        action_server=CheckOut(status="ok" if rasa.action_server_healthy() else "down"),
        knowledge_base=_check_kb(kb),
        database=_check_db(session),
    )
    states = {name: getattr(checks, name).status for name in HealthChecks.model_fields}
    down = [name for name, state in states.items() if state == "down"]
    degraded = [name for name, state in states.items() if state == "degraded"]
    if down:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    overall: CheckStatus = "down" if down else "degraded" if degraded else "ok"
    return HealthOut(status=overall, down=down, degraded=degraded, checks=checks)


@router.get("/livez", response_model=LiveOut, response_model_exclude_unset=True)
def livez(response: Response, session: SessionDep) -> LiveOut:
    """This gateway itself: up and able to reach its database (what a supervisor or balancer needs to know to
    send it traffic; the bot being down is reported by /healthz and answered with an apology)."""
    database = _check_db(session)
    if database.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return LiveOut(status=database.status, checks=LiveChecks(database=database))
