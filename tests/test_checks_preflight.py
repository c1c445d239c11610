"""Pre-flight engine: server version, the read-only session, alembic current, heads, history;
each passing on a healthy database and failing, with its fix, on a planted problem. (At session
level a wrong revision or several heads refuse the whole run: test_checks_bad_input.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.settings.target import alembic_config as ini_config
from rollbook.verdicts import preflight
from rollbook_vibes.migrations_config import INI_PATH, alembic_config


@pytest.fixture
def vibes_0001(scratch_dsn):
    Migrations(alembic_config(scratch_dsn), scratch_dsn).upgrade("0001")
    return scratch_dsn


def two_heads(tmp_path: Path) -> Migrations:
    versions = tmp_path / "scripts" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/scripts\n")
    for rev in ("a1", "b1"):
        (versions / f"{rev}.py").write_text(f'revision = "{rev}"\ndown_revision = None\n')
    return Migrations(ini_config(tmp_path / "alembic.ini"), "")


def test_server_version_and_a_too_old_server(scratch_dsn):
    with connect(scratch_dsn, read_only=True) as conn:
        fine = preflight.server(conn)
        too_old = preflight.server(conn, minimum_version_num=990000)
    assert fine.ok and fine.summary.startswith("connected to rb_") and "a primary" in fine.summary
    assert not too_old.ok and "is older than supported (99)" in too_old.summary


def test_read_write_session_is_not_accepted_for_checks(scratch_dsn):
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=5000, lock_timeout_ms=100,
                 application_name="rollbook-checks") as conn:
        locked = preflight.session_is_read_only(conn, "rollbook-checks")
    with connect(scratch_dsn) as conn:
        open_ = preflight.session_is_read_only(conn, "rollbook-checks")
    assert locked.ok and locked.summary == ("read-only session: statement_timeout 5s, "
                                            "lock_timeout 100ms, application_name rollbook-checks")
    assert not open_.ok
    assert open_.summary == ("the checks session is not locked down: default_transaction_read_"
                             "only = off, statement_timeout = 0, lock_timeout = 0, "
                             "application_name = rollbook (expected rollbook-checks)")


def test_alembic_current(vibes_0001, scratch_dsn):
    with connect(vibes_0001, read_only=True) as conn:
        ok = preflight.revision(conn, "0001")
        wrong = preflight.revision(conn, "0002")
        unconstrained = preflight.revision(conn, None)
    assert ok.ok and ok.summary == "alembic current is 0001, as expected"
    assert not wrong.ok and wrong.summary.startswith(
        "the database is at revision 0001, expected 0002: the rollback is not complete.")
    assert unconstrained.ok and unconstrained.observed["current"] == ["0001"]


def test_database_without_alembic(scratch_dsn):
    with connect(scratch_dsn, read_only=True) as conn:
        result = preflight.revision(conn, "0001")
    assert not result.ok
    assert result.summary.startswith("the database has no Alembic version table, expected 0001")


def test_heads(tmp_path):
    vibes = Migrations(ini_config(INI_PATH), "").read_scripts()
    assert preflight.single_head(vibes).summary == "single head 0005"
    branched = preflight.single_head(two_heads(tmp_path).read_scripts())
    assert not branched.ok
    assert branched.summary.startswith("the Alembic scripts have 2 heads (a1, b1)")


def test_history_knows_current_and_expected(vibes_0001):
    scripts = Migrations(ini_config(INI_PATH), vibes_0001).read_scripts()
    with connect(vibes_0001, read_only=True) as conn:
        known = preflight.history(scripts, conn, "0001")
        unknown = preflight.history(scripts, conn, "9999")
    assert known.ok
    assert [line.split(",")[0] for line in known.observed["history"]] == [
        "0004 -> 0005", "0003 -> 0004", "0002 -> 0003", "0001 -> 0002", "<base> -> 0001"]
    assert not unknown.ok and unknown.summary.startswith(
        "revision(s) 9999 are not in the migration history")
