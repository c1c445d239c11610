"""Database fixtures: the session's PostgreSQL server and throwaway databases on it."""
from __future__ import annotations

import os
import uuid

import pytest

from rollbook.errors import ServerError
from rollbook.pg.install import local_installation
from rollbook.pg.server import Server, start_server
from rollbook_vibes.seed import SeedError, plan_for


def _setting(config, option: str, env: str, default: str | None = None) -> str | None:
    value = config.getoption(option)
    if value is not None:
        return value
    return os.environ.get(env, default)


def pytest_configure(config):
    """Bad drill settings are one line and exit 4 before anything starts."""
    scale = _setting(config, "--scale", "ROLLBOOK_SCALE", "tiny")
    try:
        plan_for(scale)
    except SeedError as exc:
        raise pytest.UsageError(f"--scale {scale}: {exc}") from None
    backend = _setting(config, "--pg-backend", "ROLLBOOK_PG_BACKEND", "embedded")
    bin_dir = _setting(config, "--pg-bin-dir", "ROLLBOOK_PG_BIN_DIR")
    try:
        if backend == "local":
            local_installation(bin_dir)
        elif backend == "url" and not _setting(config, "--dsn", "ROLLBOOK_DSN"):
            raise ServerError("--pg-backend url needs a server.",
                              hint="pass --dsn or set ROLLBOOK_DSN.")
    except ServerError as exc:
        raise pytest.UsageError(exc.one_line()) from None


@pytest.fixture(scope="session")
def pg_server(request) -> Server:
    """The PostgreSQL server of this session (embedded by default; see --pg-backend).

    Started once per session (per xdist worker) and stopped at the end; its log is attached to
    the report of a failing test by the reporting plugin.
    """
    config = request.config
    backend = _setting(config, "--pg-backend", "ROLLBOOK_PG_BACKEND", "embedded")
    server = start_server(backend, dsn=_setting(config, "--dsn", "ROLLBOOK_DSN"),
                          bin_dir=_setting(config, "--pg-bin-dir", "ROLLBOOK_PG_BIN_DIR"))
    with server:
        yield server


@pytest.fixture
def scratch_dsn(pg_server: Server) -> str:
    """DSN of an empty database created for this test and dropped after it."""
    name = f"rb_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)
    yield pg_server.dsn(name)
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def seed_scale(pytestconfig) -> str:
    """The seed scale of drills: --scale, ROLLBOOK_SCALE, or tiny."""
    return _setting(pytestconfig, "--scale", "ROLLBOOK_SCALE", "tiny")


@pytest.fixture
def drill_database(pg_server: Server) -> str:
    """Name of a fresh, empty database for one drill, dropped when the drill ends."""
    name = f"vibes_drill_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    yield name
    pg_server.drop_database(name)
