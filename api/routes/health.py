"""GET /healthz: each dependency reported separately; 503 when one is down."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Response, status
from sqlalchemy import text

from api.deps import KnowledgeBaseDep, RasaDep, SessionDep
from knowledge_base import store

router = APIRouter(tags=["operations"])


def _check_rasa(rasa: RasaDep) -> dict[str, Any]:
    try:
        info = rasa.rasa_status()
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "down", "error": type(exc).__name__}
    if not info.get("model_file"):
        return {"status": "down", "error": "no model loaded"}
    return {"status": "ok", "model": str(info.get("model_file")).rsplit("/", 1)[-1]}


def _check_kb(kb: KnowledgeBaseDep) -> dict[str, Any]:
    version_dir = store.current_version_dir(kb.kb_dir)
    if version_dir is None:
        return {"status": "down", "error": "knowledge base not built"}
    manifest = store.read_manifest(version_dir)
    out = {
        "status": "ok",
        "version": manifest["version"],
        "counts": manifest.get("counts", {}),
        "dense": bool(manifest.get("dense")),
    }
    if not out["dense"]:
        out |= {"status": "degraded", "error": "no dense index yet: searching with BM25 alone"}
    return out


def _check_db(session: SessionDep) -> dict[str, Any]:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means the database is unusable
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok"}


@router.get("/healthz")
def healthz(response: Response, rasa: RasaDep, kb: KnowledgeBaseDep, session: SessionDep) -> dict[str, Any]:
    checks = {
        "rasa": _check_rasa(rasa),
        "action_server": {"status": "ok"} if rasa.action_server_healthy() else {"status": "down"},
        "knowledge_base": _check_kb(kb),
        "database": _check_db(session),
    }
    down = [name for name, c in checks.items() if c["status"] == "down"]
    degraded = [name for name, c in checks.items() if c["status"] == "degraded"]
    if down:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    overall = "down" if down else "degraded" if degraded else "ok"
    return {"status": overall, "down": down, "degraded": degraded, "checks": checks}


@router.get("/livez")
def livez(response: Response, session: SessionDep) -> dict[str, Any]:
    """This gateway itself: up and able to reach its database (what a supervisor or balancer needs to know to
    send it traffic; the bot being down is reported by /healthz and answered with an apology)."""
    database = _check_db(session)
    if database["status"] != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": database["status"], "checks": {"database": database}}
