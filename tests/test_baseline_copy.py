"""The drill's baseline read from a file copy of the seeded database (beside the upgrade) is the
baseline `rollbook snapshot` takes of the database itself; the schema must come from the
database itself, as CREATE DATABASE ... TEMPLATE does not copy the database's own settings or
comment."""
from __future__ import annotations

import uuid

import pytest
from psycopg import sql

from rollbook.measure import baseline, catalog, snapshot
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile
from rollbook_vibes.migrations_config import REVISION_INTEGER, alembic_config
from rollbook_vibes.seed import seed


@pytest.fixture
def seeded(pg_server, scratch_dsn):
    """Vibes at 0001, seeded, with a database setting and comment (which a copy loses), and a
    file copy of it: (original's DSN, copy's DSN)."""
    Migrations(alembic_config(scratch_dsn), scratch_dsn).upgrade(REVISION_INTEGER)
    seed(scratch_dsn, "tiny")
    with connect(scratch_dsn) as conn:
        name = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("ALTER DATABASE {} SET work_mem = '7MB'").format(name))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS 'the original'").format(name))
        original = conn.info.dbname
    copy = f"rb_copy_{uuid.uuid4().hex[:10]}"
    pg_server.copy_database(original, copy, file_copy=True)
    yield scratch_dsn, pg_server.dsn(copy)
    pg_server.drop_database(copy)


def comparable(taken: baseline.Baseline) -> dict:
    """What the checks compare against: everything but when it was taken and the key queries'
    times."""
    return {"database": taken.database, "revision": taken.revision, "schema": taken.schema,
            "tables": taken.tables, "sequences": taken.sequences,
            "facts": {k: v for k, v in taken.facts.items() if k != "row_digests"},
            "plans": sorted(taken.plans)}


def test_a_baseline_of_the_file_copy_with_the_originals_schema_is_the_originals(seeded):
    original, copy = seeded
    profile = load_profile("ci", BUILTIN_ENVS)
    with connect(original, read_only=True) as conn:
        itself = snapshot.take(conn, profile, rows=False)
        schema = catalog.snapshot(conn, profile.schemas)
        identity = baseline.database_identity(conn)
    with connect(copy, read_only=True) as conn:
        of_copy = snapshot.take(conn, profile, rows=False, schema=schema)
        schema_of_copy = snapshot.take(conn, profile, rows=False)  # planted: the copy's schema
    of_copy.database = identity
    assert comparable(of_copy) == comparable(itself)
    assert of_copy.tables and all(t.rows for t in of_copy.tables.values())

    lost = catalog.diff(itself.schema_snapshot(), schema_of_copy.schema_snapshot())
    assert lost and all("database" in str(d) for d in lost), lost
