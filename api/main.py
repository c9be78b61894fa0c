"""Application factory: `uvicorn --factory api.main:create_app`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.db import Database
from api.rasa_client import RasaClient
from api.routes import conversations, health, pages, search
from api.routes.pages import STATIC_DIR
from fengqiao.settings import Settings, get_settings
from knowledge_base.search import KnowledgeBase

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, rasa: RasaClient | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = Database(settings.resolved_database_url)
    db.create_schema()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.rasa.close()
        db.engine.dispose()

    app = FastAPI(title="Fengqiao legal assistant", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = db
    app.state.rasa = rasa or RasaClient(settings.rasa_url, settings.action_url, settings.rasa_timeout_s)
    app.state.kb = KnowledgeBase(settings.resolved_kb_dir)
    for router in (conversations.router, search.router, health.router, pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
