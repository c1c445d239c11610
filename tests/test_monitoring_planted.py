"""`pytest checks/test_monitoring.py` on a quiet system passes, and each planted fault fails it
naming its source and its messages: an API whose login starts answering 500, an application
log with a burst of errors, a PostgreSQL log with ERROR lines."""
from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from examples.checkrun import failed, run_checks, vibes_copy

from rollbook.pg.connect import connect
from rollbook.runbook.service import vibes_service
from rollbook_vibes.faults import break_logins
from rollbook_vibes.seed import SEED_PASSWORD

MONITORING = ("test_monitoring.py",)
WATCHED = {"test_monitoring::test_error_log_within_baseline[app]",
           "test_monitoring::test_error_log_within_baseline[postgres]",
           "test_monitoring::test_service_error_rate_within_baseline",
           "test_monitoring::test_watch_stays_within_thresholds",
           "test_monitoring::test_monitoring_triggers_are_quiet"}
PLANTED_PASSWORD = "hunter2-planted"
LIVE_PROFILE = """\
[database]
dsn_env = "UNUSED_MONITORING_DSN"
[monitoring]
window_s = 2
interval_s = 1
log_window_s = 300
{extra}
"""


def _profile(tmp_path, extra: str) -> str:
    path = tmp_path / "live.toml"
    path.write_text(LIVE_PROFILE.format(extra=extra))
    return str(path)


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def test_a_quiet_system_passes_every_monitoring_check(pytester, monkeypatch):
    """The default profile: its own server, service, logs and /metrics, all read."""
    result, found = run_checks(pytester, monkeypatch, modules=MONITORING)
    assert not failed(found), result.stdout.str()[-3000:]
    assert {t for t in WATCHED if found.get(t) == "passed"} == WATCHED, found
    checks_md = next((pytester.path / "reports").glob("*/checks.md")).read_text()
    assert "application log" in checks_md and "PostgreSQL log" in checks_md
    assert "/metrics: 0 of" in checks_md and "samples every 1 s over 3 s" in checks_md


def test_an_endpoint_answering_500_fails_naming_it(pytester, monkeypatch, vibes, tmp_path):
    with vibes_service(vibes, log_path=tmp_path / "service.log") as api:
        with connect(vibes) as conn:
            break_logins(conn)  # after the rollback, every login answers 500
        monkeypatch.setenv("SMOKE_PASSWORD", SEED_PASSWORD)
        profile = _profile(tmp_path, f'metrics_url = "{api.base_url}/metrics"\n'
                           f'app_log = "{api.app_log}"\n'
                           f'[api]\nbase_url = "{api.base_url}"\nrequests = 4\n'
                           'smoke_email = "user1@example.com"\n'
                           'smoke_password_env = "SMOKE_PASSWORD"\n')
        result, found = run_checks(pytester, monkeypatch, "--env", profile, "--dsn", vibes,
                                   modules=MONITORING)
    output = result.stdout.str()
    assert {"test_monitoring::test_service_error_rate_within_baseline",
            "test_monitoring::test_monitoring_triggers_are_quiet",
            "test_monitoring::test_error_log_within_baseline[app]"} <= failed(found), output
    assert "answered 5xx" in output and "failing: /api/v1/auth/login 4/4" in output
    assert "FIRED  Critical  smoke login" in output
    assert "planted: session insert fails" in output  # the application log's top message


def test_error_bursts_in_the_logs_fail_naming_source_and_messages(pytester, monkeypatch,
                                                                  pg_server, vibes, tmp_path):
    if getattr(pg_server, "log_path", None) is None:
        pytest.skip("this server backend keeps no log file rollbook can read")
    app_log = tmp_path / "application.log"
    now = dt.datetime.now(dt.timezone.utc)
    app_log.write_text("".join(
        json.dumps({"ts": (now - dt.timedelta(seconds=i)).isoformat(), "level": "ERROR",
                    "message": f"payment worker: connect failed, password={PLANTED_PASSWORD}"})
        + "\n" for i in range(25)))
    with connect(vibes) as conn:
        for _ in range(3):  # three ERROR lines in the server's log
            with pytest.raises(psycopg.errors.RaiseException):
                conn.execute("DO $$ BEGIN RAISE EXCEPTION 'planted rollback error'; END $$")
    profile = _profile(tmp_path, f'app_log = "{app_log}"\npostgres_log = "{pg_server.log_path}"')
    result, found = run_checks(pytester, monkeypatch, "--env", profile, "--dsn", vibes,
                               modules=MONITORING)
    output = result.stdout.str()
    assert {"test_monitoring::test_error_log_within_baseline[app]",
            "test_monitoring::test_error_log_within_baseline[postgres]"} <= failed(found), output
    assert f"application log {app_log}: 25 error lines" in output
    assert "25x payment worker: connect failed, password=***" in output
    assert f"PostgreSQL log {pg_server.log_path}:" in output
    assert "planted rollback error" in output
    reports = pytester.path / "reports"
    assert not [p for p in reports.rglob("*") if p.is_file()
                and PLANTED_PASSWORD in p.read_text(errors="replace")]

