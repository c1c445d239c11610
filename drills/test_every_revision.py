"""Drill: the downgrade of every chosen Alembic revision, rehearsed on data.

For each revision R the profile's `[drill] revisions` names ("all", "last N" or a list; default
"last 5") and its parent P: a copy of a database at P with seeded data and its baseline (one
template per parent, copied with CREATE DATABASE ... TEMPLATE), the upgrade to R, rows written
on R, the downgrade to P, then the operator checks against P's baseline (schema, the baseline
rows' content, counts with the rows kept, orphans, sequences). A downgrade that is missing,
raises or leaves a difference fails, one line per difference. Works on any Alembic project a
profile names: `pytest drills/test_every_revision.py --env path/to/profile.toml`.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.errors import RollbookError
from rollbook.pytest_plugin.locks import check_lock_footprint
from rollbook.pytest_plugin.profile import settings_for
from rollbook.pytest_plugin.revision_walk import (
    copy_of_parent,
    downgrade,
    revision_steps,
    templates_for,
    upgrade,
    validate,
    write_rows,
    writer_for,
)
from rollbook.runbook.revisions import Templates

pytestmark = pytest.mark.drill


def pytest_generate_tests(metafunc):
    """One drill per revision the session's profile chooses."""
    if "revision_step" not in metafunc.fixturenames:
        return
    try:
        steps, refusal = revision_steps(settings_for(metafunc.config).profile), None
    except RollbookError as exc:
        steps, refusal = [], exc.one_line()
    if refusal:  # outside the except: one line, no chained traceback
        pytest.fail(refusal, pytrace=False)
    metafunc.parametrize("revision_step", steps, ids=[step.id for step in steps])


@pytest.fixture(scope="module")
def parent_templates(pg_server, seed_scale, pytestconfig) -> Templates:
    """A migrated, seeded and baselined database per parent revision, made once, copied by
    every drill that starts from it, dropped when the module ends."""
    templates = templates_for(pg_server, settings_for(pytestconfig).profile, seed_scale)
    yield templates
    templates.close()


@pytest.fixture
def revision_database(pg_server):
    """Names the drill's copy of its parent; dropped when the drill ends."""
    names: list[str] = []
    yield names
    for name in names:
        pg_server.drop_database(name)


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_revision_downgrade_on_data(drill, pg_server, parent_templates, revision_database,
                                    revision_step):
    """One revision rolled back with alembic downgrade to its parent, on seeded data."""
    drill.fact("revision_before", revision_step.revision)
    drill.fact("parent", revision_step.parent or "<base>")
    database, template = copy_of_parent(drill, parent_templates, revision_step)
    revision_database.append(database)
    dsn = pg_server.dsn(database)
    migrations = parent_templates.migrations(dsn)
    migrations.locks = True  # this drill's upgrade and downgrade: the lock footprint

    upgrade(drill, migrations, revision_step)
    written = write_rows(drill, dsn, writer_for(drill.profile), revision_step, template)
    downgrade(drill, migrations, revision_step)
    check_lock_footprint(drill, migrations)
    drill.fact("revision_after", ",".join(migrations.current()) or "<base>")
    validate(drill, dsn, migrations, template, revision_step, written)
    drill.assert_within_objectives()
