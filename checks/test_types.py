"""Key types: "Verify primary keys are back to integers" and "Check Data Types" (pg_typeof).

Every primary-key and foreign-key column has the type the baseline recorded for it (without a
baseline: the profile's key types), and so do a few stored values.
"""
from __future__ import annotations

import pytest

from rollbook.measure import inventory
from rollbook.verdicts import key_types

pytestmark = pytest.mark.check


def test_key_column_type(checks_conn, key_column, check):
    """The key column's declared type, and pg_typeof of sampled values, are as expected."""
    check(key_types.check_key_column(checks_conn, key_column.key, key_column.types))


def test_information_schema_id_columns(checks_conn, checks_profile, checks_baseline, check):
    """The runbook's information_schema.columns query: every `id` column has an id type.
    A Vibes expectation: only for a profile that declares it ([keys] id_columns = true)."""
    if not checks_profile.id_columns:
        pytest.skip("the profile does not declare that id columns have the key types "
                    "([keys] id_columns = true); key columns are judged by test_key_column_type")
    expected = inventory.id_column_types(checks_profile, checks_baseline)
    check(key_types.information_schema_ids(checks_conn, expected, checks_profile.schemas))
