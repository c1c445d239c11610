"""`rollbook snapshot` and `rollbook profile`: a baseline of a live database taken read-only,
and bad input refused with one line and exit status 2, nothing written."""
from __future__ import annotations

import subprocess
import sys

import pytest
from examples.checkrun import database_state, vibes_copy

from rollbook import cli
from rollbook.measure import baseline
from rollbook.settings.profile import BUILTIN_ENVS

ENVS = str(BUILTIN_ENVS)


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def run(*args: str) -> int:
    return cli.main([*args, "--envs-dir", ENVS])


def error_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_snapshot_writes_a_hashed_manifest_without_writing_to_the_database(vibes, tmp_path,
                                                                           capsys):
    before = database_state(vibes)
    output = tmp_path / "pre_migration_baseline.json"

    assert run("snapshot", "--env", "prod.example", "--dsn", vibes, "--output", str(output)) == 0

    taken = baseline.load(output)
    assert taken.revision == ["0001"] and taken.tables["journals"].rows == 500
    assert taken.facts["time_ranges"]["users.created_at"] == [
        "2022-01-08T07:12:00+00:00", "2023-01-01T00:00:00+00:00"]
    assert taken.facts["leaves"]["journals"]["width"] == 2
    assert {"user by id", "journal count per user", "primary-key lookup on users"} <= set(
        taken.plans)
    assert taken.plans["user by id"]["sql"] == "SELECT * FROM users WHERE id = 1"
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {output}: 9 tables, 1,776 rows, revision 0001, 10 key queries"
                          " timed, database rb_chk_")
    assert database_state(vibes) == before


def test_snapshot_never_overwrites_by_accident(vibes, tmp_path, capsys):
    output = tmp_path / "b.json"
    output.write_text("precious")
    assert run("snapshot", "--env", "prod.example", "--dsn", vibes, "-o", str(output)) == 2
    assert error_lines(capsys) == [f"rollbook: error: {output} already exists; a baseline is not"
                                   " overwritten by accident. Hint: choose another --output, or"
                                   " pass --force."]
    assert output.read_text() == "precious"
    assert run("snapshot", "--env", "prod.example", "--dsn", vibes, "-o", str(output),
               "--force") == 0
    assert baseline.load(output).revision == ["0001"]


def test_snapshot_of_an_embedded_profile_needs_a_dsn(tmp_path, capsys):
    assert run("snapshot", "--env", "local", "-o", str(tmp_path / "b.json")) == 2
    assert error_lines(capsys) == [
        "rollbook: error: profile local is embedded: its database only exists while the suite "
        "runs. Hint: pass --dsn (or set ROLLBOOK_DSN) to snapshot a live database."]
    assert not (tmp_path / "b.json").exists()


def test_snapshot_refuses_a_missing_dsn_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VIBES_PROD_DSN", raising=False)
    monkeypatch.delenv("ROLLBOOK_DSN", raising=False)
    assert run("snapshot", "--env", "prod.example", "-o", str(tmp_path / "b.json")) == 2
    [line] = error_lines(capsys)
    assert line.startswith("rollbook: error: profile prod.example: environment variable "
                           "VIBES_PROD_DSN is not set. Hint: export VIBES_PROD_DSN=")


def test_snapshot_refuses_an_unreachable_host_without_showing_the_password(tmp_path, capsys):
    dsn = "host=127.0.0.1 port=1 dbname=vibes user=ops password=s3cr3t connect_timeout=3"
    assert run("snapshot", "--env", "prod.example", "--dsn", dsn, "-o",
               str(tmp_path / "b.json")) == 2
    [line] = error_lines(capsys)
    assert line.startswith("rollbook: error: cannot connect to ") and "password=***" in line
    assert "s3cr3t" not in line and not (tmp_path / "b.json").exists()


def test_snapshot_refuses_a_missing_output_directory(vibes, tmp_path, capsys):
    assert run("snapshot", "--env", "prod.example", "--dsn", vibes, "-o",
               str(tmp_path / "no" / "b.json")) == 2
    assert error_lines(capsys)[0] == (
        f"rollbook: error: --output {tmp_path / 'no' / 'b.json'}: directory {tmp_path / 'no'} "
        "does not exist. Hint: choose another path: an existing, writable directory with free "
        "space.")


def test_bad_profile_is_one_line_per_mistake(tmp_path, capsys):
    profile = tmp_path / "bad.toml"
    profile.write_text('[database]\ndsn_env = "X"\nlock_timeout_ms = "1s"\n[api]\nbase = 1\n')
    assert run("profile", "--env", str(profile)) == 2
    assert error_lines(capsys) == [
        f"rollbook: error: {profile}: [database] lock_timeout_ms: must be an integer, got '1s'",
        f"rollbook: error: {profile}: [api] base: unknown key (did you mean base_url?)"]


def test_profile_command_shows_resolved_settings_with_the_password_masked(capsys):
    assert run("profile", "--env", "prod.example", "--dsn",
               "host=db.internal dbname=vibes user=ops password=s3cr3t") == 0
    out = capsys.readouterr().out
    assert "s3cr3t" not in out
    assert "  database: user=ops password=*** dbname=vibes host=db.internal (set by --dsn)" in out
    assert "read-only, statement_timeout 30000 ms, lock_timeout 500 ms" in out


def test_the_installed_command_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rollbook.cli", "profile", "--env", "nope",
                           "--envs-dir", ENVS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("rollbook: error: unknown env 'nope'")
