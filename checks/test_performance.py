"""Performance: "Test query performance" with EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).

The runbook's queries (in the profile) and a primary-key lookup per table, each measured once
per session (the `key_query_measurements` fixture; the trigger checks read the same runs): the
plan uses the expected index, no key lookup Seq Scans, the median run is within the query's
budget, and it is not slower than at the baseline. A slowdown is judged with the spread of both
sides, the noise floor, and the plan's shape and buffers beside the time
(rollbook/verdicts/performance.py). Plans are attached to the report.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import performance

pytestmark = pytest.mark.check


def test_plan_uses_the_expected_index(checks_conn, checks_profile, key_query,
                                      key_query_measurements, check):
    """EXPLAIN ANALYZE: the expected indexes appear; a key lookup does not Seq Scan."""
    measured = key_query_measurements.of(checks_conn, key_query)
    check(performance.plan_verdict(checks_conn, key_query, measured,
                                   checks_profile.performance.small_table_pages))


def test_time_within_budget_and_baseline(checks_conn, checks_profile, checks_baseline,
                                         key_query, key_query_measurements, check):
    """Median run within budget; not slower than at the baseline (1.5x when the plan or its
    buffers changed, 3x when they did not: then the difference is the machine's)."""
    measured = key_query_measurements.of(checks_conn, key_query)
    entry = checks_baseline.plans.get(key_query.name) if checks_baseline else None
    check(performance.time_verdict(key_query, measured, entry, checks_profile))
