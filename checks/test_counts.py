"""Counts: "Check record counts match pre-migration" and "Verify Data Integrity".

No baseline row lost (rows added since are reported, not failed), unique keys still unique
(the runbook's COUNT(DISTINCT email)), oldest and newest created_at where they were.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import counts

pytestmark = pytest.mark.check


def test_row_count(measured, checks_profile, table, check):
    """Never fewer rows than the baseline (or the profile's min_rows)."""
    check(counts.row_count(measured, table, checks_profile.tables.get(table)))


def test_unique_values(checks_conn, unique_key, check):
    """count(*) equals count(DISTINCT ...) for a unique key."""
    check(counts.unique_values(checks_conn, unique_key.table, unique_key.columns))


def test_oldest_and_newest(measured, time_column, check):
    """MIN(created_at) is the baseline's, MAX(created_at) at least the baseline's."""
    check(counts.time_range(measured, time_column.table, time_column.column))
