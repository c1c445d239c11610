"""Schema: "Check table structure reverted", against the baseline, over the whole schema.

Table by table: columns, types, nullability, defaults, collations, table options, row-level
security, partitioning, constraints (with their foreign-key actions and deferrability),
indexes, owned sequences, triggers, policies, owner, grants and comments. Then, per kind, the
objects that belong to no table: schemas, extensions, types, views, functions, procedures,
free sequences, and their owners, grants and comments. A failure lists every difference, one
line each. Without a baseline, the profile's tables exist with a primary key.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import schema

pytestmark = pytest.mark.check


@pytest.fixture
def schema_comparison(measured):
    """The live schema compared with the baseline's once per run, for every test here and the
    Migration Incomplete trigger (None without a baseline)."""
    return measured.schema()


def test_table_matches_the_baseline(checks_conn, schema_comparison, table, check):
    """The table is as the baseline recorded it (or, without one, exists with a primary key)."""
    if schema_comparison is None:
        check(schema.table_present(checks_conn, table))
    else:
        check(schema.table_matches(checks_conn, schema_comparison.expected, table,
                                   schema_comparison))


@pytest.mark.parametrize("kind", schema.KINDS_OUTSIDE_TABLES)
def test_objects_outside_tables_match_the_baseline(schema_comparison, kind, check):
    """Objects of this kind that belong to no table are as the baseline recorded them."""
    if schema_comparison is None:
        pytest.skip("no baseline: there is nothing to compare them with")
    if not schema.recorded(schema_comparison.expected, kind):
        pytest.skip(f"the baseline did not record {kind} objects; {schema.RETAKE}")
    check(schema.kind_matches(schema_comparison, kind))


def test_every_kind_the_baseline_recorded_is_compared(checks_baseline, check):
    """A kind of object the baseline holds that this rollbook does not know is "not compared"."""
    if checks_baseline is None:
        pytest.skip("no baseline: there is nothing to compare")
    check(schema.kinds_compared(checks_baseline.schema))
