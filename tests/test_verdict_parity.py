"""The drill's validation and `pytest checks/` reach the same verdict, family by family, on the
same rolled-back Vibes database: clean, then with one planted defect at a time.

The database is taken through the drill's path (0001, seed, baseline as `rollbook snapshot`
takes it, 0002, writes on UUID, `alembic downgrade -1`); each test gets a fresh copy of it under
the baseline's own database name, plants its defect, and runs both: the drill's validation
in-process and the operator's checks as a subprocess (pytester).
"""
from __future__ import annotations

import dataclasses

import pytest
from examples.checkrun import failed, run_checks
from psycopg import sql

from rollbook.measure import snapshot
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile
from rollbook.settings.target import checks_connection, expected_revision
from rollbook.verdicts import assess, validation
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import seed
from rollbook_vibes.traffic import write_on_uuid

ENV = "prod.example"
NAME, TEMPLATE = "rb_parity", "rb_parity_rolled_back"
MODULES = tuple(f"test_{family}.py" for family in validation.FAMILIES)
ORPHAN = ("SET session_replication_role = replica;"
          " INSERT INTO journals (user_id, title, content) VALUES (999999, 'orphan', 'x')")

DEFECTS = {  # defect -> (SQL that plants it, families that must fail, a line both must print)
    "wrong revision": (  # the operator's session refuses to start; see operator_checks
        "UPDATE alembic_version SET version_num = '0002'", {"preflight", "content"},
        "the database is at revision 0002, expected 0001"),
    "key column type changed": (
        "ALTER TABLE reminders ALTER COLUMN journal_id TYPE bigint", {"types", "schema"},
        "reminders.journal_id (foreign key -> journals.id) is bigint, expected integer"),
    "key left as uuid by a half-done rollback": (
        "ALTER TABLE user_sessions ALTER COLUMN id DROP DEFAULT,"
        " ALTER COLUMN id TYPE uuid USING gen_random_uuid()",
        {"types", "schema", "counts", "orphans", "content"},
        "user_sessions.id: key type changed: integer at baseline, uuid now"),
    "lost row": (
        "DELETE FROM audit_logs WHERE id = 1", {"counts", "content"},
        "audit_logs: 1 baseline rows lost"),
    "changed row": (
        "UPDATE journals SET title = title || '!' WHERE id = 1", {"content"},
        "journals: baseline rows (id <= "),
    "orphan": (ORPHAN, {"orphans"}, "1 orphan row in journals"),
    "dropped foreign key with an orphan behind it": (
        f"ALTER TABLE journals DROP CONSTRAINT journals_user_id_fkey; {ORPHAN}",
        {"schema", "orphans"},
        "1 orphan row in journals: journals.user_id -> users.id has no parent"),
    "sequence behind max(id)": (
        "SELECT setval('users_id_seq', 1)", {"orphans"},
        "users_id_seq is behind: next value 2"),
    "dropped index": ("DROP INDEX ix_reminders_due", {"schema"}, "ix_reminders_due"),
}


@pytest.fixture(scope="module")
def rolled_back(pg_server, tmp_path_factory):
    """A template database rolled back as the main drill rolls it back, the baseline file
    taken from it at 0001 (under NAME, the name its copies get), and the rows written on UUID."""
    profile = load_profile(ENV, BUILTIN_ENVS)
    pg_server.create_database(NAME, drop_existing=True)
    dsn = pg_server.dsn(NAME)
    migrations = Migrations(alembic_config(dsn), dsn)
    migrations.upgrade(REVISION_INTEGER)
    seed(dsn, "tiny")
    with checks_connection(profile, dsn) as conn:
        before = snapshot.take(conn, profile)
    path = before.save(tmp_path_factory.mktemp("parity") / "baseline.json")
    migrations.upgrade(REVISION_UUID)
    with connect(dsn) as conn:
        added = write_on_uuid(conn)
    migrations.downgrade("-1")
    pg_server.drop_database(TEMPLATE)
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(TEMPLATE), sql.Identifier(NAME)))
    yield profile, before, path, added
    pg_server.drop_database(NAME)
    pg_server.drop_database(TEMPLATE)


@pytest.fixture
def copy(pg_server, rolled_back):
    """A fresh copy of the rolled-back database, under the baseline's database name."""
    pg_server.drop_database(NAME)
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(NAME), sql.Identifier(TEMPLATE)))
    return pg_server.dsn(NAME), *rolled_back


def drill_validation(dsn, profile, before, added=None) -> dict[str, list]:
    """The drill's validation; `added` None is the operator's view (no rows known)."""
    return validation.validate_rollback(
        dsn, profile=profile, migrations=Migrations(alembic_config(dsn), dsn), baseline=before,
        expected_revision=expected_revision(profile, before), added=added)


def failing_families(results: dict[str, list]) -> set[str]:
    return {family for family, found in results.items() if any(not r.ok for r in found)}


def family(test: str) -> str:
    return test.split("::")[0].removeprefix("test_")


def operator_checks(pytester, monkeypatch, dsn, path):
    """`pytest checks/` over the validation's families: (result, families that failed), or
    (result, None) when the session refused to start (its preflight guard, exit status 4)."""
    result, found = run_checks(pytester, monkeypatch, "--env", ENV, "--dsn", dsn,
                               "--baseline", str(path), modules=MODULES)
    if result.ret == pytest.ExitCode.USAGE_ERROR:
        return result, None
    assert {family(test) for test in found} == set(validation.FAMILIES), result.stdout.str()
    return result, {family(test) for test in failed(found)}


def test_clean_rollback_passes_both_ways(copy, pytester, monkeypatch):
    dsn, profile, before, path, added = copy

    exact = drill_validation(dsn, profile, before, added)
    result, checks_failed = operator_checks(pytester, monkeypatch, dsn, path)

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert failing_families(exact) == set() == checks_failed
    assert set(exact) == {module.removeprefix("test_").removesuffix(".py") for module in MODULES}
    assert all(exact.values())  # every family judged something


@pytest.mark.parametrize("defect", DEFECTS)
def test_planted_defect_gets_the_same_verdict_per_family(copy, pytester, monkeypatch, defect):
    dsn, profile, before, path, _ = copy
    statement, expected, message = DEFECTS[defect]
    with connect(dsn) as conn:
        conn.execute(statement)

    drill = drill_validation(dsn, profile, before)
    result, checks_failed = operator_checks(pytester, monkeypatch, dsn, path)

    if checks_failed is None:  # refused before any check: preflight failed, nothing else judged
        assert "preflight" in failing_families(drill) == expected
    else:
        assert failing_families(drill) == checks_failed == expected, result.stdout.str()[-3000:]
    summaries = [r.summary for found in drill.values() for r in found if not r.ok]
    assert any(message in s for s in summaries), summaries
    output = result.stdout.str() + result.stderr.str()
    assert message in output
    assert "Traceback" not in output and "psycopg.errors" not in output


def test_counts_are_exact_in_a_drill_only(copy, pytester, monkeypatch):
    """The drill knows the rows it kept: one row nobody wrote fails its counts, while the
    operator, who knows no such thing, sees rows added since."""
    dsn, profile, before, _, added = copy
    with connect(dsn) as conn:
        conn.execute("INSERT INTO tags (user_id, name) VALUES (1, 'written by nobody')")

    exact = drill_validation(dsn, profile, before, added)
    operator_view = drill_validation(dsn, profile, before)

    assert failing_families(exact) == {"counts"} and failing_families(operator_view) == set()
    [summary] = [r.summary for r in exact["counts"] if not r.ok]
    assert summary.endswith(f"({before.tables['tags'].rows} baseline + {added.get('tags', 0)}"
                            " kept): 1 rows nobody accounts for")


def test_the_orphan_trigger_searches_the_baseline_keys_too(copy):
    """A foreign key the rollback dropped is still searched by the Data Integrity trigger."""
    dsn, profile, before, _, _ = copy
    with connect(dsn) as conn:
        conn.execute(DEFECTS["dropped foreign key with an orphan behind it"][0])

    with checks_connection(profile, dsn) as conn:
        signals = assess.measure(conn, profile, None, before)
        without_baseline = assess.measure(conn, profile, None, None)

    [orphans] = [s for s in signals if s.runbook_trigger == "Data Integrity Issues"]
    assert orphans.fired and orphans.measured.startswith("1 orphans in 1 of ")
    assert "journals.user_id -> users.id has no parent" in orphans.detail
    [blind] = [s for s in without_baseline if s.runbook_trigger == "Data Integrity Issues"]
    assert not blind.fired  # the live catalog alone no longer has that key


def md5_digest(conn, table: str, key: str | None, key_max: int | None) -> str:
    """A table's digest as rollbook computed it before the algorithm was recorded."""
    columns = [r[0] for r in conn.execute(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attname", [table]).fetchall()]
    row = sql.SQL(", ").join(sql.Identifier("t", c) for c in columns)
    where = (sql.SQL(" WHERE {} <= {}").format(sql.Identifier("t", key), sql.Literal(key_max))
             if key_max is not None else sql.SQL(""))
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        total = conn.execute(sql.SQL(
            "SELECT coalesce(sum(('x' || left(md5(ROW({})::text), 16))::bit(64)::bigint), 0)"
            " FROM {} AS t{}").format(row, sql.Identifier(table), where)).fetchone()[0]
    return format(int(total) % 2 ** 64, "016x")


def test_an_older_md5_baseline_is_still_read_and_used(copy):
    """A manifest from before the algorithm was recorded (md5 digests, no algorithm field):
    its run digests with md5, and a clean rollback still matches it."""
    dsn, profile, before, _, _ = copy
    with connect(dsn) as conn:
        tables = {name: dataclasses.replace(t, digest=md5_digest(conn, name, t.key, t.key_max))
                  for name, t in before.tables.items()}
    legacy = dataclasses.replace(before, tables=tables, facts={}, recorded_algorithm=None)
    assert "digest_algorithm" not in legacy.to_dict() and legacy.digest_algorithm == "md5"

    results = drill_validation(dsn, profile, legacy)

    assert failing_families(results) == set()
    assert {r.observed["algorithm"] for r in results["content"]} == {"md5"}


def test_the_triggers_read_the_orphan_searches_validation_ran(copy, monkeypatch):
    """The drill's steady state shares validation's measurements of the same database state:
    the orphan searches validation ran (on its second connection) are what the orphan trigger
    reads, none run again, and a planted orphan fires it."""
    from rollbook.measure import inventory
    from rollbook.verdicts import orphans, triggers

    dsn, profile, before, _, added = copy
    with connect(dsn) as conn:
        conn.execute(ORPHAN)
    with validation.rollback_checked(
            dsn, profile=profile, migrations=Migrations(alembic_config(dsn), dsn),
            baseline=before, expected_revision=expected_revision(profile, before),
            added=added) as (families, run):
        def searched_again(conn, fk):
            raise AssertionError(f"{fk.describe()} searched again")

        monkeypatch.setattr(orphans, "find_orphans", searched_again)
        keys = inventory.build(run.conn, profile, before).foreign_keys
        shared = [run.measured.orphans(fk) for fk in keys]
    found = {r.name: r for r in families["orphans"]}
    assert [(r.ok, r.summary) for r in shared] == [(found[r.name].ok, found[r.name].summary)
                                                   for r in shared]
    signal = triggers.orphans(shared)
    assert signal.fired and "1 orphans in 1 of" in signal.measured, signal.measured
