"""PostgreSQL servers behind one interface: embedded (started here), docker, or an existing URL.

Code that uses a Server never needs to know which kind it got: it reads host, port, dbname,
version and the client installation, and asks for DSNs.
"""
from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook.errors import ServerError
from rollbook.pg.install import Installation, client_installation_for
from rollbook.record.redact import redact_dsn

CONNECT_TIMEOUT_S = 10


class Server:
    """A reachable PostgreSQL server. Subclasses start/stop it; this base only describes it."""

    kind = "url"

    def __init__(self, *, host: str, port: int, user: str, password: str | None, dbname: str,
                 options: dict[str, str] | None = None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self.options = dict(options or {})
        self.log_path: Path | None = None
        self._installation: Installation | None = None
        self.version = ""
        self.version_num = 0

    # -- description -------------------------------------------------------------------
    def dsn(self, dbname: str | None = None) -> str:
        """Full DSN including the password: never log it, use redacted_dsn for people."""
        params = dict(self.options, host=self.host, port=str(self.port), user=self.user,
                      dbname=dbname or self.dbname, connect_timeout=str(CONNECT_TIMEOUT_S))
        if self.password:
            params["password"] = self.password
        return make_conninfo(**params)

    def redacted_dsn(self, dbname: str | None = None) -> str:
        return redact_dsn(self.dsn(dbname))

    def client_env(self) -> dict[str, str]:
        """Environment for client subprocesses: the password travels in PGPASSWORD, not argv."""
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def client_dsn(self, dbname: str | None = None) -> str:
        """DSN without the password, for argv of pg_dump/pg_restore/psql (see client_env)."""
        params = conninfo_to_dict(self.dsn(dbname))
        params.pop("password", None)
        return make_conninfo(**params)

    @property
    def installation(self) -> Installation:
        """Client binaries matching this server (same major version, or newer)."""
        if self._installation is None:
            self._installation = client_installation_for(self.version_num // 10000)
        return self._installation

    def describe(self) -> str:
        return f"{self.kind} PostgreSQL {self.version} at {self.redacted_dsn()}"

    # -- lifecycle ---------------------------------------------------------------------
    def _read_version(self) -> None:
        try:
            with psycopg.connect(self.dsn(), autocommit=True) as conn:
                row = conn.execute("SELECT current_setting('server_version'),"
                                   " current_setting('server_version_num')::int").fetchone()
        except psycopg.OperationalError as exc:
            raise ServerError(f"cannot connect to {self.redacted_dsn()}: "
                              f"{_first_line(exc)}",
                              hint="check host, port, credentials and that the server runs."
                              ) from exc
        self.version, self.version_num = row[0].split(" ")[0], row[1]

    def start(self) -> "Server":
        self._read_version()
        return self

    def stop(self) -> None:
        """An existing server is never stopped by us."""

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- databases ---------------------------------------------------------------------
    def create_database(self, name: str, *, drop_existing: bool = False) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            if drop_existing:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def copy_database(self, template: str, name: str, *, file_copy: bool = False) -> None:
        """CREATE DATABASE name TEMPLATE template: a copy, no re-seeding; no session may be
        connected to the template. `file_copy` (PostgreSQL 15+): STRATEGY FILE_COPY, a
        checkpoint then a copy of the files, half WAL_LOG's time for a seeded database of 500
        MB (0.5 s), but the checkpoint costs every other database of the server: for big ones."""
        strategy = sql.SQL(" STRATEGY FILE_COPY" if file_copy and self.version_num >= 150000
                           else "")
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
                sql.Identifier(name), sql.Identifier(template), strategy))

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


class UrlServer(Server):
    """An existing server given by DSN; rollbook neither starts nor stops it."""

    kind = "url"

    def __init__(self, dsn: str):
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise ServerError(f"the DSN is not valid: {_first_line(exc)}",
                              hint="use postgresql://user@host:port/dbname") from exc
        host = params.pop("host", "localhost")
        port = int(params.pop("port", 5432))
        user = params.pop("user", os.environ.get("PGUSER", "postgres"))
        password = params.pop("password", None) or os.environ.get("PGPASSWORD")
        dbname = params.pop("dbname", user)
        params.pop("connect_timeout", None)
        super().__init__(host=host, port=port, user=user, password=password, dbname=dbname,
                         options=params)


def start_server(backend: str, *, dsn: str | None = None, bin_dir: str | None = None,
                 image: str | None = None) -> Server:
    """A not-yet-started server of the named backend: embedded, local, docker or url."""
    if backend == "url":
        if not dsn:
            raise ServerError("the url backend needs a DSN.",
                              hint="pass --dsn or set ROLLBOOK_DSN.")
        return UrlServer(dsn)
    if backend in ("embedded", "local"):
        from rollbook.pg.embedded import EmbeddedServer
        from rollbook.pg.install import local_installation, wheel_installation
        install = wheel_installation() if backend == "embedded" else local_installation(bin_dir)
        return EmbeddedServer(install)
    if backend == "docker":
        from rollbook.pg.docker import DockerServer
        return DockerServer(image=image)
    raise ServerError(f"unknown server backend {backend!r}.",
                      hint="use one of: embedded, local, docker, url.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
