"""Relationships: "Verify foreign key relationships" and "Check foreign key consistency".

Orphans for every foreign key in the catalog (and in the baseline) and every soft one the
profile declares; constraints left NOT VALID; invalid indexes; sequences behind max(id).
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import orphans

pytestmark = pytest.mark.check


def test_no_orphans(measured, foreign_key, check):
    """No child row's non-null key lacks its parent (NOT EXISTS anti-join in PostgreSQL)."""
    check(measured.orphans(foreign_key))


def test_constraints_are_validated(checks_conn, check):
    """No constraint is left NOT VALID: existing rows were checked against every one."""
    check(*orphans.not_valid_constraints(checks_conn))


def test_indexes_are_valid(checks_conn, check):
    """No index is left invalid (e.g. by an interrupted CREATE INDEX CONCURRENTLY)."""
    check(*orphans.invalid_indexes(checks_conn))


def test_sequence_is_ahead_of_its_column(checks_conn, owned_sequence, check):
    """The next value of a serial/identity sequence is past max(id): inserts will not collide."""
    check(orphans.sequence_ahead(checks_conn, owned_sequence))
