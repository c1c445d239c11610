"""Fault drill: the downgrade of one revision killed (SIGKILL) just before each of its
statements in turn, every one on a fresh copy of the same database.

The revision is the profile's `[drill] crash_revision` (Vibes: 0002, the UUID migration; else
the head). A database at its parent, seeded, baselined and upgraded, with rows written on the
revision, is the template; an uninterrupted downgrade of one copy counts the statements and
shows what a downgrade leaves. Then for every statement k, a copy is downgraded by a process
that kills itself just before k, and the drill shows: the revision the database says it is at
and that it is wholly there (schema and content as at that revision, no half state), that a
second downgrade converges to what the uninterrupted one left, and how long recovery took.
One row per statement in the record; any half state or divergence fails the drill, one line
per crash point. `--scale` chooses the data (tiny in CI, 1m in the scheduled drill).
"""
from __future__ import annotations

import allure
import pytest

from rollbook.errors import ConfigError
from rollbook.measure import baseline, catalog
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.drill import DrillFailure
from rollbook.pytest_plugin.revision_walk import (
    copy_of_parent,
    templates_for,
    upgrade,
    write_rows,
    writer_for,
)
from rollbook.record.clock import format_duration
from rollbook.runbook.crash_points import Expected, Rehearsal, judge
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.revisions import chosen
from rollbook.settings.target import project_config

pytestmark = pytest.mark.drill
SHOWN_PROBLEMS = 20


@pytest.fixture
def crash_databases(pg_server, seed_scale, drill):
    """The parent templates and the drill's copies, dropped when the drill ends."""
    templates = templates_for(pg_server, drill.profile, seed_scale)
    names: list[str] = []
    yield templates, names
    for name in names:
        pg_server.drop_database(name)
    templates.close()


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_downgrade_killed_before_every_statement(drill, pg_server, crash_databases):
    """Every crash point of a downgrade: killed before each statement, then downgraded again."""
    templates, names = crash_databases
    profile = drill.profile
    if profile.alembic.ini is None:
        pytest.skip("the profile names no Alembic project ([alembic] ini)")
    history = Migrations(project_config(profile.alembic), "")
    revision = profile.drill.crash_revision or history.heads()[0]
    try:
        steps, refusal = chosen(history, (revision,)), None
    except ConfigError as exc:
        steps, refusal = [], exc.one_line().replace("[drill] revisions", "[drill] crash_revision")
    if refusal:  # outside the except: one line, no chained traceback
        pytest.fail(refusal, pytrace=False)
    (step,) = steps
    drill.fact("revision_before", step.revision)

    template_name, parent = copy_of_parent(drill, templates, step)
    names.append(template_name)
    dsn = pg_server.dsn(template_name)
    upgrade(drill, templates.migrations(dsn), step)
    written = write_rows(drill, dsn, writer_for(profile), step).rows
    kept = {t: n for t, n in written.items() if t in parent.baseline.tables}

    with drill.step(f"Remember the database at {step.revision}: schema, counts, "
                    "fingerprints") as log:
        with connect(dsn, read_only=True) as conn:
            at_revision = baseline.capture(conn, [step.revision], profile.schemas)
        log.detail = (f"{len(at_revision.tables)} tables, "
                      f"{sum(t.rows for t in at_revision.tables.values()):,} rows")
    rehearsal = Rehearsal(pg_server, template_name, profile.alembic, step.parent,
                          drill.workspace, profile.schemas)

    with drill.phase("Database Rollback") as log:  # the downgrade as it runs uninterrupted
        reference = rehearsal.copy()
        names.append(reference)
        sent, elapsed = rehearsal.uninterrupted(reference)
        with connect(pg_server.dsn(reference), read_only=True) as conn:
            left_schema = catalog.snapshot(conn, profile.schemas)
        expected = {
            step.revision: Expected(step.revision, at_revision.schema_snapshot(), at_revision),
            step.parent: Expected(step.parent, left_schema, parent.baseline, kept)}
        drill.attach_json("statements of the downgrade", [vars(s) for s in sent])
        _, results = judge(pg_server.dsn(reference), {step.parent: expected[step.parent]},
                           profile.schemas)
        drill.checks(results)  # the downgrade itself must be sound before its crashes count
        log.detail = (f"uninterrupted downgrade {step.revision} -> {step.parent}: "
                      f"{len(sent)} statements in {format_duration(elapsed)}; "
                      f"{len(results)} checks against the baseline at {step.parent} passed")

    points = []
    with drill.step(f"Kill the downgrade before each of its {len(sent)} statements") as log:
        for number in range(1, len(sent) + 1):
            with allure.step(f"Killed before statement {number}: {sent[number - 1].sql}"):
                point = rehearsal.crash_at(number, expected)
                drill.attach_json("crash point", {
                    **point.row(), "second downgrade": point.second_downgrade,
                    "after the kill": [r.to_dict() for r in point.left if not r.ok],
                    "after the second downgrade": [r.to_dict() for r in point.converged
                                                   if not r.ok],
                    "rows unlike the uninterrupted downgrade's": [
                        r.to_dict() for r in point.unlike_uninterrupted]})
            points.append(point)
            drill.progress(" · ".join(point.row().values()))
        log.detail = (f"{sum(p.wholly_at_one_revision for p in points)} of {len(points)} "
                      f"wholly at one revision, {sum(p.has_converged for p in points)} "
                      "converged")
    drill.table(f"Crash points of the {step.revision} downgrade", [p.row() for p in points])
    longest = max(points, key=lambda p: p.recovery_s)
    drill.fact("revision_after", step.parent)
    drill.fact("crash_points", len(points))
    drill.fact("longest_recovery", f"{format_duration(longest.recovery_s)} (killed before "
               f"statement {longest.killed_at.number})")

    with drill.step("Every crash point left one revision and converged",
                    covers=("Data integrity verified",)) as log:
        problems = [line for p in points for line in p.problems()]
        objective = drill.record.clock.objectives_s.get("Database Rollback")
        problems += [f"killed before statement {p.killed_at.number}: recovery took "
                     f"{format_duration(p.recovery_s)}, over the Database Rollback objective "
                     f"{format_duration(objective)}" for p in points
                     if objective is not None and p.recovery_s > objective]
        if problems:
            shown = problems[:SHOWN_PROBLEMS]
            more = len(problems) - len(shown)
            half = sum(not p.wholly_at_one_revision for p in points)
            diverged = sum(not p.has_converged for p in points)
            raise DrillFailure(
                f"{step.revision}: of {len(points)} crash points of its downgrade, {half} left "
                f"the database half-way between revisions and {diverged} did not converge on a "
                f"second downgrade:\n" + "\n".join(shown)
                + (f"\n(and {more} more lines in the record)" if more else ""))
        log.detail = (f"all {len(points)} crash points: wholly at one revision, converged; "
                      f"longest recovery {format_duration(longest.recovery_s)}")
