"""The Vibes API's own counters and the watch over a window: /metrics counts requests and 5xx
by route, the watch keeps every sample, and the monitoring triggers fire on what they watch
for (a crash or restart, deadlocks, lock waits, memory and CPU, a broken login) while a quiet
service keeps them quiet; `rollbook assess --reported` passes the triggers people raise."""
from __future__ import annotations

import threading
import time

import httpx
import psycopg
import pytest
from examples.checkrun import vibes_copy

from rollbook import cli
from rollbook.measure import metrics, observation, snapshot, watch
from rollbook.pg.connect import connect
from rollbook.runbook.service import vibes_service
from rollbook.settings.profile import Monitoring, Profile
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile
from rollbook.verdicts import monitoring, monitoring_signals
from rollbook_vibes.faults import break_logins
from rollbook_vibes.seed import SEED_PASSWORD

LOCAL = load_profile("local", BUILTIN_ENVS)


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture
def api(vibes, tmp_path):
    with vibes_service(vibes, log_path=tmp_path / "service.log") as service:
        yield service


def _observe(api, conn, window_s=2.0, on_sample=None) -> observation.Observation:
    found = watch.run(health_url=api.health_url, metrics_url=f"{api.base_url}/metrics",
                      conn=conn, window_s=window_s, interval_s=0.5, on_sample=on_sample)
    return observation.Observation({}, found)


def _fired(signals) -> dict[str, str]:
    return {s.runbook_trigger: s.measured for s in signals if s.fired}


def test_metrics_count_requests_and_errors_by_route(api):
    with httpx.Client(base_url=api.base_url, trust_env=False) as client:
        for user in ("1", "2", "not-a-number"):
            client.get(f"/api/v1/users/{user}")
        client.get("/nowhere")
        client.get("/metrics")
    scrape = metrics.scrape_once(f"{api.base_url}/metrics")
    assert scrape.error is None and scrape.rss_bytes > 0 and scrape.started_at > 0
    assert scrape.requests[("/api/v1/users/{user_id}", "GET", "200")] == 2
    assert scrape.requests[("/api/v1/users/{user_id}", "GET", "404")] == 1
    assert scrape.requests[("unmatched", "GET", "404")] == 1
    assert not any(k[0] == "/metrics" for k in scrape.requests)


def test_a_quiet_service_keeps_every_sample_and_every_trigger_quiet(api, vibes):
    with connect(vibes, read_only=True) as conn:
        observed = _observe(api, conn)
    assert len(observed.watch.samples) == 5  # at 0, 0.5, 1, 1.5 and 2 s
    assert all(s.healthy and s.database["active"] == 0 for s in observed.watch.samples)
    assert monitoring.watch_steady(observed.watch, 10).ok
    assert not _fired(monitoring_signals.measure(observed, LOCAL))


def test_a_crash_and_restart_seen_by_the_watch(api, vibes):
    def crash_then_restart(sample):
        if len(crash_then_restart.seen) == 1:
            api.kill()  # SIGKILL, as a crash
        if len(crash_then_restart.seen) == 2:
            api.start()
        crash_then_restart.seen.append(sample)
    crash_then_restart.seen = []

    with connect(vibes, read_only=True) as conn:
        observed = _observe(api, conn, window_s=3.0, on_sample=crash_then_restart)
    crashes = monitoring_signals.crashes(observed)
    assert crashes.fired and len(crashes.evidence["unanswered"]) == 1
    assert "1 restart(s)" in crashes.measured
    steady = monitoring.watch_steady(observed.watch, 10)
    assert not steady.ok and "1 of" in steady.summary and ": health ConnectError" in steady.summary


def test_deadlocks_and_lock_waits_fire_database_lock_issues(api, vibes):
    holder = psycopg.connect(vibes)
    holder.execute("LOCK TABLE tags IN ACCESS EXCLUSIVE MODE")
    waiters = [threading.Thread(target=_read_tags, args=(vibes,)) for _ in range(2)]
    for waiter in waiters:
        waiter.start()
    try:
        time.sleep(0.3)
        with connect(vibes, read_only=True) as conn:
            observed = _observe(api, conn, window_s=1.0)
    finally:
        holder.rollback()
        holder.close()
        for waiter in waiters:
            waiter.join(timeout=10)
    assert "lock waits in 3/3 samples" in _fired(
        monitoring_signals.measure(observed, LOCAL))["Database Lock Issues"]


def _read_tags(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM tags")


def test_memory_over_its_ceiling_fires_memory_cpu_spikes(api, vibes):
    with connect(vibes, read_only=True) as conn:
        observed = _observe(api, conn, window_s=1.0)
    tight = Profile(name="tight", path=LOCAL.path, monitoring=Monitoring(max_memory_mb=1))
    assert "memory" in monitoring_signals.resources(observed, tight).detail
    assert monitoring_signals.resources(observed, tight).fired
    assert not monitoring_signals.resources(observed, LOCAL).fired
    grown = monitoring_signals.resources(observed, LOCAL, baseline_rss_mb=10)
    assert grown.fired and "(baseline 10 MB)" in grown.measured


def test_assess_lists_people_reported_triggers_and_takes_them_in(pg_server, vibes, capsys):
    args = ["assess", "--env", "prod.example", "--dsn", vibes, "--no-api", "--no-watch",
            "--envs-dir", str(BUILTIN_ENVS)]
    # --no-api: the Critical smoke and crash triggers are not evaluated, so: could not verify
    assert cli.main(args) == cli.EXIT_NOT_VERIFIED
    quiet = capsys.readouterr().out
    assert "not evaluated  High      Data Loss Reports (reported by people)" in quiet
    assert "rollbook assess --reported 'Data Loss Reports'" in quiet

    assert cli.main([*args, "--reported", "security vulnerabilities"]) == cli.EXIT_ROLLBACK_DUE
    out = capsys.readouterr().out
    assert out.startswith("severity Critical")
    assert ("FIRED  Critical  Security Vulnerabilities (reported by people): measured "
            "reported") in out


def test_assess_refuses_a_trigger_nobody_reports(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["assess", "--reported", "Moon Phase"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'Moon Phase' is not a trigger people report. Hint: one of" in err
    assert "Traceback" not in err


def test_the_baseline_records_the_rates_before(api, vibes, tmp_path):
    app_log = tmp_path / "before.log"
    app_log.write_text("2030-01-01 00:00:00,000+0000 INFO vibes: nothing wrong\n")
    with connect(vibes) as conn:
        break_logins(conn)
    with httpx.Client(base_url=api.base_url, trust_env=False) as client:
        client.get("/api/v1/users/1")
        client.post("/api/v1/auth/login", json={"email": "user1@example.com",
                                                 "password": SEED_PASSWORD})
    profile = Profile(name="live", path=LOCAL.path, monitoring=Monitoring(
        metrics_url=f"{api.base_url}/metrics", app_log=app_log, postgres_log_sql=False))
    with connect(vibes, read_only=True) as conn:
        taken = snapshot.take(conn, profile)
    facts = taken.facts["monitoring"]
    assert facts["error_pct"] == 50.0 and facts["requests"] == 2 and facts["rss_mb"] > 0
    assert facts["logs_errors_per_min"] == {"app": 0.0} and facts["deadlocks"] == 0


def test_traffic_is_the_window_s_growth_or_since_the_start():
    key = ("/api/v1/journals", "POST", "201")
    error = ("/api/v1/journals", "POST", "500")
    first = metrics.Scrape("m", 0.0, {key: 10.0, error: 1.0}, started_at=100.0)
    grown = metrics.Scrape("m", 5.0, {key: 13.0, error: 2.0}, started_at=100.0)
    idle = metrics.Scrape("m", 5.0, {key: 10.0, error: 1.0}, started_at=100.0)
    restarted = metrics.Scrape("m", 5.0, {key: 2.0}, started_at=200.0)

    window = metrics.traffic(first, grown)
    assert (window.requests, window.errors, window.since) == (4.0, 1.0, "the window")
    assert window.failing() == ["/api/v1/journals"] and window.error_pct == 25.0
    assert metrics.traffic(first, idle).since == "the service's start"
    assert metrics.traffic(first, idle).requests == 11.0
    assert (metrics.traffic(first, restarted).requests,
            metrics.traffic(first, restarted).errors) == (2.0, 0.0)
    assert metrics.cpu_pct(first, restarted) is None


def test_maintenance_refusals_are_not_errors(vibes, tmp_path):
    flag = tmp_path / "maintenance.flag"
    flag.write_text("on")
    with vibes_service(vibes, maintenance_file=flag, log_path=tmp_path / "service.log") as api:
        with httpx.Client(base_url=api.base_url, trust_env=False) as client:
            assert client.get("/api/v1/users/1").status_code == 503
            text = client.get("/metrics").text
        scrape = metrics.parse(text, "m", 0.0)
    # the service's start waited on /health; the 503 maintenance answered on purpose is no
    # traffic and no error
    assert set(scrape.requests) == {("/health", "GET", "200")}
    assert ('vibes_maintenance_refusals_total{endpoint="/api/v1/users/{user_id}",'
            'method="GET"} 1.0') in text


def test_rollbook_profile_says_where_the_monitoring_looks(capsys):
    assert cli.main(["profile", "--env", "local", "--envs-dir", str(BUILTIN_ENVS)]) == 0
    assert ("monitoring: watch 3 s every 1 s; error logs over 300 s: application the started "
            "service's own, PostgreSQL the embedded server's; metrics the started service's "
            "/metrics") in capsys.readouterr().out
