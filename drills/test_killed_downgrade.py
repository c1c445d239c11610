"""Fault drill: the rollback process is killed with SIGKILL in the middle of `alembic downgrade`.

A long reader holds a lock on the last table the downgrade rebuilds, so the downgrade is caught
mid-way with half the tables already renamed inside its transaction; then it is killed. The
database must be wholly at one revision (never half), and a second downgrade must complete
with no row lost.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure import catalog
from rollbook.measure.impact import table_counts
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.runbook.alembic_process import (
    AlembicProcess,
    holding_lock,
    wait_for_backend_gone,
    wait_for_blocked_backend,
)
from rollbook.verdicts import schema
from rollbook_vibes.migrations_config import INI_PATH, REVISION_UUID, URL_ENV_VAR, sqlalchemy_url

pytestmark = pytest.mark.drill
BLOCKED_TABLE = "user_sessions"  # the downgrade renames it last


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_downgrade_killed_midway_leaves_one_revision(drill, pg_server, drill_database,
                                                     seed_scale):
    """SIGKILL in the middle of alembic downgrade -1, then a second downgrade."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    back_up_current_state(drill, prepared)
    url = sqlalchemy_url(prepared.dsn).render_as_string(hide_password=False)

    with drill.step("Record the UUID schema and counts before the attempt"):
        with connect(prepared.dsn, read_only=True) as conn:
            uuid_schema = catalog.snapshot(conn)
            counts_before, _ = table_counts(conn)

    with drill.phase("Database Rollback"):
        with holding_lock(prepared.dsn, BLOCKED_TABLE) as reader_pid:
            with drill.step("Start `python -m alembic downgrade -1` in its own process"):
                attempt = AlembicProcess(INI_PATH, "downgrade", "-1", url_env=URL_ENV_VAR,
                                         url=url).start()
            with drill.step(f"Catch it mid-way, blocked on {BLOCKED_TABLE}") as step:
                with connect(prepared.dsn, read_only=True) as conn:
                    caught = wait_for_blocked_backend(conn, exclude_pid=reader_pid)
                drill.attach_json("migration backend when killed", caught)
                assert caught["tables_locked_exclusively"], "caught before it changed anything"
                step.detail = (f"backend {caught['pid']} holds exclusive locks on "
                               f"{', '.join(caught['tables_locked_exclusively'])}")
            with drill.step("Kill the rollback process with SIGKILL") as step:
                code = attempt.kill()
                step.detail = f"alembic exited with {code}"
        with drill.step("The server ends the orphaned migration") as step:
            with connect(prepared.dsn, read_only=True) as conn:
                seconds = wait_for_backend_gone(conn, caught["pid"])
            step.detail = f"backend {caught['pid']} gone after {seconds:.2f} s"

        with drill.step("The database is wholly at one revision") as step:
            with connect(prepared.dsn, read_only=True) as conn:
                drill.checks([schema.schema_matches(conn, uuid_schema)])
                counts_after, _ = table_counts(conn)
            assert prepared.migrations.current() == [REVISION_UUID]
            assert counts_after == counts_before, "rows changed by the killed attempt"
            step.detail = (f"still at {REVISION_UUID}: schema identical to before the attempt, "
                           f"{sum(counts_after.values()):,} rows as before")

        with drill.step("Second `alembic downgrade -1`") as step:
            run = prepared.migrations.downgrade("-1")
            step.detail = migration_detail(run)
        drill.checklist.done("Database migration rolled back",
                             f"first attempt killed mid-way and rolled back by the server; "
                             f"{step.detail}")
    drill.fact("killed_attempt", f"SIGKILL while holding locks on "
                                 f"{len(caught['tables_locked_exclusively'])} tables")

    validate_after_rollback(drill, prepared, kept=prepared.added)
    drill.assert_within_objectives()
