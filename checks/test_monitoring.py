"""Monitoring: the runbook's "Post-Rollback Procedures / System Monitoring".

Active connections, sessions blocked on locks, long-open transactions, and the top statements
of pg_stat_statements (PostgreSQL 12 and 13+ column names) when the extension is installed;
the application's and PostgreSQL's error logs per minute against the baseline's window; the
service's own error rate from its /metrics; a watch over [monitoring] window_s (health,
metrics, database activity every interval_s, every sample attached); and the runbook's
remaining triggers measured from it (locks, CPU/memory, crashes, login, journal creation).
"""
from __future__ import annotations

import pytest

from rollbook.measure import observation
from rollbook.record.evidence import CheckResult
from rollbook.verdicts import monitoring, monitoring_signals

pytestmark = pytest.mark.check


def test_active_connections(checks_conn, checks_profile, check):
    """SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active', within the profile's limit."""
    check(monitoring.active_connections(checks_conn,
                                        checks_profile.monitoring.max_active_connections))


def test_no_session_blocked_on_a_lock(checks_conn, checks_profile, check):
    """No session has waited on another's lock longer than max_lock_wait_s."""
    check(monitoring.blocking_locks(checks_conn, checks_profile.monitoring.max_lock_wait_s))


def test_no_long_transaction(checks_conn, checks_profile, check):
    """No transaction has been open longer than max_transaction_age_s."""
    check(monitoring.long_transactions(checks_conn,
                                       checks_profile.monitoring.max_transaction_age_s))


def test_top_statements(checks_conn, checks_profile, check):
    """pg_stat_statements' top statements by total time; none called min_calls+ times averages
    over max_statement_mean_ms."""
    settings = checks_profile.monitoring
    result = check(monitoring.top_statements(checks_conn, settings.top_statements,
                                             settings.max_statement_mean_ms,
                                             min_calls=settings.min_calls))
    if not result.observed.get("present"):
        pytest.skip(result.summary)


@pytest.mark.parametrize("log", [observation.APP, observation.POSTGRES])
def test_error_log_within_baseline(post_rollback, checks_profile, checks_baseline, log,
                                   check):
    """`tail -f application.log | grep -i error` and the same for PostgreSQL's log: errors per
    minute over log_window_s, against the same window before the baseline."""
    reading = post_rollback.logs[log]
    facts = checks_baseline.facts.get("monitoring", {}) if checks_baseline else {}
    result = monitoring.log_errors(reading, allowance_per_min=checks_profile.monitoring
                                   .log_errors_per_min,
                                   points=checks_profile.triggers.error_rate_points,
                                   recorded_per_min=facts.get("logs_errors_per_min", {}).get(log))
    if reading.after is None:
        pytest.skip(result.summary)
    check(result)


def test_service_error_rate_within_baseline(post_rollback, checks_profile, checks_baseline,
                                            check):
    """The service's own 5xx share (its /metrics), against the baseline's."""
    if post_rollback.watch.metrics_url is None:
        pytest.skip("no /metrics to read: set [monitoring] metrics_url")
    facts = checks_baseline.facts.get("monitoring", {}) if checks_baseline else {}
    check(monitoring.service_error_rate(post_rollback.watch, facts.get("error_pct"),
                                        checks_profile.triggers.error_rate_points))


def test_watch_stays_within_thresholds(post_rollback, checks_profile, check):
    """`watch -n 30 curl .../health`: every sample of the window healthy and within limits;
    "Monitoring restored" rests on the whole window, not one sample."""
    check(monitoring.watch_steady(post_rollback.watch,
                                  checks_profile.monitoring.max_active_connections))


def test_monitoring_triggers_are_quiet(post_rollback, checks_profile, checks_baseline,
                                       api_report, check):
    """Database Lock Issues, Memory/CPU Spikes, Application Crashes, User Authentication
    Issues, Critical Feature Breakdown and Error Rate Increase by source, measured."""
    facts = checks_baseline.facts.get("monitoring", {}) if checks_baseline else {}
    signals = [s for s in monitoring_signals.measure(post_rollback, checks_profile, api_report,
                                                     baseline_facts=facts) if s.evaluated]
    check(*(CheckResult(f"trigger: {s.name}", not s.fired, s.line().strip(),
                        observed=s.to_dict()) for s in signals))
