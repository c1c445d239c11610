"""Performance: "Test query performance" with EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).

The runbook's queries (in the profile) and a primary-key lookup per table: the plan uses the
expected index, no key lookup Seq Scans, and the best time is within the query's budget and
within query_slowdown_ratio (1.5) times the baseline's. Plans are attached to the report.
"""
from __future__ import annotations

import pytest

from rollbook.measure import plans

pytestmark = pytest.mark.check


def test_plan_uses_the_expected_index(checks_conn, checks_profile, key_query, check):
    """EXPLAIN ANALYZE: the expected indexes appear; a key lookup does not Seq Scan."""
    check(plans.plan_check(checks_conn, key_query, checks_profile.performance))


def test_time_within_budget_and_baseline(checks_conn, checks_profile, checks_baseline,
                                         key_query, check):
    """Best of N executions within budget and at most 1.5x the baseline's time."""
    check(plans.time_check(checks_conn, key_query, checks_profile.performance,
                           checks_baseline.plans if checks_baseline else None,
                           checks_profile.triggers.query_slowdown_ratio))
