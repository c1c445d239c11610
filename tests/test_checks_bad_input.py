"""Bad input to `pytest checks/`: one clear line per mistake, exit status 4, no test run and
nothing written. One test per kind of mistake the operator can make."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from examples.checkrun import database_state, run_checks, snapshot, vibes_copy
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook.pg.connect import connect
from rollbook.pg.embedded import EmbeddedServer
from rollbook.pg.install import wheel_installation
from rollbook.runbook.migrations import Migrations
from rollbook_vibes.migrations_config import alembic_config

ROOT = Path(__file__).resolve().parents[1]


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


def test_row_digests_whose_sha256_does_not_match(pytester, monkeypatch, vibes, tmp_path):
    path = snapshot(vibes, tmp_path / "baseline.json")
    sidecar = tmp_path / "baseline.rows"
    sidecar.write_bytes(sidecar.read_bytes()[:-10])
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", vibes,
                           "--baseline", str(path))
    assert_refused(result, "baseline.rows do not match the sha256 baseline",
                   "the file was altered or truncated after it was written")


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


# -- the bad-input table of `pytest checks/` and `pytest drills/` --------------------------------
# (suite, arguments, environment, a fragment of the one ERROR line); every case exits 4 before
# any test runs, writes nothing to a database and leaves nothing on disk. {tmp} is a folder with
# the files of `pytest_bad_files`, {silent} a DSN whose port accepts and never answers.
LONG = "e" * 5000
PYTEST_BAD_INPUT = [
    pytest.param("checks", ["--env", ""], {}, "--env is empty.", id="checks-empty-env"),
    pytest.param("checks", ["--env", LONG], {}, "File name too long", id="checks-5000-char-env"),
    pytest.param("checks", [], {"ROLLBOOK_ENV": "nope"}, "unknown env 'nope'",
                 id="checks-ROLLBOOK_ENV-unknown"),
    pytest.param("checks", ["--env", "{tmp}/attack.toml"], {},
                 "FOR UPDATE locks rows", id="checks-row-lock-profile"),
    pytest.param("checks", ["--env", "{tmp}/cte.toml"], {}, "it holds DELETE",
                 id="checks-data-modifying-cte-profile"),
    pytest.param("checks", ["--scale", "99999999999999"], {},
                 "99,999,999,999,999 journals is more than a drill seeds",
                 id="checks-huge-scale"),
    pytest.param("checks", ["--scale", "5"], {}, "scale 5 is too small", id="checks-tiny-scale"),
    pytest.param("checks", ["--pg-bin-dir", "/usr/lib/postgresql/15/bin"], {},
                 "--pg-bin-dir is only used by the local backend",
                 id="checks-pg-bin-dir-without-local"),
    pytest.param("checks", [], {"ROLLBOOK_PG_BIN_DIR": "/usr/lib/postgresql/15/bin"},
                 "$ROLLBOOK_PG_BIN_DIR is only used by the local backend",
                 id="checks-ROLLBOOK_PG_BIN_DIR-without-local"),
    pytest.param("checks", [], {"ROLLBOOK_PG_BACKEND": "bogus"},
                 "$ROLLBOOK_PG_BACKEND 'bogus' is not a server backend",
                 id="checks-ROLLBOOK_PG_BACKEND-bogus"),
    pytest.param("checks", ["--env", "prod.example", "--dsn", "::::"], {},
                 "the DSN '::::' is not valid", id="checks-dsn-garbage"),
    pytest.param("checks", ["--env", "prod.example"], {"ROLLBOOK_DSN": "::::"},
                 "the DSN '::::' is not valid", id="checks-ROLLBOOK_DSN-garbage"),
    pytest.param("checks", ["--env", "prod.example", "--dsn", ""], {}, "--dsn is empty.",
                 id="checks-empty-dsn"),
    pytest.param("checks", ["--env", "prod.example", "--dsn",
                            "postgresql://u:Pa55@Pa55@127.0.0.1/vibes"], {},
                 "the password has an unencoded @", id="checks-password-with-unencoded-at"),
    pytest.param("checks", ["--env", "prod.example", "--dsn",
                            "postgresql://checker@127.0.0.1:1/vibes"], {},
                 "cannot connect to postgresql://checker@127.0.0.1:1/vibes",
                 id="checks-port-closed"),
    pytest.param("checks", ["--env", "prod.example", "--dsn", "{silent}"], {},
                 "(connect_timeout 1 s: the DSN's connect_timeout parameter)",
                 id="checks-port-never-answers"),
    pytest.param("checks", ["--api-url", "notaurl"], {},
                 "--api-url 'notaurl' is not an http:// or https:// URL", id="checks-bad-api-url"),
    pytest.param("checks", [], {"ROLLBOOK_API_URL": "http://u:hunter2@api"},
                 "$ROLLBOOK_API_URL carries credentials", id="checks-api-url-with-credentials"),
    pytest.param("checks", ["--baseline", ""], {}, "--baseline is empty.",
                 id="checks-empty-baseline"),
    pytest.param("checks", ["--reports-dir", "/dev/full"], {}, "cannot create the run folder",
                 id="checks-reports-dir-dev-full"),
    pytest.param("checks", ["--reports-dir", "{tmp}/a-file"], {}, "cannot create the run folder",
                 id="checks-reports-dir-is-a-file"),
    pytest.param("checks", ["--reports-dir", "{tmp}/" + "r" * 300], {},
                 "File name too long", id="checks-reports-dir-name-too-long"),
    pytest.param("checks", ["--sign-key", "{tmp}/no-key"], {}, "no such file",
                 id="checks-missing-sign-key"),
    pytest.param("drills", ["--scale", "99999999999999"], {},
                 "journals is more than a drill seeds", id="drills-huge-scale"),
    pytest.param("drills", ["--scale", "bogus"], {}, "unknown scale 'bogus'",
                 id="drills-unknown-scale"),
    pytest.param("drills", [], {"ROLLBOOK_SCALE": "1e9"}, "$ROLLBOOK_SCALE 1e9: unknown scale",
                 id="drills-ROLLBOOK_SCALE-bogus"),
    pytest.param("drills", ["--pg-bin-dir", "/usr/lib/postgresql/15/bin"], {},
                 "--pg-bin-dir is only used by the local backend",
                 id="drills-pg-bin-dir-without-local"),
    pytest.param("drills", ["--pg-backend", "local", "--pg-bin-dir", "{tmp}"], {},
                 "no PostgreSQL server binary at", id="drills-pg-bin-dir-without-postgres"),
    pytest.param("drills", ["--pg-backend", "url"], {}, "--pg-backend url needs a server",
                 id="drills-url-backend-without-dsn"),
    pytest.param("drills", ["--env", ""], {}, "--env is empty.", id="drills-empty-env"),
    pytest.param("drills", ["--reports-dir", "/dev/full"], {}, "cannot create the run folder",
                 id="drills-reports-dir-dev-full"),
    pytest.param("drills", ["--env", "{tmp}/broken.toml"], {}, "is not valid TOML",
                 id="drills-broken-profile"),
]


@pytest.fixture
def pytest_bad_files(tmp_path):
    files = {
        "attack.toml": '[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "SELECT 1"\n'
                       'params = "SELECT id AS x FROM users FOR UPDATE"\n',
        "cte.toml": '[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "WITH d AS '
                    '(DELETE FROM users RETURNING 1) SELECT count(*) FROM d"\n',
        "broken.toml": '[database]\ndsn_env = VIBES_DSN\n',
        "a-file": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.fixture
def silent_dsn():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"postgresql://checker@127.0.0.1:{listener.getsockname()[1]}/v?connect_timeout=1"


@pytest.mark.parametrize("suite, args, env, fragment", PYTEST_BAD_INPUT)
def test_pytest_bad_input_is_one_line(pytest_bad_files, silent_dsn, suite, args, env, fragment):
    tmp = pytest_bad_files
    args = [a.replace("{tmp}", str(tmp)).replace("{silent}", silent_dsn) for a in args]
    temp = tmp / "tmp"  # the run's TMPDIR: where a server's /tmp/rollbook-pg-* would go
    temp.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")
               and k != "VIBES_PROD_DSN"} | env | {"TMPDIR": str(temp)}
    before = _left_on_disk(tmp)
    argv = [sys.executable, "-m", "pytest", str(ROOT / suite), "-p", "no:cacheprovider",
            *(["--reports-dir", str(tmp / "reports")] if "--reports-dir" not in args else []),
            *args]
    done = subprocess.run(argv, cwd=tmp, env=environ, capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert done.returncode == 4, output[-2000:]
    assert len(errors) == 1, output[-2000:]
    assert fragment in errors[0], errors[0]
    print(f"bad input | pytest {suite}/ {' '.join(args)[:80]} | {errors[0][:160]} | "
          f"exit {done.returncode}")
    assert "Traceback" not in output and "hunter2" not in output and "Pa55@127" not in output
    assert _left_on_disk(tmp) == before


def _left_on_disk(folder: Path) -> set[str]:
    # .benchmarks is pytest-benchmark's (it makes its storage folder when it is configured)
    return {str(p) for p in folder.rglob("*") if ".benchmarks" not in p.parts}


def _checks(dsn: str, tmp: Path, *modules: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    paths = [str(ROOT / "checks" / m) for m in modules] or [str(ROOT / "checks")]
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider", "--env",
         "prod.example", "--dsn", dsn, "--reports-dir", str(tmp / "reports")],
        cwd=tmp, env=environ | {"PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def test_a_locked_table_is_one_line_naming_lock_timeout_and_the_holder(vibes, tmp_path):
    before = database_state(vibes)
    with connect(vibes, autocommit=False) as holder:
        holder.execute("LOCK TABLE journals IN ACCESS EXCLUSIVE MODE")
        out, err = _checks(vibes, tmp_path).communicate(timeout=300)
        holder.rollback()
    [line] = [x for x in err.splitlines() if x.startswith("ERROR: ")]
    assert line.startswith("ERROR: cannot read what the checks iterate over: LockNotAvailable: "
                           "canceling statement due to lock timeout (lock_timeout ")
    assert "public.journals held in AccessExclusiveLock by pid" in line
    assert "Traceback" not in out + err
    assert database_state(vibes) == before


def test_a_role_that_cannot_read_a_table_is_refused_in_one_line(vibes, tmp_path):
    checker = f"checker_{os.getpid()}"
    with connect(vibes) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_read_all_stats").format(
            sql.Identifier(checker)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(checker)))
        conn.execute(sql.SQL("REVOKE SELECT ON journals FROM {}").format(sql.Identifier(checker)))
    before = database_state(vibes)
    try:
        done = _checks(make_conninfo(**(conninfo_to_dict(vibes) | {"user": checker})), tmp_path)
        out, err = done.communicate(timeout=300)
        after = database_state(vibes)
    finally:
        with connect(vibes) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(checker)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(checker)))
    assert done.returncode == 4, out[-2000:] + err[-2000:]
    [line] = [x for x in err.splitlines() if x.startswith("ERROR: ")]
    assert line == (f"ERROR: role {checker} cannot read 1 table(s): public.journals. Hint: GRANT "
                    f"pg_read_all_data TO {checker}; (or GRANT SELECT on those tables).")
    assert "Traceback" not in out + err and not (tmp_path / "reports").exists()
    assert after == before


def test_the_server_stopping_mid_run_ends_the_run_with_one_line(tmp_path):
    with EmbeddedServer(wheel_installation()) as server:
        _, dsn = vibes_copy(server)
        run = _checks(dsn, tmp_path, "test_types.py", "test_counts.py", "test_content.py")
        seen = ""
        while "checks/test_types.py" not in seen:  # the checks have started
            char = run.stdout.read(1)
            assert char, run.stderr.read()[-2000:]
            seen += char
        server.restart(while_stopped=lambda: run.wait(timeout=120))
        out, err = run.communicate(timeout=30)
    output = seen + out + err
    assert run.returncode not in (0, 4), output[-3000:]
    stops = [x for x in output.splitlines() if "the checks' database went away" in x]
    assert len(stops) == 1, output[-3000:]
    assert "Traceback" not in output
