"""Alembic, driven from code: the gateway and `fengqiao mediators …` upgrade the database before using it.

A database made before migrations existed (by `create_all`, with the two first tables and no
`alembic_version`) is stamped at the first revision, which is exactly that schema, and then upgraded.
"""

from __future__ import annotations

import logging

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from alembic import command
from core.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

ALEMBIC_DIR = PROJECT_ROOT / "alembic"
FIRST_REVISION = "0001"
# Any fixed number: every gateway takes the same PostgreSQL advisory lock while it migrates.
PG_LOCK_KEY = 5_145_001


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def _known(revision: str | None) -> str:
    """Alembic answers None where there are no revisions at all: a broken install, not a state to serve."""
    if revision is None:
        raise RuntimeError(f"no Alembic revision under {ALEMBIC_DIR}")
    return revision


def head_revision() -> str:
    return _known(ScriptDirectory.from_config(alembic_config()).get_current_head())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if postgres:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
        try:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            tables = set(inspect(conn).get_table_names())
            if "conversations" in tables and "alembic_version" not in tables:
                log.info("database made before migrations: stamping revision %s", FIRST_REVISION)
                command.stamp(cfg, FIRST_REVISION)
                conn.commit()
            command.upgrade(cfg, revision)
            conn.commit()
            return _known(MigrationContext.configure(conn).get_current_revision())
        finally:
            if postgres:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.commit()
