"""The shape of the routes: each HTTP route declares what it answers, application state reaches the routes only
through the typed dependencies of api/deps.py, and the response models keep every key of the dicts they are built
from (a response model drops the keys it does not declare)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args, get_origin

from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel

from api import mediation
from api.models import Conversation, Handoff, Mediator, Message, utcnow
from api.schemas import HandoffMessage, HandoffOut, PrecedentHit, StatuteHit
from knowledge_base.records import Record
from knowledge_base.search import Hit

ROUTES_DIR = Path(__file__).resolve().parents[2] / "api" / "routes"


def _is_model(tp: Any) -> bool:
    """A pydantic model or a list of them (a bare `dict` return annotation is a response model, but says nothing)."""
    if get_origin(tp) is list:
        return all(_is_model(arg) for arg in get_args(tp))
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _declared(route: RouteContext) -> bool:
    """A pydantic response model, no body at all (204), or a response class of its own that is not JSON (pages)."""
    if _is_model(route.response_model) or route.status_code == 204:
        return True
    cls = route.response_class
    return not isinstance(cls, DefaultPlaceholder) and not issubclass(cls, JSONResponse)


def test_every_http_route_declares_its_response(app):
    # app.routes holds each included router as one entry (FastAPI >= 0.137): iter_route_contexts flattens them.
    routes = [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]
    assert len(routes) > 20
    undeclared = sorted(f"{','.join(sorted(r.methods or ()))} {r.path}" for r in routes if not _declared(r))
    assert not undeclared, f"routes without a response model or response_class: {undeclared}"


def test_routes_read_no_application_state_directly():
    files = sorted(ROUTES_DIR.glob("*.py"))
    assert files
    offenders = [f.name for f in files if "app.state" in f.read_text(encoding="utf-8")]
    assert not offenders, f"use the dependencies of api/deps.py instead of app.state in {offenders}"


def test_handoff_models_declare_every_key_of_the_dicts():
    now = utcnow()
    conversation = Conversation(id="c1", token_hash="x", region="浙江省绍兴市", mode="closed")
    mediator = Mediator(id=1, username="wang", display_name="王调解员", role="mediator", active=True)
    handoff = Handoff(
        id="h1",
        conversation_id="c1",
        conversation=conversation,
        status="closed",
        source="bot",
        reason="resident_request",
        priority="normal",
        summary="",
        suggested_citations=[{"kind": "statute", "text": "…"}],
        created_at=now - timedelta(minutes=5),
        mediator=mediator,
        claimed_at=now - timedelta(minutes=4),
        closed_at=now,
        outcome="调解成功",
        outcome_summary="双方同意",
        follow_up_date=date(2030, 1, 2),
    )
    assert set(mediation.handoff_dict(handoff, position=1)) == set(HandoffOut.model_fields)
    message = Message(
        id=1,
        conversation_id="c1",
        sender="mediator",
        text="您好",
        created_at=now,
        payload={"mediator": "王调解员", "event": {"mode": {"to": "mediator"}}, "display": "能做什么"},
    )
    assert set(mediation.message_dict(message)) == set(HandoffMessage.model_fields)


def test_search_hit_models_declare_every_key_of_a_citation():
    records = {
        StatuteHit: Record(
            id="a1-50", kind="statute", title="中华人民共和国劳动法", text="…", article_no="第五十条"
        ),
        PrecedentHit: Record(
            id="case-1", kind="precedent", title="加班费", text="…", extra={"category": "劳动争议"}
        ),
    }
    for model, record in records.items():
        hit = Hit(record=record, score=1.0, rank=1, match="bm25")
        assert set(hit.citation()) | {"rank", "match"} == set(model.model_fields), model.__name__
