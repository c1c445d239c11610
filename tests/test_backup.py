"""pg_dump/pg_restore with tools matched to the server: dump, verify, tamper, restore."""
from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from rollbook.errors import BackupError, ServerError
from rollbook.pg.install import client_installation_for
from rollbook.record.manifest import sha256_file
from rollbook.runbook import backup


@pytest.fixture
def small_db(scratch_dsn):
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE)")
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, user_id int REFERENCES users)")
        conn.execute("INSERT INTO users (email) SELECT 'u' || g || '@x' FROM generate_series(1, 50) g")
        conn.execute("INSERT INTO notes (user_id) SELECT 1 + g % 50 FROM generate_series(1, 200) g")
    return psycopg.conninfo.conninfo_to_dict(scratch_dsn)["dbname"]


def _count(server, dbname, table):
    with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
        return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(table))).fetchone()[0]


def test_dump_is_verified_and_records_the_tool(pg_server, small_db, tmp_path):
    made = backup.dump(pg_server, small_db, tmp_path / "pre.dump")
    assert made.toc_entries > 4
    assert str(pg_server.installation.bin_dir) in made.tool
    assert backup.verify(pg_server, made).ok


def test_tampered_archive_fails_verification(pg_server, small_db, tmp_path):
    made = backup.dump(pg_server, small_db, tmp_path / "pre.dump")
    with made.path.open("ab") as handle:
        handle.write(b"x")
    verdict = backup.verify(pg_server, made)
    assert not verdict.ok and "changed since it was written" in verdict.summary


def test_truncated_archive_is_unreadable(pg_server, small_db, tmp_path):
    made = backup.dump(pg_server, small_db, tmp_path / "pre.dump")
    made.path.write_bytes(made.path.read_bytes()[:40])
    made.sha256 = sha256_file(made.path)
    verdict = backup.verify(pg_server, made)
    assert not verdict.ok and "pg_restore --list cannot read" in verdict.summary


def test_full_and_selective_restore(pg_server, small_db, tmp_path):
    made = backup.dump(pg_server, small_db, tmp_path / "pre.dump")
    pg_server.create_database("rb_restore_full", drop_existing=True)
    backup.restore(pg_server, "rb_restore_full", made, jobs=2)
    assert _count(pg_server, "rb_restore_full", "notes") == 200
    pg_server.create_database("rb_restore_sel", drop_existing=True)
    backup.restore(pg_server, "rb_restore_sel", made, tables=("users",))
    assert _count(pg_server, "rb_restore_sel", "users") == 50
    with pytest.raises(psycopg.errors.UndefinedTable):
        _count(pg_server, "rb_restore_sel", "notes")
    for name in ("rb_restore_full", "rb_restore_sel"):
        pg_server.drop_database(name)


def test_failed_restore_names_the_tool_and_hint(pg_server, small_db, tmp_path):
    made = backup.dump(pg_server, small_db, tmp_path / "pre.dump")
    with pytest.raises(BackupError, match=r"pg_restore failed.*Hint: pg_restore came from"):
        backup.restore(pg_server, "rb_no_such_database", made)


def test_no_client_tools_new_enough_is_a_clear_error():
    with pytest.raises(ServerError, match="no pg_dump/pg_restore of version 99 or newer"):
        client_installation_for(99)
