"""Content chunks spread over a primary and its streaming replica (pg_basebackup -R, real
streaming replication): `-n 2` runs them on both and the report says where each ran; a replica
that lags (its replay paused, a write on the primary not replayed) or does not answer is left
out with one line, and never decides a verdict."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from examples.checkrun import ROOT, run_checks, snapshot, vibes_copy
from execnet.script import socketserver

from rollbook.errors import ConfigError
from rollbook.measure import replicas
from rollbook.net import free_port, port_open
from rollbook.pg.connect import connect
from rollbook.pg.server import start_server
from rollbook.pg.standby import start_standby
from rollbook.settings import replicas as replica_settings
from rollbook.settings.profile import ProfileError
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile

REPLICA_VAR = "RB_TEST_REPLICA_DSN"
JOURNAL_HASHING_SQL = """\
SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
WHERE query ~ '"journals" AS t' AND query ~ 'hash_record_extended'"""
RAN_ON = re.compile(r"^(\d+) content chunk\(s\) ran on (.+)$", re.M)


@pytest.fixture(scope="module")
def pair():
    """An embedded primary and its streaming standby, both removed afterwards."""
    with start_server("embedded") as primary:
        standby = start_standby(primary)
        try:
            yield primary, standby
        finally:
            standby.stop()


@pytest.fixture
def vibes_pair(pair, tmp_path):
    """A Vibes copy on the primary, its baseline, replayed on the standby: (primary, standby,
    database name, baseline path)."""
    primary, standby = pair
    name, dsn = vibes_copy(primary)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    assert caught_up(primary, standby) is None
    yield primary, standby, name, baseline
    primary.drop_database(name)


def caught_up(primary, standby, wait_s: float = 30.0) -> str | None:
    """Why the standby has not replayed what the primary wrote so far (None: it has)."""
    with connect(primary.dsn(), read_only=True) as p, \
            connect(standby.dsn(), read_only=True) as s:
        return replicas.lag(p, s, replicas.primary_position(p), wait_s)


def profile_with_replica(tmp_path: Path) -> Path:
    """prod.example with `[database] replicas_env` naming REPLICA_VAR."""
    text = (BUILTIN_ENVS / "prod.example.toml").read_text()
    text = text.replace('dsn_env = "VIBES_PROD_DSN"',
                        f'dsn_env = "VIBES_PROD_DSN"\nreplicas_env = ["{REPLICA_VAR}"]')
    path = tmp_path / "replicated.toml"
    path.write_text(text)
    return path


def checks(pytester, monkeypatch, tmp_path, primary_dsn, baseline, replica_dsn,
           workers=("-n", "2")):
    monkeypatch.setenv(REPLICA_VAR, replica_dsn)
    return run_checks(pytester, monkeypatch, "--env", str(profile_with_replica(tmp_path)),
                      "--dsn", primary_dsn, "--baseline", str(baseline),
                      "--content-chunk-rows", "100", *workers, "-k", "journals",
                      modules=("test_content.py",))


@contextmanager
def socket_server(env: dict[str, str]) -> Iterator[int]:
    """execnet's own socket server (what a remote host runs for xdist), on a local port."""
    port = free_port()
    server = subprocess.Popen([sys.executable, socketserver.__file__, f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        yield port
    finally:
        server.kill()
        server.wait()


def ran_on(output: str) -> dict[str, int]:
    return {server: int(count) for count, server in RAN_ON.findall(output)}


def journal_hashing(dsn: str) -> int:
    with connect(dsn) as conn:
        return conn.execute(JOURNAL_HASHING_SQL).fetchone()[0]


def reset_statements(*dsns: str) -> None:
    for dsn in dsns:
        with connect(dsn) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")


def test_two_workers_spread_the_chunks_over_the_primary_and_its_replica(
        vibes_pair, pytester, monkeypatch, tmp_path):
    primary, standby, name, baseline = vibes_pair
    reset_statements(primary.dsn(name), standby.dsn(name))

    result, found = checks(pytester, monkeypatch, tmp_path, primary.dsn(name), baseline,
                           standby.dsn(name))

    output = result.stdout.str()
    assert result.ret == 0, output[-3000:]
    assert sorted(found) == [f"test_content::test_baseline_rows_unchanged[journals[{i}/5]]"
                             for i in range(1, 6)]
    on_primary, on_replica = f"127.0.0.1:{primary.port} (primary)", \
        f"127.0.0.1:{standby.port} (replica, ${REPLICA_VAR})"
    assert f"replica {on_replica}: used, replayed past the primary's" in output
    # what the report says ran where is what each server itself counted
    hashed = {on_primary: journal_hashing(primary.dsn(name)),
              on_replica: journal_hashing(standby.dsn(name))}
    assert ran_on(output) == hashed and sorted(hashed.values()) == [2, 3]
    record = (pytester.path / "reports" / "latest-checks" / "checks.md").read_text()
    rows = [line for line in record.splitlines() if "[journals[" in line]
    assert len(rows) == 5 and all(line.startswith("| ok |") for line in rows)
    assert {server: sum(f"on {server})" in line for line in rows) for server in hashed} == hashed
    assert f"replica {on_replica}: used" in record


def test_remote_workers_through_an_xdist_socket_server_spread_them_too(
        vibes_pair, pytester, monkeypatch, tmp_path):
    """The README's multi-host setup, on one machine: a socket server (what each remote host
    runs) and two workers started through it (`--px ... --tx 2*popen//via=...`); the workers
    find the replica's DSN in the socket server's environment, as on a remote host."""
    primary, standby, name, baseline = vibes_pair
    env = {**os.environ, REPLICA_VAR: standby.dsn(name)}
    with socket_server(env) as port:
        result, found = checks(pytester, monkeypatch, tmp_path, primary.dsn(name), baseline,
                               standby.dsn(name),
                               workers=("--px", f"id=dbhost//socket=127.0.0.1:{port}",
                                        "--tx", "2*popen//via=dbhost", "--dist", "load"))

    output = result.stdout.str()
    assert result.ret == 0 and len(found) == 5, output[-3000:]
    assert "2 workers [5 items]" in output
    assert sorted(ran_on(output).values()) == [2, 3]


def test_a_replica_whose_replay_is_paused_is_left_out_and_decides_no_verdict(
        vibes_pair, pytester, monkeypatch, tmp_path):
    """Planted: the replica's replay paused, then two journals changed on the primary (in
    chunks 1 and 2, which the spread gives to different servers). The paused replica still
    holds the old rows, so a chunk judged there would pass; it is left out with the lag line
    and both chunks fail, on the primary."""
    primary, standby, name, baseline = vibes_pair
    with connect(standby.dsn(name)) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        with connect(primary.dsn(name)) as conn:
            keys = [conn.execute("SELECT id FROM journals ORDER BY id OFFSET %s LIMIT 1",
                                 (offset,)).fetchone()[0] for offset in (0, 150)]
            conn.execute("UPDATE journals SET title = 'planted' WHERE id = ANY(%s)", (keys,))
        with connect(standby.dsn(name)) as conn:
            assert conn.execute("SELECT count(*) FROM journals WHERE title = 'planted'"
                                ).fetchone()[0] == 0  # the replica would have passed them

        result, found = checks(pytester, monkeypatch, tmp_path, primary.dsn(name), baseline,
                               standby.dsn(name))
    finally:
        with connect(standby.dsn(name)) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    output = result.stdout.str()
    assert {t for t, outcome in found.items() if outcome == "failed"} == {
        "test_content::test_baseline_rows_unchanged[journals[1/5]]",
        "test_content::test_baseline_rows_unchanged[journals[2/5]]"}, output[-3000:]
    lag_lines = [line for line in output.splitlines() if line.startswith("replica ")]
    assert len(lag_lines) == 1
    assert re.fullmatch(
        rf"replica 127\.0\.0\.1:{standby.port} \(replica, \${REPLICA_VAR}\) not used, its "
        r"chunks run on the other servers: it lags: replayed WAL up to [0-9A-F/]+, \d+ bytes "
        r"behind the primary's [0-9A-F/]+ when the checks started \(waited 5 s\); its replay "
        r"is paused \(pg_wal_replay_pause\(\)\)\. Hint: SELECT pg_wal_replay_resume\(\) on it",
        lag_lines[0]), lag_lines[0]
    assert ran_on(output) == {f"127.0.0.1:{primary.port} (primary)": 5}


def test_a_replica_that_does_not_answer_is_one_line_and_its_password_stays_out(
        vibes_pair, pytester, monkeypatch, tmp_path):
    primary, _, name, baseline = vibes_pair
    port = free_port()
    silent = f"postgresql://checker:s3cret-pw@127.0.0.1:{port}/{name}?connect_timeout=2"

    result, found = checks(pytester, monkeypatch, tmp_path, primary.dsn(name), baseline, silent)

    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and set(found.values()) == {"passed"}, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("replica ")]
    assert len(lines) == 1 and "Traceback" not in output
    assert lines[0].startswith(f"replica 127.0.0.1:{port} (replica, ${REPLICA_VAR}) not used, "
                               "its chunks run on the other servers: cannot connect to ")
    assert lines[0].endswith("Hint: check host, port, credentials and that the server runs.")
    assert ran_on(output) == {f"127.0.0.1:{primary.port} (primary)": 5}
    record = (pytester.path / "reports" / "latest-checks").resolve()
    assert "s3cret-pw" not in output
    assert not [p for p in record.rglob("*") if p.is_file() and b"s3cret-pw" in p.read_bytes()]


def test_an_unset_replica_variable_refuses_the_run_in_one_line(vibes_pair, pytester,
                                                               monkeypatch, tmp_path):
    primary, _, name, baseline = vibes_pair
    monkeypatch.delenv(REPLICA_VAR, raising=False)
    result, found = run_checks(pytester, monkeypatch, "--env", str(profile_with_replica(tmp_path)),
                               "--dsn", primary.dsn(name), "--baseline", str(baseline),
                               modules=("test_content.py",))

    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 4 and not found, output[-3000:]
    assert f"[database] replicas_env names {REPLICA_VAR}, which is not set. Hint: export " \
           f"{REPLICA_VAR}=" in output
    assert "Traceback" not in output


def test_lag_names_a_server_that_is_no_standby_of_the_primary(pair):
    primary, standby = pair
    with connect(primary.dsn(), read_only=True) as p:
        position = replicas.primary_position(p)
        with connect(primary.dsn(), read_only=True) as itself:
            assert replicas.lag(p, itself, position, wait_s=0).startswith(
                "it is not a standby (pg_is_in_recovery() is false)")
        with connect(standby.dsn("template1"), read_only=True) as other_database:
            assert replicas.lag(p, other_database, position, wait_s=0).startswith(
                "it is database template1 of system ")
        with connect(standby.dsn(), read_only=True) as replica:
            assert replicas.lag(p, replica, position, wait_s=30) is None


def test_the_spread_is_round_robin_from_the_primary():
    assert replicas.spread(["a", "b", "c", "d", "e"], [None, "r1"]) == {
        "a": None, "b": "r1", "c": None, "d": "r1", "e": None}


def test_replica_variables_are_checked_as_the_primary_dsn_is(tmp_path, monkeypatch):
    profile = load_profile(str(profile_with_replica(tmp_path)), tmp_path)
    assert profile.database.replicas_env == (REPLICA_VAR,)
    assert f"replicas from ${REPLICA_VAR}" in profile.describe()
    with pytest.raises(ConfigError, match=rf"replicas_env names {REPLICA_VAR}, which is not "
                                          rf"set\. Hint: export {REPLICA_VAR}="):
        replica_settings.from_environment(profile, {})
    with pytest.raises(ConfigError, match="is not valid.*Hint:"):
        replica_settings.from_environment(profile, {REPLICA_VAR: "not a dsn"})
    text = profile.path.read_text()
    for wrong, said in ((f'["{REPLICA_VAR}", "{REPLICA_VAR}"]', "names a variable twice"),
                        ('["postgresql://db/x"]', "is not an environment variable's name"),
                        ('"R1"', "must be a non-empty list of strings")):
        path = tmp_path / "wrong.toml"
        path.write_text(text.replace(f'["{REPLICA_VAR}"]', wrong))
        with pytest.raises(ProfileError, match=f"replicas_env: .*{re.escape(said)}"):
            load_profile(str(path), tmp_path)
