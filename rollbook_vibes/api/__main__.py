"""Run the Vibes API: ``python -m rollbook_vibes.api --dsn-env VIBES_DATABASE_URL --port 8000``.

The DSN is read from the environment variable named by --dsn-env, never from the command line,
so it does not show in ``ps``. Before serving, the service checks that its id mode matches the
database's Alembic revision and refuses to start, with one line on stderr, when it does not.

Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when uvicorn cannot serve (the port
is taken, say), 2 for a configuration error, 3 when the database cannot be reached or is at
the wrong revision.
"""
from __future__ import annotations

import argparse
import logging
import sys

import psycopg

from rollbook_vibes.api import logs
from rollbook_vibes.api.config import URL_ENV_VAR, ConfigError, Settings, from_env

EXIT_CONFIG, EXIT_GUARD = 2, 3
CONNECT_TIMEOUT_S = 5


class GuardError(Exception):
    """The database is not one this service may serve."""


def check_database(settings: Settings) -> str:
    """The database's revision, when it is the one the id mode needs; GuardError otherwise."""
    where = settings.describe_database()
    try:
        with psycopg.connect(settings.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                             application_name="vibes-api") as conn:
            present = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL"
                                   ).fetchone()[0]
            row = conn.execute("SELECT version_num FROM alembic_version LIMIT 1").fetchone() \
                if present else None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GuardError(f"cannot reach the database {where}: {first}. Hint: check "
                         "host, port, credentials and that the server runs.") from None
    revision, expected = (row[0] if row else None), settings.expected_revision
    if revision == expected:
        return revision
    mode = f"{settings.id_mode} mode ({settings.mode_flags()})"
    if revision is None:
        raise GuardError(f"{mode} needs alembic revision {expected}, but {where} has no "
                         f"alembic_version. Hint: migrate it first: alembic upgrade {expected}.")
    other = "uuid" if settings.id_mode == "integer" else "integer"
    flags = "UUID_ENABLED=true USE_INTEGER_IDS=false" if other == "uuid" else \
        "UUID_ENABLED=false USE_INTEGER_IDS=true"
    raise GuardError(f"{mode} needs alembic revision {expected}, but {where} is at "
                     f"{revision}. Hint: start in {other} mode ({flags}) for a database at "
                     f"{revision}, or migrate the database to {expected}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rollbook_vibes.api",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn-env", default=URL_ENV_VAR,
                        help=f"environment variable holding the DSN (default {URL_ENV_VAR})")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    try:
        settings = from_env(dsn_env=args.dsn_env)
    except ConfigError as exc:
        print(f"vibes-api: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        revision = check_database(settings)
    except GuardError as exc:
        print(logs.mask(f"vibes-api: refusing to start: {exc}", settings.secrets),
              file=sys.stderr)
        return EXIT_GUARD

    import uvicorn  # imported late: a refused start stays quick

    from rollbook_vibes.api.app import create_app

    logs.configure(settings.secrets, args.log_level, settings.log_file)
    logging.getLogger("rollbook_vibes.api").info(
        "starting in %s mode on %s (revision %s), maintenance flag %s",
        settings.id_mode, settings.describe_database(), revision, settings.maintenance_file)
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings), host=args.host, port=args.port, log_config=None,
        log_level=args.log_level, lifespan="on", timeout_graceful_shutdown=5))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind
        return int(exc.code or 1)
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
