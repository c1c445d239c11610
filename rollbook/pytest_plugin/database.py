"""Database fixtures: the session's PostgreSQL server and throwaway databases on it.

The server's settings come from the session's resolved settings (rollbook.pytest_plugin.profile:
--pg-backend, --pg-bin-dir, --dsn, --scale by CLI > environment > profile > default).
"""
from __future__ import annotations

import uuid

import pytest

from rollbook.errors import ServerError
from rollbook.pg.install import local_installation
from rollbook.pg.server import Server, start_server
from rollbook.pytest_plugin.profile import settings_for
from rollbook.pytest_plugin.reporting import informational
from rollbook_vibes.seed import SeedError, plan_for

# More journals than this is a typo, not a drill: seeding would fill the disk first.
MAX_JOURNALS = 100_000_000


def pytest_configure(config):
    """Bad drill settings are one line and exit 4 before anything starts."""
    settings = settings_for(config)  # resolved (or refused) by the profile plugin, tryfirst
    try:
        journals = plan_for(settings.scale).journals
    except SeedError as exc:
        raise pytest.UsageError(f"{settings.scale_source} {settings.scale[:40]}: {exc}") from None
    if journals > MAX_JOURNALS:
        raise pytest.UsageError(f"{settings.scale_source} {settings.scale[:40]}: {journals:,} "
                                f"journals is more than a drill seeds (at most "
                                f"{MAX_JOURNALS:,}). Hint: use tiny, small, 100k, 1m or a "
                                "journal count up to that.")
    if informational(config):
        return
    try:
        if settings.backend == "local":
            local_installation(settings.bin_dir)
        elif settings.backend == "url" and not settings.dsn:
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
    settings = settings_for(request.config)
    server = start_server(settings.backend, dsn=settings.dsn, bin_dir=settings.bin_dir)
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
    """The seed scale of drills: --scale, ROLLBOOK_SCALE, the profile's [embedded] scale, or
    tiny."""
    return settings_for(pytestconfig).scale


@pytest.fixture
def drill_database(pg_server: Server) -> str:
    """Name of a fresh, empty database for one drill, dropped when the drill ends."""
    name = f"vibes_drill_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    yield name
    pg_server.drop_database(name)
