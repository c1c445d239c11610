"""Pre-flight: the runbook's "Verify database connectivity" and "Check migration status".

The session already refused to start on a wrong revision or several heads; these tests put the
evidence (server version, read-only session, alembic current, heads, history) in the report.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import preflight

pytestmark = pytest.mark.check


def test_server_answers(checks_conn, check):
    """psql -c "SELECT version();": the server answers and is PostgreSQL 12 or newer."""
    check(preflight.server(checks_conn))


def test_session_cannot_write(checks_conn, checks_profile, check):
    """The checks' session is read-only, with a statement and a lock timeout."""
    check(preflight.session_is_read_only(checks_conn, checks_profile.database.application_name))


def test_alembic_current_is_the_expected_revision(checks_conn, checks_target, check):
    """python -m alembic current: the database is at the revision the rollback must leave."""
    check(preflight.revision(checks_conn, checks_target.expected_revision()))


def test_alembic_scripts_have_a_single_head(checks_target, check):
    """The migration scripts have one head, so "the expected revision" is unambiguous (the
    scripts as the session's guard read them, once per run)."""
    if checks_target.scripts is None:
        pytest.skip("the profile names no Alembic project ([alembic] ini)")
    check(preflight.single_head(checks_target.scripts))


def test_alembic_history_knows_the_revision(checks_conn, checks_target, check):
    """python -m alembic history: current and expected revisions are in the history."""
    if checks_target.scripts is None:
        pytest.skip("the profile names no Alembic project ([alembic] ini)")
    check(preflight.history(checks_target.scripts, checks_conn,
                            checks_target.expected_revision()))
