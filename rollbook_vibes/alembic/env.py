"""Alembic environment of the Vibes service.

Where the database comes from, first match wins:

1. ``config.attributes["connection"]``: a SQLAlchemy Connection or Engine from the caller
   (pytest-alembic, drills). Used as it is; a Connection's transaction stays the caller's.
2. ``sqlalchemy.url`` on the Config (``rollbook_vibes.migrations_config.alembic_config(dsn)``
   sets it).
3. The ``VIBES_DATABASE_URL`` environment variable.

Passwords never reach the log: URLs are rendered with ``hide_password=True``.
"""
from __future__ import annotations

import logging
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection, Engine

from rollbook_vibes.migrations_config import URL_ENV_VAR, sqlalchemy_url
from rollbook_vibes.models import target_metadata

config = context.config
log = logging.getLogger("alembic.env.vibes")

# The alembic CLI configures logging from the ini; a program that calls us keeps its own
# (alembic_config() sets configure_logger = False).
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

CONFIGURE_OPTS = dict(
    target_metadata=target_metadata,
    compare_type=True,
    compare_server_default=True,
)


def _database_url():
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(URL_ENV_VAR)
    if not url:
        raise RuntimeError(
            "no database for the Vibes migrations. Hint: pass a connection in "
            "config.attributes['connection'], set sqlalchemy.url (see "
            f"rollbook_vibes.migrations_config.alembic_config) or set {URL_ENV_VAR}.")
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    url = _database_url()
    log.info("generating SQL for %s", url.render_as_string(hide_password=True))
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
                      **CONFIGURE_OPTS)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **CONFIGURE_OPTS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    if isinstance(given, Engine):
        with given.connect() as connection:
            _run(connection)
            connection.commit()
        return
    url = _database_url()
    log.info("database %s", url.render_as_string(hide_password=True))
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
