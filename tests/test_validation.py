"""The drill's post-rollback validation on a real rolled-back Vibes database: clean, then with
one planted defect at a time. Each defect must be caught by exactly the checks it concerns."""
from __future__ import annotations

import pytest
from psycopg import sql

from rollbook.measure import baseline
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.verdicts import validation
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.runbook import VALIDATION_QUERIES
from rollbook_vibes.seed import seed
from rollbook_vibes.traffic import write_on_uuid


@pytest.fixture(scope="module")
def rolled_back(pg_server):
    """A template database taken through upgrade, UUID-era writes and downgrade, and its
    baseline and added-row counts."""
    name = "rb_rolled_back_template"
    pg_server.create_database(name, drop_existing=True)
    dsn = pg_server.dsn(name)
    migrations = Migrations(alembic_config(dsn), dsn)
    migrations.upgrade(REVISION_INTEGER)
    seed(dsn, "tiny")
    with connect(dsn, read_only=True) as conn:
        before = baseline.capture(conn, migrations.current())
    migrations.upgrade(REVISION_UUID)
    with connect(dsn) as conn:
        added = write_on_uuid(conn)
    migrations.downgrade("-1")
    yield name, before, added
    pg_server.drop_database(name)


@pytest.fixture
def copy_of(pg_server, rolled_back):
    template, before, added = rolled_back
    name = "rb_validation_copy"
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    yield pg_server.dsn(name), before, added
    pg_server.drop_database(name)


def _failures(dsn, before, added) -> dict[str, str]:
    migrations = Migrations(alembic_config(dsn), dsn)
    with connect(dsn, read_only=True) as conn:
        results = validation.validate_rollback(
            conn, migrations=migrations, baseline=before, expected_revision=REVISION_INTEGER,
            added=added, queries=VALIDATION_QUERIES)
    return {r.name: r.summary for r in results if not r.ok}


def test_clean_rollback_passes_every_check(copy_of):
    assert _failures(*copy_of) == {}


DEFECTS = {
    "orphan": (
        "SET session_replication_role = replica;"
        " INSERT INTO journals (user_id, title, content) VALUES (999999, 'orphan', 'x')",
        {"orphans: journals.user_id -> users.id", "row count: journals"},
        "1 orphan"),
    "key left as uuid": (
        "ALTER TABLE user_sessions ALTER COLUMN id DROP DEFAULT,"
        " ALTER COLUMN id TYPE uuid USING gen_random_uuid()",
        {"key type: user_sessions.id", "information_schema: id column types",
         "schema matches baseline", "content: user_sessions",
         "sequence user_sessions_id_seq ahead of max(user_sessions.id)"},
        "user_sessions.id"),
    "dropped index": (
        "DROP INDEX ix_journals_user_id_created_at",
        {"schema matches baseline"},
        "ix_journals_user_id_created_at"),
    "changed row": (
        "UPDATE journals SET title = title || '!' WHERE id = 1",
        {"content: journals"},
        "baseline rows changed"),
    "deleted row": (
        "DELETE FROM audit_logs WHERE id = 1",
        {"row count: audit_logs", "content: audit_logs"},
        "1 rows lost"),
    "sequence behind": (
        "SELECT setval('users_id_seq', 1)",
        {"sequence users_id_seq ahead of max(users.id)"},
        "users_id_seq"),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_planted_defect_is_caught_by_its_checks(copy_of, defect):
    dsn, before, added = copy_of
    statement, expected_failures, message = DEFECTS[defect]
    with connect(dsn) as conn:
        conn.execute(statement)
    failures = _failures(dsn, before, added)
    assert set(failures) == expected_failures
    assert any(message in summary for summary in failures.values()), failures
