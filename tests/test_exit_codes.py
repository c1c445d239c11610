"""`rollbook assess` exits as documented, always: a bad --api-url is refused before anything is
measured, the decision's code survives a failed write of its output, and what could not be
measured makes the decision "could not verify", never "quiet"."""
from __future__ import annotations

import uuid

import pytest
from examples.checkrun import database_state, vibes_copy
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook import cli
from rollbook.pg.connect import connect
from rollbook.settings.profile_files import BUILTIN_ENVS


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def assess(dsn: str, *args: str) -> int:
    return cli.main(["assess", "--env", "prod.example", "--dsn", dsn, *args,
                     "--envs-dir", str(BUILTIN_ENVS)])


@pytest.mark.parametrize("given", ["notaurl", "ftp://api.internal", "http://", "http://h:99999",
                                   "http://user:secret@api.internal"])
def test_a_bad_api_url_is_refused_before_anything_is_measured(vibes, capsys, given):
    before = database_state(vibes)
    assert assess(vibes, "--api-url", given) == cli.EXIT_REFUSED
    out = capsys.readouterr()
    assert out.out == ""
    [line] = out.err.splitlines()
    assert line.startswith("rollbook: error: --api-url ") and " Hint: " in line
    assert "secret" not in line
    assert database_state(vibes) == before


def test_the_environments_api_url_is_checked_too(vibes, capsys, monkeypatch):
    monkeypatch.setenv("ROLLBOOK_API_URL", "notaurl")
    assert assess(vibes) == cli.EXIT_REFUSED
    assert capsys.readouterr().err.startswith("rollbook: error: $ROLLBOOK_API_URL 'notaurl' is "
                                              "not an http:// or https:// URL with a host.")


def _plant_orphan(dsn: str) -> None:
    with connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("INSERT INTO journals (user_id, title, content) VALUES (99999, 'o', 'o')")


@pytest.mark.parametrize("where", ["missing-dir/d.json", "/dev/full", "is-a-dir",
                                   "x" * 300 + ".json"])
def test_the_decisions_code_survives_a_failed_write(vibes, capsys, tmp_path, where):
    _plant_orphan(vibes)
    (tmp_path / "is-a-dir").mkdir()
    output = tmp_path / where if not where.startswith("/") else where
    assert assess(vibes, "--no-api", "-o", str(output)) == cli.EXIT_ROLLBACK_DUE
    out = capsys.readouterr()
    assert out.out.startswith("severity Critical")
    warning, line = out.err.splitlines()
    assert warning.startswith("rollbook: warning: role postgres is a superuser;")
    assert line.startswith("rollbook: error: --output ") and line.endswith(
        "Hint: choose another path: an existing, writable directory with free space.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-dir"]  # no partial file left


def test_planted_defect_a_writable_output_is_written(vibes, capsys, tmp_path):
    _plant_orphan(vibes)
    output = tmp_path / "d.json"
    assert assess(vibes, "--no-api", "-o", str(output)) == cli.EXIT_ROLLBACK_DUE
    assert output.is_file() and "error" not in capsys.readouterr().err


def test_an_unreadable_table_makes_the_decision_could_not_verify(vibes, capsys):
    checker = f"checker_{uuid.uuid4().hex[:8]}"
    with connect(vibes) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_read_all_stats").format(
            sql.Identifier(checker)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(checker)))
        conn.execute(sql.SQL("REVOKE SELECT ON journals FROM {}").format(
            sql.Identifier(checker)))
    as_checker = make_conninfo(**(conninfo_to_dict(vibes) | {"user": checker}))
    try:
        code = assess(as_checker, "--no-api")
    finally:
        with connect(vibes) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(checker)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(checker)))
    out = capsys.readouterr()
    assert code == cli.EXIT_NOT_VERIFIED, out.out + out.err
    assert out.out.startswith("no trigger fired, not all verified (impact Unknown, respond "
                              "now): Could not verify")
    assert "could not verify  Critical  orphaned rows / foreign-key violations" in out.out
    assert f"role {checker} cannot read 1 table(s): public.journals." in out.err
