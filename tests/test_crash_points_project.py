"""The crash-point engine runs a project's downgrade as its profile names it: with `[alembic]
script_location` overriding an ini whose folder is relative to the working directory, both the
child that is killed and the second downgrade find the scripts. Planted: the ini alone, run
from another folder, does not."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from rollbook.errors import MigrationError
from rollbook.measure import baseline
from rollbook.pg.connect import connect
from rollbook.runbook.crash_points import Expected, Rehearsal
from rollbook.runbook.migrations import Migrations, current_revisions
from rollbook.settings.profile import Alembic
from rollbook.settings.target import project_config

LEDGER = Path(__file__).resolve().parent / "examples" / "ledger"
SCHEMAS = ("public",)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Alembic:
    """A copy of the ledger whose ini names its scripts relative to the working directory, run
    from another folder; the profile's script_location names them."""
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    (copy / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return Alembic(ini=copy / "alembic.ini", script_location=copy / "migrations")


@pytest.fixture
def template(pg_server, project):
    """A database at l002, whose downgrade to l001 is rehearsed."""
    name = f"rb_crash_tpl_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    Migrations(project_config(project, dsn), dsn).upgrade("l002")
    yield name
    pg_server.drop_database(name)


def _captured(dsn: str, revision: str) -> Expected:
    with connect(dsn, read_only=True) as conn:
        taken = baseline.capture(conn, [revision], SCHEMAS)
    return Expected(revision, taken.schema_snapshot(), taken)


def test_the_killed_child_and_the_second_downgrade_read_the_profiles_scripts(
        pg_server, project, template, tmp_path):
    rehearsal = Rehearsal(pg_server, template, project, "l001", tmp_path, SCHEMAS)
    reference = rehearsal.copy()
    try:
        sent, _ = rehearsal.uninterrupted(reference)
        with connect(pg_server.dsn(reference)) as conn:
            assert current_revisions(conn) == ["l001"]
        expected = {"l002": _captured(pg_server.dsn(template), "l002"),
                    "l001": _captured(pg_server.dsn(reference), "l001")}
    finally:
        pg_server.drop_database(reference)
    [drop] = [s for s in sent if s.sql == "DROP TABLE entries"]  # the scripts' own statement
    assert "sqlalchemy.url" not in (tmp_path / "alembic-crash-child.ini").read_text()

    point = rehearsal.crash_at(drop.number, expected)

    assert point.revision_after == "l002" and point.wholly_at_one_revision
    assert point.second_downgrade.startswith("l002 -> l001 in"), point.second_downgrade
    assert point.has_converged, point.problems()


def test_the_ini_alone_run_from_another_folder_finds_no_scripts(pg_server, project, template,
                                                                tmp_path):
    rehearsal = Rehearsal(pg_server, template, project.ini, "l001", tmp_path, SCHEMAS)
    reference = rehearsal.copy()
    try:
        with pytest.raises(MigrationError, match="the uninterrupted downgrade to l001 exited"):
            rehearsal.uninterrupted(reference)
    finally:
        pg_server.drop_database(reference)
