"""Database engine and sessions (SQLite file by default, any SQLAlchemy URL by setting)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


_Row = TypeVar("_Row")


def get_existing(session: Session, model: type[_Row], key: Any, *, populate_existing: bool = False) -> _Row:
    """`session.get` for a row that must exist: one just updated, or one a foreign key points at."""
    row = session.get(model, key, populate_existing=populate_existing)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r} does not exist")
    return row


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean the psycopg 3 driver (the one installed from PyPI)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> str:
        """Bring the schema to the newest Alembic revision; returns it."""
        from api.migrations import upgrade

        return upgrade(self.engine)

    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session
