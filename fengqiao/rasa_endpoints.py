"""Rasa's endpoints file, written from the settings: where the action server is, which tracker store and which
lock store to use.

One machine: the tracker store is a SQLite file and locks live in Rasa's memory (bot/endpoints.yml says the same
with environment variables). Several Rasa servers: the tracker store is PostgreSQL (`tracker_db_url`) and the
lock store is Redis (`redis_url`), so two servers never process two messages of one conversation at once and
either can take any conversation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.settings import Settings


def tracker_store(settings: Settings) -> dict:
    if not settings.tracker_db_url:
        return {"type": "SQL", "dialect": "sqlite", "db": str(settings.resolved_tracker_db)}
    url = urlsplit(settings.tracker_db_url.replace("postgresql+psycopg://", "postgresql://"))
    if url.scheme not in {"postgresql", "postgres"}:
        raise ValueError("FENGQIAO_TRACKER_DB_URL must be a postgresql:// URL")
    store = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.path.lstrip("/") or "rasa",
        "username": unquote(url.username or "postgres"),
    }
    if url.password:
        store["password"] = unquote(url.password)
    return store


def lock_store(settings: Settings) -> dict | None:
    if not settings.redis_url:
        return None
    url = urlsplit(settings.redis_url)
    store = {
        "type": "redis",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.path.lstrip("/") or 0),
        "key_prefix": "fengqiao",
    }
    if url.password:
        store["password"] = unquote(url.password)
    return store


def endpoints(settings: Settings) -> dict:
    action = {"url": f"{settings.action_url}/webhook"}
    if settings.internal_token:
        action["token"] = settings.internal_token  # sent as ?token=…; actions/server.py checks it
    out = {"action_endpoint": action, "tracker_store": tracker_store(settings)}
    lock = lock_store(settings)
    if lock:
        out["lock_store"] = lock
    return out


def write_endpoints(settings: Settings, path: Path) -> Path:
    """JSON is YAML: the file needs no YAML writer in the app environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the internal token
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(endpoints(settings), indent=2) + "\n")
    return path
