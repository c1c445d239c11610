"""Performance verdicts: plans judged from the one measurement of each key query; slowdowns
decided on evidence that holds on a shared machine (spreads, noise floor, the plan's shape and
buffers), shown both ways on a real seeded database: an unchanged one never cries wolf in 20
runs, a dropped index is caught in 20 of 20. And `pytest checks/` measures each key query once
for the performance checks and the trigger checks together."""
from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path

import pytest
from examples.checkrun import run_checks, snapshot, vibes_copy
from examples.plan_tables import items_and_big
from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql

from rollbook.measure import plans
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile import KeyQuery, Performance
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile
from rollbook.verdicts import performance
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.seed import seed

ROOT = Path(__file__).resolve().parents[1]
LOCAL = load_profile("local", BUILTIN_ENVS)
# The runbook's three key queries and thresholds, with prod.example's noise floor (1 ms): the
# local profile's 5 ms suits its tiny database, not the 100k journals these tests need.
PROFILE = dataclasses.replace(LOCAL, performance=dataclasses.replace(LOCAL.performance,
                                                                     noise_floor_ms=1.0))
JOURNALS_OF_ONE_USER = "journals of one user (users join journals)"
INDEX = "ix_journals_user_id_created_at"
RUNS = 20

LOOKUP = KeyQuery(name="item by id", sql="SELECT id, label FROM items WHERE id = %(id)s",
                  params="SELECT max(id) AS id FROM items", expect_indexes=("items_pkey",),
                  key_lookup=True)
THRESHOLDS = performance.Thresholds(max_ratio=1.5, same_plan_ratio=3.0, noise_floor_ms=5.0)
INDEXED = ("Nested Loop", "  Index Scan using users_pkey on users",
           "  Index Scan using ix_journals_user_id_created_at on journals")
SEQ_SCANNED = ("Nested Loop", "  Index Scan using users_pkey on users", "  Seq Scan on journals")


def timing(median_ms: float, *, spread_ms: float = 0.0, shape=INDEXED, buffers: int | None = 12,
           sql: str = "SELECT 1", legacy: str = "") -> plans.Timing:
    return plans.Timing(sql, (median_ms,) * 5, median_ms, spread_ms, shape, buffers,
                        ("users_pkey",), (), legacy)


# --- the slowdown decision, on made-up timings -------------------------------------------------

def test_same_plan_and_buffers_at_154x_is_the_machines_noise_not_a_rollback():
    """The issue's false alarm: 7.1 ms against a 4.6 ms baseline, nothing else changed."""
    found = performance.compare(timing(7.1), timing(4.6), THRESHOLDS)

    assert not found.slow and found.work == performance.SAME
    assert found.line() == (
        "7.100 ms (median of 5, spread 0.000) vs 4.600 ms at baseline (1.54x); same plan and "
        "buffers (12 vs 12): a slowdown is the machine's load, not the database's, below 3x; "
        "limit 15.000 ms = 3x the noise floor 5 ms (the baseline's 4.600 ms is below it)")


def test_a_changed_plan_is_real_at_the_runbooks_ratio():
    found = performance.compare(timing(9.0, shape=SEQ_SCANNED, buffers=2278), timing(0.8),
                                THRESHOLDS)

    assert found.slow and found.work == performance.CHANGED
    assert found.work_detail == (
        "plan changed: now Seq Scan on journals; no longer Index Scan using "
        "ix_journals_user_id_created_at on journals; 2278 buffers vs 12 at baseline (189.8x)")
    assert found.threshold() == ("7.500 ms = 1.5x the noise floor 5 ms (the baseline's 0.800 "
                                 "ms is below it)")


def test_many_more_buffers_with_the_same_plan_is_real():
    found = performance.compare(timing(20.0, buffers=40), timing(10.0, buffers=12), THRESHOLDS)
    assert found.slow and found.work_detail == "40 buffers vs 12 at baseline (3.3x)"


def test_the_ratio_is_judged_with_both_spreads():
    before = timing(10.0, spread_ms=1.0)
    jittery = performance.compare(timing(40.0, spread_ms=3.0), before, THRESHOLDS)
    steady = performance.compare(timing(40.0, spread_ms=0.1), before, THRESHOLDS)

    assert jittery.limit_ms == pytest.approx(3.0 * (10 + 2 * 1.0) + 2 * 3.0)  # 42 ms
    assert not jittery.slow and steady.slow
    assert steady.threshold() == ("36.200 ms = 3x the baseline's 10.000 ms + 2 spreads of "
                                  "1.000 + 2 spreads of now (0.100)")


def test_a_changed_plan_is_evidence_now_jitter_does_not_excuse():
    found = performance.compare(timing(20.0, spread_ms=3.0, shape=SEQ_SCANNED),
                                timing(10.0, spread_ms=1.0), THRESHOLDS)
    assert found.limit_ms == pytest.approx(1.5 * (10 + 2 * 1.0)) and found.slow


def test_other_bound_values_leave_the_buffers_uncompared_and_the_runbooks_ratio():
    found = performance.compare(timing(16.0, sql="SELECT 2"), timing(10.0), THRESHOLDS)
    assert found.work == performance.UNKNOWN and found.slow
    assert found.to_dict()["baseline_sql_differs"] is True


def test_an_older_baseline_is_compared_by_its_best_run_and_says_so():
    older = {"sql": "SELECT 1", "all_runs_ms": [4.6, 4.9], "execution_ms": 4.6,
             "shared_hit": 10, "shared_read": 2, "indexes": ["users_pkey"], "seq_scans": []}
    now = timing(7.1)
    now = dataclasses.replace(now, indexes=("users_pkey",))

    found = performance.compare(now, plans.Timing.from_baseline(older), THRESHOLDS)

    assert found.work == performance.SAME and not found.slow  # same indexes, same 12 buffers
    assert "vs 4.600 ms at baseline (its best run: an older baseline)" in found.measured()
    assert found.to_dict()["baseline_format"] == plans.LEGACY_BASELINE


@given(before_ms=st.floats(0.001, 10_000), factor=st.floats(0.1, 100),
       spread=st.floats(0, 0.5), changed=st.booleans())
def test_slowdown_rules_hold_for_any_times(before_ms, factor, spread, changed):
    before = timing(before_ms, spread_ms=before_ms * spread)
    now = timing(before_ms * factor, spread_ms=before_ms * factor * spread,
                 shape=SEQ_SCANNED if changed else INDEXED)

    found = performance.compare(now, before, THRESHOLDS)

    if found.slow:  # slow means beyond the limit that the work calls for, and past the floor
        assert now.median_ms > found.limit_ratio * THRESHOLDS.noise_floor_ms
        assert now.median_ms > found.limit_ratio * before.median_ms
    assert found.limit_ratio == (1.5 if changed else 3.0)
    slower = performance.compare(dataclasses.replace(now, median_ms=now.median_ms * 2), before,
                                 THRESHOLDS)
    assert slower.slow or not found.slow  # slower never turns a slowdown quiet


# --- plan and time verdicts on small real tables ----------------------------------------------

@pytest.fixture
def conn(scratch_dsn):
    yield from items_and_big(scratch_dsn)


def test_small_table_seq_scan_is_accepted_once_the_index_is_shown_usable(conn):
    measured = plans.measure(conn, LOOKUP, Performance(repeats=1))
    assert measured.plan.seq_scans == ["items"]  # 20 rows: the planner rightly prefers it

    result = performance.plan_verdict(conn, LOOKUP, measured, small_table_pages=64)

    assert result.ok, result.summary
    assert result.summary == ("item by id: small tables (items 1 pages) are Seq Scanned by "
                              "choice; with enable_seqscan off the plan uses items_pkey")
    assert plans.FORCE_INDEX_SQL in result.sql
    assert result.observed["forced_plan"]["Plan"]["Index Name"] == "items_pkey"


def test_seq_scan_on_a_big_table_fails_a_key_lookup(conn):
    query = KeyQuery(name="big by label", sql="SELECT id FROM big WHERE label = 'x'",
                     key_lookup=True)
    result = performance.plan_verdict(conn, query, plans.measure(conn, query, Performance()),
                                      small_table_pages=64)

    assert not result.ok
    assert result.summary.startswith("big by label: Seq Scan on big (big ")
    assert "forced_plan" not in result.observed  # a big table is not given the benefit


def test_missing_expected_index_fails_with_its_name(conn):
    query = KeyQuery(name="by id", sql="SELECT id FROM items WHERE id = 3",
                     expect_indexes=("items_id_idx",))

    result = performance.plan_verdict(conn, query, plans.measure(conn, query, Performance()), 64)

    assert not result.ok
    assert result.summary.startswith("by id: index items_id_idx does not exist; the plan does"
                                     " index items_id_idx not used")


def test_a_query_that_fails_is_a_failed_verdict_not_a_traceback(conn):
    query = KeyQuery(name="gone", sql="SELECT * FROM no_such_table")
    measured = plans.measure(conn, query, Performance())

    for result in performance.query_verdicts(conn, query, measured, PROFILE, None):
        assert not result.ok
        assert result.summary == ('gone: the query failed: relation "no_such_table" does not '
                                  "exist. Hint: run it in psql; the rollback may have left a "
                                  "table or column out")


def test_time_over_budget_fails(conn):
    query = KeyQuery(name="count big", sql="SELECT count(*) FROM big", budget_ms=0.001)

    result = performance.time_verdict(query, plans.measure(conn, query, Performance(repeats=2)),
                                      None, PROFILE)

    assert not result.ok
    assert "(median of 2) is over its budget of 0.001 ms" in result.summary
    assert len(result.observed["all_runs_ms"]) == 2


def test_time_against_a_baseline_that_could_not_time_the_query_says_so(conn):
    query = KeyQuery(name="count big", sql="SELECT count(*) FROM big")
    result = performance.time_verdict(query, plans.measure(conn, query, Performance()),
                                      {"sql": "SELECT 1", "error": "permission denied"}, PROFILE)
    assert result.ok and "the baseline holds no time for it (permission denied)" in result.summary


# --- 20 runs each way on 100k seeded journals --------------------------------------------------

@pytest.fixture(scope="module")
def seeded(pg_server):
    """Vibes at 0001 with 100k journals: enough that the index matters (a Seq Scan of journals
    takes several ms where the index takes well under one)."""
    name = f"rb_perf_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    Migrations(alembic_config(dsn), dsn).upgrade("0001")
    seed(dsn, "100k")
    with connect(dsn, read_only=True) as conn:
        baseline = plans.measure_for_baseline(conn, PROFILE.queries, PROFILE.performance)
    yield dsn, baseline
    pg_server.drop_database(name)


def _time_verdicts(conn, baseline) -> dict[str, object]:
    found = {}
    for query in PROFILE.queries:
        measured = plans.measure(conn, query, PROFILE.performance)
        found[query.name] = performance.time_verdict(query, measured, baseline.get(query.name),
                                                     PROFILE)
    return found


def test_an_unchanged_database_passes_the_time_verdict_20_runs_in_20(seeded):
    dsn, baseline = seeded
    failures = []
    with connect(dsn, read_only=True) as conn:
        for run in range(RUNS):
            failures += [f"run {run}: {r.summary}" for r in _time_verdicts(conn, baseline).values()
                         if not r.ok]
    assert failures == []


def test_a_dropped_index_fails_the_time_verdict_20_runs_in_20(seeded):
    dsn, baseline = seeded
    caught = []
    with connect(dsn) as conn, conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(INDEX)))  # rolled back
        for _ in range(RUNS):
            result = _time_verdicts(conn, baseline)[JOURNALS_OF_ONE_USER]
            caught.append(not result.ok and result.observed["slowdown"]["work"] == "changed")
    assert sum(caught) == RUNS, result.summary
    assert "plan changed: now Seq Scan on journals" in result.summary


# --- `pytest checks/`: one measurement per key query, and a broken one in one line ------------

@pytest.fixture
def checked(pg_server, pytester, monkeypatch, tmp_path):
    """run(after_snapshot) -> (result, outcomes, dsn's EXPLAIN calls of "journal count per
    user"): the performance and trigger checks of one session against a Vibes copy, with
    prod.example's queries at 4 repeats, its baseline taken before `after_snapshot` ran."""
    profile = re.sub(r"(?m)^repeats = \d+", "repeats = 4",
                     (BUILTIN_ENVS / "prod.example.toml").read_text())
    profile = re.sub(r'(?m)^ini = ".*"', f'ini = "{ROOT / "rollbook_vibes" / "alembic.ini"}"',
                     profile)
    env = tmp_path / "counted.toml"
    env.write_text(profile)
    name, dsn = vibes_copy(pg_server)

    def run(after_snapshot: str | None = None):
        baseline = snapshot(dsn, tmp_path / "baseline.json", env=str(env))
        with connect(dsn) as conn:
            if after_snapshot:
                conn.execute(after_snapshot)
            conn.execute("SELECT pg_stat_statements_reset()")
        result, found = run_checks(pytester, monkeypatch, "--env", str(env), "--dsn", dsn,
                                   "--baseline", str(baseline),
                                   modules=("test_performance.py", "test_triggers.py"))
        with connect(dsn) as conn:
            calls = conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE"
                " 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT u.email, COUNT(j.id)%%'"
            ).fetchone()[0]
        return result, found, calls

    yield run
    pg_server.drop_database(name)


def test_checks_measure_each_key_query_once_for_plan_time_and_trigger(checked):
    """The performance checks (plan and time) and the trigger checks of one session: the
    "journal count per user" query is EXPLAIN ANALYZEd `repeats` times in all (it was
    1 + repeats for the two performance tests and repeats again for the trigger)."""
    result, found, calls = checked()

    assert found["test_performance::test_time_within_budget_and_baseline"
                 "[journal count per user]"] == "passed", result.stdout.str()[-3000:]
    assert found["test_triggers::test_trigger_family_is_quiet[performance]"] == "passed"
    assert calls == 4


def test_a_key_query_the_rollback_broke_fails_its_checks_and_its_trigger(checked):
    """A column a key query reads is gone: its plan and time checks fail with the database's
    one line, and the performance trigger could not be verified (a failure, not a skip)."""
    result, found, _ = checked("ALTER TABLE journals RENAME COLUMN title TO headline")

    query = "journals of one user (users join journals)"
    for test in ("test_plan_uses_the_expected_index", "test_time_within_budget_and_baseline"):
        assert found[f"test_performance::{test}[{query}]"] == "failed"
    assert found["test_triggers::test_trigger_family_is_quiet[performance]"] == "failed"
    result.stdout.fnmatch_lines([
        f"{query}: the query failed: column j.title does not exist. Hint: run it in psql; the "
        "rollback may have left a table or column out",
        f"could not verify  Critical  query slower than baseline: {query}: measured the query "
        "fails, threshold slower than the baseline — column j.title does not exist"])
    assert "Traceback" not in result.stdout.str()
