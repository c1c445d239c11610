"""Schema: "Check table structure reverted", table by table, against the baseline.

Columns, types, nullability, defaults, constraints, indexes and owned sequences; a failure
lists every difference. Without a baseline, the profile's tables exist with a primary key.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import schema

pytestmark = pytest.mark.check


def test_table_matches_the_baseline(checks_conn, checks_baseline, table, check):
    """The table is as the baseline recorded it (or, without one, exists with a primary key)."""
    if checks_baseline is None:
        check(schema.table_present(checks_conn, table))
    else:
        check(schema.table_matches(checks_conn, checks_baseline.schema_snapshot(), table))


def test_sequences_owned_by_no_column_match_the_baseline(checks_conn, checks_baseline, check):
    """Free-standing sequences are as the baseline recorded them."""
    if checks_baseline is None:
        pytest.skip("no baseline: there is nothing to compare sequences with")
    check(schema.table_matches(checks_conn, checks_baseline.schema_snapshot(), None))
