"""Monitoring: "Monitor database performance" and "Database Lock Issues".

Active connections, sessions blocked on locks, long-open transactions, and the top statements
of pg_stat_statements (PostgreSQL 12 and 13+ column names) when the extension is installed.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import monitoring

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
