"""A project's own start-up step: what brings an empty database to the start of its Alembic
history when the project creates its first tables in code (SQLAlchemy `create_all`) or with its
own init command, before its first revision. The profile names it as `[alembic] start`.

A "module:attr" names either something with a `metadata` (a declarative base) or `create_all`
(a MetaData), whose tables are created, or a function, called with the database's SQLAlchemy
URL. A list is a command's argv, run without a shell in the profile's folder; the database
travels in the environment ($ROLLBOOK_DSN, $ROLLBOOK_SQLALCHEMY_URL and libpq's PG*
variables), never in argv. Whatever goes wrong is one line.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from rollbook.errors import ConfigError, MigrationError
from rollbook.pg.connect import connect
from rollbook.record.redact import redact_text
from rollbook.settings.profile_files import load_ref
from rollbook.settings.target import sqlalchemy_url

START_TIMEOUT_S = 900.0
HINT = ("[alembic] start names the project's step that creates its first tables: a "
        '"module:attr" (a declarative base or MetaData, or a function taking the SQLAlchemy URL)'
        " or a command's argv.")
# libpq's variables for what a DSN holds, so a project's command reaches the database unaided
PG_VARIABLES = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
                "dbname": "PGDATABASE"}


def run_start(start: str | tuple[str, ...], dsn: str, cwd: Path) -> None:
    """Run the start-up step on the (empty) database at `dsn`, then end whatever sessions it
    left open on it (a copy of it is made with CREATE DATABASE ... TEMPLATE)."""
    if isinstance(start, tuple):
        _run_command(start, dsn, cwd)
    else:
        _run_reference(start, dsn)
    _disconnect_others(dsn)


def _first_line(text: str) -> str:
    return redact_text((text.strip().splitlines() or [""])[0])


def _run_reference(ref: str, dsn: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    try:
        target = load_ref(ref)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"[alembic] start {ref} cannot be loaded: {type(exc).__name__}: "
                          f"{_first_line(str(exc))}", hint=HINT) from None
    metadata = getattr(target, "metadata", target)
    url = sqlalchemy_url(dsn)
    try:
        if hasattr(metadata, "create_all"):
            engine = create_engine(url, poolclass=NullPool)
            try:
                metadata.create_all(engine)
            finally:
                engine.dispose()
        elif callable(target):
            target(url)
        else:
            raise ConfigError(f"[alembic] start {ref} is neither a function nor tables to "
                              f"create (a {type(target).__name__}).", hint=HINT)
    except ConfigError:
        raise
    except Exception as exc:  # whatever the project's own step raises is the finding
        raise MigrationError(f"[alembic] start {ref} failed: {type(exc).__name__}: "
                             f"{_first_line(str(exc))}", hint=HINT) from None


def _run_command(argv: tuple[str, ...], dsn: str, cwd: Path) -> None:
    params = conninfo_to_dict(dsn)
    env = {**os.environ, "ROLLBOOK_DSN": dsn, "ROLLBOOK_SQLALCHEMY_URL": sqlalchemy_url(dsn),
           **{PG_VARIABLES[k]: str(v) for k, v in params.items() if k in PG_VARIABLES}}
    shown = " ".join(argv)
    try:
        done = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=START_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ConfigError(f"[alembic] start command {argv[0]!r} is not found.",
                          hint="name a program on PATH (or its full path) as the argv's first "
                               "item.") from None
    except subprocess.TimeoutExpired:
        raise MigrationError(f"[alembic] start `{shown}` ran longer than "
                             f"{START_TIMEOUT_S:.0f} s.") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise MigrationError(f"[alembic] start `{shown}` exited with {done.returncode}: "
                             f"{redact_text(last[-1]) if last else 'no output'}", hint=HINT)


def _disconnect_others(dsn: str) -> None:
    database = conninfo_to_dict(dsn).get("dbname")
    with connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = {} AND pid <> pg_backend_pid()").format(
                                 sql.Literal(database)))
