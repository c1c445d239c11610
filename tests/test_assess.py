"""`rollbook assess`: every trigger measured on a live database and API, the matrix's decision
printed, exit 3 only when an automatic rollback is due."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from examples.checkrun import snapshot, vibes_copy, with_smoke_account

from rollbook import cli
from rollbook.measure import plans
from rollbook.measure.baseline import Baseline
from rollbook.net import free_port
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.service import vibes_service
from rollbook.settings.profile import KeyQuery, Performance
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile
from rollbook.verdicts import assess, triggers
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.seed import SEED_PASSWORD

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def live(pg_server, tmp_path):
    """A Vibes database at 0001 with its baseline, and its API running."""
    name, dsn = vibes_copy(pg_server)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    with vibes_service(dsn, id_mode="integer") as api:
        yield dsn, baseline, api.base_url
    pg_server.drop_database(name)


def _assess(capsys, dsn, baseline, api_url, tmp_path, env: str = "prod.example"):
    output = tmp_path / "decision.json"
    api = ["--api-url", api_url] if api_url else ["--no-api"]
    code = cli.main(["assess", "--env", env, "--dsn", dsn, "--baseline",
                     str(baseline), *api, "--output", str(output),
                     "--envs-dir", str(BUILTIN_ENVS)])
    return code, capsys.readouterr(), json.loads(output.read_text()) if output.exists() else {}


def test_healthy_system_is_quiet_and_exits_zero(live, capsys, tmp_path, monkeypatch):
    """Every Critical trigger measured: the API smoke with a smoke account among them."""
    monkeypatch.setenv("VIBES_SMOKE_PASSWORD", SEED_PASSWORD)
    code, out, decision = _assess(capsys, *live, tmp_path,
                                  env=str(with_smoke_account(tmp_path, p95_ms=2000)))
    assert code == 0, out.out + out.err
    assert out.out.startswith("no trigger fired: No rollback: keep monitoring")
    names = {s["name"] for s in decision["signals"]}
    assert {"migration incomplete", "orphaned rows / foreign-key violations",
            "index corruption (amcheck)", "share of failing API endpoints",
            "API error rate above baseline",
            "query slower than baseline: user by id"} <= names
    assert not any(s["fired"] for s in decision["signals"])


def test_orphans_are_critical_and_exit_three(live, capsys, tmp_path):
    dsn = live[0]
    with connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("INSERT INTO journals (user_id, title, content) VALUES (99999, 'o', 'o')")
    code, out, decision = _assess(capsys, *live, tmp_path)
    assert code == cli.EXIT_ROLLBACK_DUE
    assert decision["severity"] == "Critical" and decision["action"] == "Automatic rollback"
    assert "FIRED  Critical  orphaned rows / foreign-key violations: measured 1 orphans" in out.out


SMOKE = ("smoke login", "smoke journal creation", "smoke journal listing and user lookup")


def test_without_a_smoke_account_the_critical_smoke_triggers_could_not_verify(live, capsys,
                                                                              tmp_path):
    """prod.example names no smoke account: login and journal creation are not tried, so
    User Authentication Issues and Critical Feature Breakdown are not evaluated; assess says
    so, naming the account (not the API, which answered), and exits 1, never 0."""
    code, out, decision = _assess(capsys, *live, tmp_path)
    assert code == cli.EXIT_NOT_VERIFIED, out.out
    assert out.out.startswith("no trigger fired, not all verified (impact Unknown, respond now): "
                           "Could not verify")
    assert {"smoke login", "smoke journal creation"} <= set(decision["could_not_verify"])
    line = next(x for x in out.out.splitlines() if "  smoke login:" in x)
    assert line.strip().startswith("could not verify  Critical  smoke login: measured not run")
    assert line.endswith("— a read-only profile with no smoke account: writes are not run (name "
                         "one with [api] smoke_email and smoke_password_env)"), line
    assert "API" not in line.split(" — ", 1)[1].replace("[api]", "")
    assert "Security Vulnerabilities (reported by people)" not in decision["could_not_verify"]


def test_without_an_api_the_smoke_triggers_name_the_api(live, capsys, tmp_path):
    dsn, baseline, _ = live
    code, out, decision = _assess(capsys, dsn, baseline, None, tmp_path)
    assert code == cli.EXIT_NOT_VERIFIED
    assert set(SMOKE) <= set(decision["could_not_verify"])
    assert "service crashes and restarts" in decision["could_not_verify"]
    for name in SMOKE:
        line = next(x for x in out.out.splitlines() if f"  {name}:" in x)
        assert line.endswith("— no API was called. Hint: pass --api-url or set [api] base_url "
                             "in the profile"), line


def test_only_critical_unevaluated_triggers_leave_the_system_unverified():
    quiet = triggers.Signal("q", "Data Integrity Issues", triggers.CRITICAL, 0, "> 0", False)
    high = triggers.Signal("h", "Database Lock Issues", triggers.HIGH, "not sampled", "any",
                           False, evaluated=False)
    critical = dataclasses.replace(high, name="c", severity=triggers.CRITICAL)
    people = dataclasses.replace(critical, name="p", runbook_trigger="Security Vulnerabilities")
    decision = triggers.decide(assess.critical_must_be_measured([quiet, high, critical, people]))
    assert [s.name for s in decision.could_not_verify] == ["c"]
    assert decision.could_not_verify[0].detail == "not measured: not sampled"


def test_api_down_is_critical(live, capsys, tmp_path):
    dsn, baseline, _ = live
    code, out, _ = _assess(capsys, dsn, baseline, f"http://127.0.0.1:{free_port()}", tmp_path)
    assert code == cli.EXIT_ROLLBACK_DUE
    assert re.search(r"FIRED  Critical  share of failing API endpoints: measured (\d)/\1 "
                     r"\(100 %\)", out.out), out.out


def test_unexpected_revision_is_high_a_manual_decision(pg_server, capsys, tmp_path):
    name, dsn = vibes_copy(pg_server)
    try:
        baseline = snapshot(dsn, tmp_path / "baseline.json")
        Migrations(alembic_config(dsn), dsn).upgrade("0002")
        code, out, decision = _assess(capsys, dsn, baseline, None, tmp_path)
    finally:
        pg_server.drop_database(name)
    # High: a manual rollback decision within 15 minutes, not automatic; and on the UUID ids
    # the runbook's key queries fail (no min(uuid)), so their times cannot be verified
    assert code == cli.EXIT_NOT_VERIFIED
    assert decision["severity"] == "High"
    assert decision["response_time"] == "15 minutes"
    assert "at revision 0002, expected 0001" in out.out
    assert "query slower than baseline: user by id" in decision["could_not_verify"]
    assert re.search(r"could not verify  Critical  query slower than baseline: user by id: "
                     r"measured the query fails, threshold slower than the baseline — "
                     r"function min\(uuid\) does not exist", out.out), out.out


def test_assess_is_one_line_on_a_baseline_from_another_database(live, pg_server, capsys,
                                                                 tmp_path):
    _, baseline, api_url = live
    other, other_dsn = vibes_copy(pg_server)
    try:
        code, out, _ = _assess(capsys, other_dsn, baseline, api_url, tmp_path)
    finally:
        pg_server.drop_database(other)
    assert code == cli.EXIT_REFUSED
    assert out.err.count("\n") == 1 and "was taken from database" in out.err


def _slowdown_signals(conn, query: KeyQuery, baseline_plans: dict, queries=None):
    profile = dataclasses.replace(load_profile("prod.example", BUILTIN_ENVS), queries=(query,))
    baseline = Baseline(database={}, revision=[], schema={}, tables={}, sequences={},
                        plans=baseline_plans)
    return assess.slowdown_signals(conn, profile, baseline, queries)


def test_the_performance_trigger_reads_the_run_s_measurement(scratch_dsn):
    query = KeyQuery(name="count t", sql="SELECT count(*) FROM t")
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        measurements = plans.Measurements(Performance(repeats=3))
        at_baseline = measurements.of(conn, query).timing.to_dict()

        [signal] = _slowdown_signals(conn, query, {"count t": at_baseline}, measurements)

    assert not signal.fired and signal.evaluated
    # the very runs the time check judged, not new ones
    assert signal.evidence["now"] == at_baseline == signal.evidence["baseline"]
    assert signal.evidence["work"] == "same"


def test_a_key_query_that_fails_cannot_be_verified_and_a_baseline_without_time_is_said(
        scratch_dsn):
    gone = KeyQuery(name="gone", sql="SELECT * FROM no_such_table")
    here = KeyQuery(name="here", sql="SELECT 1")
    with connect(scratch_dsn, read_only=True) as conn:
        [failing] = _slowdown_signals(conn, gone, {"gone": {"sql": "x", "median_ms": 1.0}})
        [untimed] = _slowdown_signals(conn, here, {"here": {"sql": "SELECT 1",
                                                            "error": "permission denied"}})

    assert failing.failed and not failing.fired
    assert failing.line().strip().startswith("could not verify  Critical  query slower than "
                                             "baseline: gone: measured the query fails")
    assert triggers.decide([failing]).could_not_verify == [failing]
    assert not untimed.failed and not untimed.evaluated
    assert untimed.detail == "permission denied"
