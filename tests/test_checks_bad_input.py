"""Bad input to `pytest checks/`: one clear line per mistake, exit status 4, no test run and
nothing written. One test per kind of mistake the operator can make."""
from __future__ import annotations

import json

import pytest
from examples.checkrun import database_state, run_checks, snapshot, vibes_copy

from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook_vibes.migrations_config import alembic_config


def assert_refused(result, *fragments: str, lines: int = 1) -> None:
    """Exit 4, exactly `lines` ERROR lines holding the fragments, no traceback, no test run."""
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 4, output[-2000:]
    assert len(errors) == lines, output[-2000:]
    for fragment in fragments:
        assert any(fragment in line for line in errors), (fragment, errors)
    assert "Traceback" not in output and "collected" not in output


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def test_unknown_env_name(pytester, monkeypatch):
    result, _ = run_checks(pytester, monkeypatch, "--env", "nope")
    assert_refused(result, "unknown env 'nope': there is no ", "envs/nope.toml (nor a built-in profile of that name). Hint: use one of:"
                   " ci, local, prod.example; or pass a path to a .toml profile.")


def test_malformed_profile_syntax(pytester, monkeypatch, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[database]\ndsn_env = VIBES_DSN\n")
    result, _ = run_checks(pytester, monkeypatch, "--env", str(bad))
    assert_refused(result, "broken.toml is not valid TOML: Invalid value (at line 2, column 11)."
                   " Hint: fix the syntax")


def test_malformed_profile_one_line_per_mistake(pytester, monkeypatch, tmp_path):
    bad = tmp_path / "typos.toml"
    bad.write_text('[database]\ndsn_env = "VIBES_DSN"\nstatement_timeout_ms = "30s"\n'
                   '[monitoring]\nmax_active_conections = 5\n')
    result, _ = run_checks(pytester, monkeypatch, "--env", str(bad))
    assert_refused(result, "[database] statement_timeout_ms: must be an integer, got '30s'",
                   "[monitoring] max_active_conections: unknown key (did you mean "
                   "max_active_connections?)", lines=2)


def test_missing_dsn_variable(pytester, monkeypatch, tmp_path):
    profile = tmp_path / "live.toml"
    profile.write_text('[database]\ndsn_env = "RB_TEST_UNSET_DSN"\n')
    monkeypatch.delenv("RB_TEST_UNSET_DSN", raising=False)
    result, _ = run_checks(pytester, monkeypatch, "--env", str(profile))
    assert_refused(result, "profile live: environment variable RB_TEST_UNSET_DSN is not set. "
                   "Hint: export RB_TEST_UNSET_DSN=")


def test_unreachable_host(pytester, monkeypatch):
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn",
                           "host=127.0.0.1 port=1 dbname=vibes user=postgres connect_timeout=3")
    assert_refused(result, "cannot connect to ", "port=1", "Connection refused",
                   "Hint: check host, port, credentials")


def test_wrong_password(pytester, monkeypatch, pg_server, vibes):
    hba = getattr(pg_server, "data_dir", None)
    if hba is None:
        pytest.skip("needs a server whose pg_hba.conf this test may edit (embedded or local)")
    hba = hba / "pg_hba.conf"
    original = hba.read_text()
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute("CREATE ROLE rb_pw_operator LOGIN PASSWORD 'the-right-one'")
        hba.write_text("host all rb_pw_operator 127.0.0.1/32 scram-sha-256\n" + original)
        conn.execute("SELECT pg_reload_conf()")
    try:
        dsn = vibes.replace("user=postgres", "user=rb_pw_operator password=Wr0ngSecret")
        result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn)
    finally:
        hba.write_text(original)
        with connect(pg_server.dsn("postgres")) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("DROP ROLE rb_pw_operator")
    assert_refused(result, "password authentication failed for user \"rb_pw_operator\"",
                   "password=***")
    assert "Wr0ngSecret" not in result.stdout.str() + result.stderr.str()


def test_database_at_an_unexpected_revision(pytester, monkeypatch, vibes):
    Migrations(alembic_config(vibes), vibes).upgrade("0002")
    before = database_state(vibes)
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes)
    assert_refused(result, "the database is at revision 0002, expected 0001: the rollback is "
                   "not complete.")
    assert database_state(vibes) == before


def test_multiple_heads(pytester, monkeypatch, scratch_dsn, tmp_path):
    versions = tmp_path / "project" / "scripts" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "project" / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/scripts\n")
    for rev in ("a1", "b1"):
        (versions / f"{rev}.py").write_text(f'revision = "{rev}"\ndown_revision = None\n')
    profile = tmp_path / "branched.toml"
    profile.write_text('[database]\ndsn_env = "UNUSED"\n[alembic]\nini = "project/alembic.ini"\n'
                       'expected_revision = "a1"\n')
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                     " INSERT INTO alembic_version VALUES ('a1')")
    result, _ = run_checks(pytester, monkeypatch, "--env", str(profile), "--dsn", scratch_dsn)
    assert_refused(result, "the Alembic scripts have 2 heads (a1, b1): which revision is "
                   "deployed is ambiguous.")


def test_missing_baseline_file(pytester, monkeypatch, vibes, tmp_path):
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes,
                           "--baseline", str(tmp_path / "nowhere.json"))
    assert_refused(result, "nowhere.json does not exist. Hint: create one with `rollbook "
                   "snapshot --output FILE`.")


def test_corrupt_baseline_file(pytester, monkeypatch, vibes, tmp_path):
    path = snapshot(vibes, tmp_path / "baseline.json")
    path.write_text(path.read_text()[:200])
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes,
                           "--baseline", str(path))
    assert_refused(result, "baseline.json is not valid JSON")


def test_baseline_whose_sha256_does_not_match(pytester, monkeypatch, vibes, tmp_path):
    path = snapshot(vibes, tmp_path / "baseline.json")
    body = json.loads(path.read_text())
    body["tables"]["journals"]["rows"] += 1
    path.write_text(json.dumps(body))
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes,
                           "--baseline", str(path))
    assert_refused(result, "does not match its sha256: it was altered or truncated")


def test_baseline_from_another_database(pytester, monkeypatch, pg_server, vibes, tmp_path):
    other_name, other = vibes_copy(pg_server)
    path = snapshot(other, tmp_path / "other.json")
    pg_server.drop_database(other_name)
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes,
                           "--baseline", str(path))
    assert_refused(result, f"was taken from database {other_name} (system ",
                   "Hint: point --dsn at the database the baseline came from")


def test_unknown_seed_scale_of_the_embedded_profile(pytester, monkeypatch):
    result, _ = run_checks(pytester, monkeypatch, "--scale", "bogus")
    assert_refused(result, "--scale bogus: unknown scale 'bogus'. Hint: use one of tiny, small, "
                   "100k, 1m")
