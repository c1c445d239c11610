"""The Vibes API as drills run it: real processes on real ports, stopped when the drill ends."""
from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Callable

import pytest

from rollbook.runbook.releases import ReleaseRepo
from rollbook.runbook.service import ServiceProcess, vibes_service

SERVICE_FOLDERS = pytest.StashKey[list]()  # each service's folder: the drill keeps its logs


@pytest.fixture
def start_vibes_api(request, tmp_path_factory) -> Callable[..., ServiceProcess]:
    """Start the Vibes API on a free port: start_vibes_api(dsn, id_mode="uuid"|"integer").

    Each service gets its own admin token (`service.admin_token`), maintenance flag file and
    log in a temp folder; any service still running when the test ends is stopped.
    """
    started: list[ServiceProcess] = []

    def start(dsn: str, *, id_mode: str) -> ServiceProcess:
        folder: Path = tmp_path_factory.mktemp("vibes_api")
        request.node.stash.setdefault(SERVICE_FOLDERS, []).append(folder)
        token = secrets.token_urlsafe(24)
        service = vibes_service(dsn, id_mode=id_mode, admin_token=token,
                                maintenance_file=folder / "maintenance.flag",
                                log_path=folder / "service.log")
        service.admin_token = token
        started.append(service)
        service.start()
        return service

    yield start
    for service in started:
        if service.running:
            service.stop()


@pytest.fixture
def vibes_releases(tmp_path_factory) -> ReleaseRepo:
    """The Vibes API's releases as a git repository, one tag per release paired with its
    Alembic revision (pre-uuid-migration: 0001, uuid-migration: 0002), the work tree at the
    last; application_rollback checks out the previous one and reinstalls it into a fresh
    virtualenv beside it. The folder is removed when the test ends."""
    folder: Path = tmp_path_factory.mktemp("vibes_releases")
    yield ReleaseRepo.create(folder / "vibes")
    shutil.rmtree(folder, ignore_errors=True)
