"""Application factory: `uvicorn --factory api.main:create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.db import Database
from api.events import EventBus, InProcessBus, RedisBus
from api.headers import SecurityHeaders
from api.limits import BackOff, BodySizeLimit, Ladder, RateLimiter, RedisBackOff, RedisRateLimiter
from api.messaging import MessageFlow, sweeping
from api.metrics import Metrics
from api.precedents import AddPrecedent, PrecedentPublisher
from api.rasa_client import RasaClient
from api.routes import conversations, handoffs, health, live, mediators, pages, precedents, search
from api.routes.pages import STATIC_DIR
from api.url_guard import NulFreeUrls
from core.settings import Settings, get_settings
from knowledge_base.search import KnowledgeBase

log = logging.getLogger(__name__)


def _printable(value):
    """A text that JSON can carry: lone surrogates and NULs shown as escapes, so a 422 never becomes a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 body, without echoing the input (it may be huge, or not encodable at all)."""
    errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": _printable(jsonable_encoder(errors))})


def create_app(
    settings: Settings | None = None,
    *,
    rasa: RasaClient | None = None,
    bus: EventBus | None = None,
    add_precedent: AddPrecedent | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings.resolved_database_url)
    if settings.run_migrations_on_start:
        db.migrate()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        listener = asyncio.create_task(app.state.bus.listen()) if hasattr(app.state.bus, "listen") else None
        async with sweeping(app.state.messages):
            yield
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await app.state.rasa.aclose()
        db.engine.dispose()

    def limiter(name: str, limit: int, window_s: float) -> RateLimiter | RedisRateLimiter:
        """Shared by every gateway through Redis when one is configured."""
        if settings.redis_url:
            return RedisRateLimiter(settings.redis_url, name, limit, window_s)
        return RateLimiter(limit, window_s)

    def backoff(name: str, ladders: dict[str, Ladder], forget_s: float) -> BackOff | RedisBackOff:
        if settings.redis_url:
            return RedisBackOff(settings.redis_url, name, ladders, forget_s)
        return BackOff(ladders, forget_s)

    docs: dict[str, Any] = {} if settings.enable_docs else {"docs_url": None, "redoc_url": None}
    app = FastAPI(title="Fengqiao legal assistant", version="0.2.0", lifespan=lifespan, **docs)
    app.state.settings = settings
    app.state.db = db
    app.state.rasa = rasa or RasaClient(
        settings.rasa_url, settings.action_url, settings.rasa_timeout_s, token=settings.internal_token
    )
    app.state.kb = KnowledgeBase(settings.resolved_kb_dir)
    app.state.bus = bus or (RedisBus(settings.redis_url) if settings.redis_url else InProcessBus())
    app.state.metrics = Metrics(db)
    app.state.message_limiter = limiter("messages", settings.message_rate_per_minute, 60.0)
    # Per client address (api/limits.py says who the client is), shared by every gateway through Redis.
    app.state.client_limits = {
        "conversations": limiter("client-conversations", settings.client_conversations_per_10_min, 600.0),
        "messages": limiter("client-messages", settings.client_messages_per_minute, 60.0),
        "handoffs": limiter("client-handoffs", settings.client_handoffs_per_10_min, 600.0),
        "search": limiter("client-search", settings.client_search_cost_per_minute, 60.0),
    }
    # Failed logins (api/routes/mediators.py): per client address and per username, and a bound on the password
    # checks this process runs at once.
    app.state.login_backoff = backoff(
        "logins",
        {
            "client": Ladder(settings.login_failures_per_window, settings.login_backoff_max_s),
            "name": Ladder(settings.login_failures_per_window, settings.login_name_backoff_max_s),
        },
        settings.login_failure_window_s,
    )
    app.state.password_checks = threading.BoundedSemaphore(settings.login_concurrency)
    app.state.messages = MessageFlow(app.state)
    app.state.metrics.pending.set_function(lambda: app.state.messages.pending)

    def reload_kb() -> None:
        # A fresh searcher: it sees the knowledge base as it is now, however the precedent was added.
        app.state.kb = KnowledgeBase(settings.resolved_kb_dir)

    app.state.precedents = PrecedentPublisher(
        db.sessions, settings.resolved_kb_dir, add_precedent, on_published=reload_kb
    )
    for router in (
        conversations.router,
        mediators.router,
        handoffs.router,
        live.router,
        search.router,
        health.router,
        pages.router,
        precedents.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Starlette types a handler's exception as plain Exception, whatever class it is registered for.
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(NulFreeUrls)  # before any route reads an id: PostgreSQL cannot take a NUL
    app.add_middleware(SecurityHeaders)
    # Outermost: every limit and log below sees the client, not the balancer.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
