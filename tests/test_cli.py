"""`rollbook snapshot` and `rollbook profile`: a baseline of a live database taken read-only,
and bad input refused with one line and exit status 2, nothing written."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from examples.checkrun import database_state, vibes_copy

from rollbook import cli
from rollbook.measure import baseline
from rollbook.settings.profile_files import BUILTIN_ENVS

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


# -- the bad-input table: one line, a non-zero exit, no traceback, nothing left on disk ---------
# Each case: argv ({tmp} is a folder with the files below), extra environment, exit code, and a
# fragment of the one error line. Keep adding: the list only grows.
LONG = "e" * 5000
UNREACHABLE = "postgresql://checker@127.0.0.1:1/vibes"
CLI_BAD_INPUT = [
    pytest.param([], {}, 2, "the following arguments are required", id="no-command"),
    pytest.param(["frobnicate"], {}, 2, "invalid choice: 'frobnicate'", id="unknown-command"),
    pytest.param(["snapshot", "--env", "prod.example"], {}, 2,
                 "the following arguments are required: --output", id="snapshot-no-output"),
    pytest.param(["snapshot", "--env", "nope", "-o", "{tmp}/b.json"], {}, 2,
                 "unknown env 'nope'", id="unknown-env"),
    pytest.param(["snapshot", "--env", "", "-o", "{tmp}/b.json"], {}, 2, "--env is empty.",
                 id="empty-env"),
    pytest.param(["snapshot", "--env", LONG, "-o", "{tmp}/b.json"], {}, 2,
                 "File name too long", id="5000-character-env"),
    pytest.param(["snapshot", "--env", "{tmp}/missing.toml", "-o", "{tmp}/b.json"], {}, 2,
                 "missing.toml does not exist", id="missing-profile-file"),
    pytest.param(["snapshot", "--env", "{tmp}", "-o", "{tmp}/b.json"], {}, 2,
                 "does not exist. Hint: pass --env NAME", id="profile-is-a-directory"),
    pytest.param(["profile", "--env", "{tmp}/broken.toml"], {}, 2, "is not valid TOML",
                 id="profile-toml-syntax"),
    pytest.param(["profile", "--env", "{tmp}/typos.toml"], {}, 2,
                 "unknown key (did you mean max_active_connections?)", id="profile-typo"),
    pytest.param(["profile", "--env", "{tmp}/attack.toml"], {}, 2,
                 "FOR UPDATE locks rows", id="profile-row-lock"),
    pytest.param(["profile", "--env", "{tmp}/cte.toml"], {}, 2,
                 "it holds DELETE (a data-modifying statement", id="profile-data-modifying-cte"),
    pytest.param(["profile", "--env", "{tmp}/two.toml"], {}, 2,
                 "must be one statement", id="profile-two-statements"),
    pytest.param(["profile", "--env", "{tmp}/secret.toml"], {}, 2,
                 "profiles never hold a DSN or password", id="profile-with-a-dsn"),
    pytest.param(["profile", "--env", "{tmp}/badurl.toml"], {}, 2,
                 "base_url: must be an http:// or https:// URL", id="profile-bad-base-url"),
    pytest.param(["snapshot", "--env", "prod.example", "-o", "{tmp}/b.json"], {}, 2,
                 "environment variable VIBES_PROD_DSN is not set", id="dsn-variable-unset"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", "::::", "-o", "{tmp}/b.json"],
                 {}, 2, "is not valid: missing \"=\" after \"::::\"", id="dsn-garbage"),
    pytest.param(["profile", "--env", "prod.example"], {"ROLLBOOK_DSN": "::::"}, 2,
                 "is not valid: missing", id="ROLLBOOK_DSN-garbage"),
    pytest.param(["profile", "--env", "prod.example", "--dsn", ""], {}, 2, "--dsn is empty.",
                 id="empty-dsn"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn",
                  "postgresql://u:Pa55@Pa55@127.0.0.1/vibes", "-o", "{tmp}/b.json"], {}, 2,
                 "the password has an unencoded @", id="password-with-unencoded-at"),
    pytest.param(["snapshot", "--env", "local", "-o", "{tmp}/b.json"], {}, 2,
                 "profile local is embedded", id="snapshot-of-embedded-profile"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "{tmp}/b.json"], {}, 2, "cannot connect to", id="snapshot-unreachable"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", "{silent}", "-o",
                  "{tmp}/b.json"], {}, 2, "(connect_timeout 1 s: the DSN's connect_timeout",
                 id="snapshot-port-never-answers"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "/dev/full", "--force"], {}, 2,
                 "--output /dev/full exists and is not a regular file", id="snapshot-dev-full"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "{tmp}/no/b.json"], {}, 2, "does not exist", id="snapshot-missing-dir"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o", "{tmp}"],
                 {}, 2, "exists and is not a regular file", id="snapshot-output-is-a-dir"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "{tmp}/" + "x" * 300 + ".json"], {}, 2, "File name too long",
                 id="snapshot-name-too-long"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "{tmp}/b.json/x.json"], {}, 2, "does not exist", id="snapshot-dir-is-a-file"),
    pytest.param(["snapshot", "--env", "prod.example", "--dsn", UNREACHABLE, "-o",
                  "{tmp}/existing.json"], {}, 2, "already exists", id="snapshot-no-overwrite"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--api-url",
                  "notaurl"], {}, 2, "--api-url 'notaurl' is not an http:// or https:// URL",
                 id="assess-api-url-not-a-url"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--api-url",
                  "http://u:hunter2@api:8000"], {}, 2, "--api-url carries credentials",
                 id="assess-api-url-with-credentials"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--api-url",
                  "http://api:99999"], {}, 2, "is not an http:// or https:// URL",
                 id="assess-api-url-bad-port"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE],
                 {"ROLLBOOK_API_URL": "ftp://api"}, 2, "$ROLLBOOK_API_URL 'ftp://api' is not",
                 id="assess-ROLLBOOK_API_URL-ftp"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/missing.json"], {}, 2, "missing.json does not exist",
                 id="assess-baseline-missing"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/corrupt.json"], {}, 2, "is not valid JSON", id="assess-baseline-corrupt"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/empty.json"], {}, 2, "is not valid JSON", id="assess-baseline-empty"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/tampered.json"], {}, 2, "does not match its sha256",
                 id="assess-baseline-tampered"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/edited.json"], {}, 2, "lacks a required field or holds a wrong one",
                 id="assess-baseline-edited-with-recomputed-sha256"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline",
                  "{tmp}/other.json"], {}, 2, "is not a rollbook baseline",
                 id="assess-baseline-not-a-baseline"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--baseline", ""],
                 {}, 2, "--baseline is empty.", id="assess-empty-baseline"),
    pytest.param(["assess", "--env", "local"], {}, 2, "profile local is embedded",
                 id="assess-embedded-profile"),
    pytest.param(["assess", "--env", "prod.example", "--dsn", UNREACHABLE, "--no-api"], {}, 2,
                 "cannot connect to", id="assess-unreachable"),
    pytest.param(["verify", "{tmp}/no-run"], {}, 2, "", id="verify-missing-folder"),
    pytest.param(["verify", "/dev/null"], {}, 2, "", id="verify-not-a-folder"),
    pytest.param(["serve-db", "--scale", "bogus"], {}, 2, "bogus", id="serve-db-bad-scale"),
]


@pytest.fixture
def bad_files(tmp_path, monkeypatch):
    """Files the bad-input table refers to as {tmp}/NAME."""
    from rollbook.measure.baseline import FORMAT, _digest
    files = {
        "broken.toml": '[database]\ndsn_env = VIBES_DSN\n',
        "typos.toml": '[database]\ndsn_env = "X"\n[monitoring]\nmax_active_conections = 5\n',
        "attack.toml": '[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "SELECT 1"\n'
                       'params = "SELECT id AS x FROM users FOR UPDATE"\n',
        "cte.toml": '[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "WITH d AS '
                    '(DELETE FROM users RETURNING 1) SELECT count(*) FROM d"\n',
        "two.toml": '[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "SELECT 1; '
                    'SELECT 2"\n',
        "secret.toml": '[database]\ndsn_env = "X"\ndsn = "postgresql://u:pw@h/db"\n',
        "badurl.toml": '[database]\ndsn_env = "X"\n[api]\nbase_url = "api.internal"\n',
        "corrupt.json": '{"format": ',
        "empty.json": "",
        "other.json": '{"hello": "world"}',
        "existing.json": "{}",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    body = {"format": FORMAT, "database": {"name": "vibes", "system_identifier": "1"},
            "revision": ["0001"], "schema": {"tables": "edited"}, "sequences": {},
            "tables": {}}
    (tmp_path / "edited.json").write_text(json.dumps({**body, "sha256": _digest(body)}))
    (tmp_path / "tampered.json").write_text(json.dumps({**body, "sha256": "0" * 64}))
    monkeypatch.chdir(tmp_path)
    for var in ("ROLLBOOK_DSN", "ROLLBOOK_ENV", "ROLLBOOK_API_URL", "ROLLBOOK_BASELINE",
                "VIBES_PROD_DSN"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def silent_dsn():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"postgresql://checker@127.0.0.1:{listener.getsockname()[1]}/v?connect_timeout=1"


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("argv, env, code, fragment", CLI_BAD_INPUT)
def test_cli_bad_input_is_one_line(bad_files, silent_dsn, capsys, monkeypatch, argv, env, code,
                                   fragment):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    argv = [a.replace("{tmp}", str(bad_files)).replace("{silent}", silent_dsn) for a in argv]
    temp = Path(tempfile.mkdtemp())  # this case's temp folder: a server would put its dir here
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    before = _listing(bad_files)
    if argv and argv[0] in ("snapshot", "assess", "profile"):
        argv = [*argv, "--envs-dir", ENVS]
    try:
        got = cli.main(argv)
    except SystemExit as exc:  # argparse's own refusals
        got = exc.code
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if "error:" in line]
    assert got == code, out.err[-2000:]
    assert len(errors) == 1, out.err[-2000:]
    assert fragment in errors[0], errors[0]
    print(f"bad input | rollbook {' '.join(argv)[:80]} | {errors[0][:160]} | exit {got}")
    assert "Traceback" not in out.err + out.out
    assert "hunter2" not in out.err and "Pa55@127" not in out.err
    assert _listing(bad_files) == before
    assert not any(temp.iterdir())
    temp.rmdir()
