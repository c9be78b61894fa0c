"""The schema comes from the Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from alembic import command
from api.db import Base, Database, normalise_url
from api.migrations import alembic_config, current_revision, head_revision


@pytest.fixture
def db(any_database_url):
    database = Database(any_database_url)
    yield database
    database.engine.dispose()


def test_upgrade_from_nothing_matches_the_models(db):
    assert db.migrate() == head_revision() == "0003"
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert db.migrate() == "0003"  # idempotent


def test_database_from_before_migrations_is_stamped_and_upgraded_keeping_its_data(db):
    # What the walking skeleton's create_all made: the first two tables, no alembic_version.
    cfg = alembic_config()
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text(
                "INSERT INTO conversations (id, token_hash, mode, created_at, updated_at) "
                "VALUES ('c1', 'h', 'bot', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, sender, text, payload, created_at) "
                "VALUES ('c1', 'resident', '你好', '{}', CURRENT_TIMESTAMP)"
            )
        )
        conn.commit()
    assert current_revision(db.engine) is None
    assert db.migrate() == "0003"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT text, client_id FROM messages")).all() == [("你好", None)]
        assert {"handoffs", "mediators", "audit_log", "transitions", "precedents"} <= set(
            inspect(conn).get_table_names()
        )


def test_downgrade_to_nothing(db):
    db.migrate()
    cfg = alembic_config()
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        conn.commit()
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}


def test_postgres_urls_use_the_psycopg_driver():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
