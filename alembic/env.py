"""Alembic environment: a connection handed over by api.migrations, else the configured database."""

from __future__ import annotations

from alembic import context
from api import models  # noqa: F401  (registers the tables for autogenerate)
from api.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from core.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def run_migrations_offline() -> None:
    from api.db import normalise_url
    from core.settings import get_settings

    context.configure(
        url=normalise_url(get_settings().resolved_database_url),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
