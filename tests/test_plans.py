"""EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON): plans parsed, expected indexes asserted (small tables
proven with enable_seqscan off), times against budget and baseline."""
from __future__ import annotations

import pytest

from rollbook.measure import plans
from rollbook.pg.connect import connect
from rollbook.settings.profile import KeyQuery, Performance

LOOKUP = KeyQuery(name="item by id", sql="SELECT id, label FROM items WHERE id = %(id)s",
                  params="SELECT max(id) AS id FROM items", expect_indexes=("items_pkey",),
                  key_lookup=True)


@pytest.fixture
def conn(scratch_dsn):
    with connect(scratch_dsn) as rw:
        rw.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)")
        rw.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g")
        rw.execute("CREATE TABLE big (id int PRIMARY KEY, label text NOT NULL)")
        rw.execute("INSERT INTO big SELECT g, repeat('x', 80) || g"
                   " FROM generate_series(1, 50000) g")
        rw.execute("ANALYZE items; ANALYZE big")
    with connect(scratch_dsn, read_only=True) as ro:
        yield ro


def test_explain_is_parsed_into_nodes_times_and_buffers(conn):
    text = plans.bind(conn, LOOKUP)
    assert text == "SELECT id, label FROM items WHERE id = 20"

    plan = plans.explain(conn, "SELECT * FROM big WHERE id = 42")

    assert plan.indexes == ["big_pkey"] and plan.seq_scans == []
    assert plan.nodes[0]["type"] == "Index Scan" and plan.nodes[0]["rows"] == 1
    assert plan.execution_ms > 0 and plan.shared_hit + plan.shared_read >= 2
    assert plan.raw["Plan"]["Node Type"] == "Index Scan"


def test_small_table_seq_scan_is_accepted_once_the_index_is_shown_usable(conn):
    text = plans.bind(conn, LOOKUP)
    natural = plans.explain(conn, text)
    assert natural.seq_scans == ["items"]  # 20 rows: the planner rightly prefers a Seq Scan

    result = plans.check_plan(conn, LOOKUP, text, natural, small_table_pages=64)

    assert result.ok, result.summary
    assert result.summary == ("item by id: small tables (items 1 pages) are Seq Scanned by "
                              "choice; with enable_seqscan off the plan uses items_pkey")
    assert plans.FORCE_INDEX_SQL in result.sql
    assert result.observed["forced_plan"]["Plan"]["Index Name"] == "items_pkey"


def test_seq_scan_on_a_big_table_fails_a_key_lookup(conn):
    query = KeyQuery(name="big by label", sql="SELECT id FROM big WHERE label = 'x'",
                     key_lookup=True)
    result = plans.plan_check(conn, query, Performance(small_table_pages=64))

    assert not result.ok
    assert result.summary.startswith("big by label: Seq Scan on big (big ")
    assert "forced_plan" not in result.observed  # a big table is not given the benefit


def test_missing_expected_index_fails_with_its_name(conn):
    query = KeyQuery(name="by id", sql="SELECT id FROM items WHERE id = 3",
                     expect_indexes=("items_id_idx",))

    result = plans.plan_check(conn, query, Performance())

    assert not result.ok
    assert result.summary.startswith("by id: index items_id_idx does not exist; the plan does"
                                     " index items_id_idx not used")


def test_empty_table_has_nothing_to_look_up(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        result = plans.plan_check(conn, LOOKUP, Performance())
    assert result.ok and "nothing to look up" in result.summary


def test_time_over_budget_fails(conn):
    query = KeyQuery(name="count big", sql="SELECT count(*) FROM big", budget_ms=0.001)

    result = plans.time_check(conn, query, Performance(repeats=2), None, ratio=1.5)

    assert not result.ok
    assert "is over its budget of 0.001 ms" in result.summary
    assert len(result.observed["all_runs_ms"]) == 2


@pytest.mark.parametrize("then_ms, floor_ms, ok", [
    (0.001, 0.0, False),  # now is far more than 1.5x a (pretend) 1 microsecond baseline
    (0.001, 10_000.0, True),  # ... but under the noise floor times 1.5
    (10_000.0, 1.0, True),  # much faster than the baseline
])
def test_time_against_the_baseline(conn, then_ms, floor_ms, ok):
    query = KeyQuery(name="count big", sql="SELECT count(*) FROM big", budget_ms=60_000)
    baseline_plans = {"count big": {"execution_ms": then_ms, "sql": "SELECT 1"}}

    result = plans.time_check(conn, query, Performance(noise_floor_ms=floor_ms),
                              baseline_plans, ratio=1.5)

    assert result.ok is ok, result.summary
    assert result.observed["baseline_ms"] == then_ms
    assert result.observed["baseline_sql_differs"] is True
    if not ok:
        assert "x the baseline's 0.001 ms (limit 1.5x, floor 0 ms)" in result.summary


def test_baseline_measurement_keeps_sql_time_buffers_and_indexes(conn):
    found = plans.measure_for_baseline(conn, (LOOKUP,), repeats=2)

    entry = found["item by id"]
    assert entry["sql"] == "SELECT id, label FROM items WHERE id = 20"
    assert len(entry["all_runs_ms"]) == 2 and entry["execution_ms"] == min(entry["all_runs_ms"])
    assert set(entry) >= {"planning_ms", "shared_hit", "shared_read", "indexes", "seq_scans"}
