"""Key queries measured: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) parsed into nodes, shape and
buffers; repeated into a median and a spread; measured once per run; recorded in the baseline,
and an older baseline's record still read."""
from __future__ import annotations

import psycopg
import pytest
from examples.plan_tables import items_and_big

from rollbook.measure import plans
from rollbook.pg.connect import connect
from rollbook.settings.profile import KeyQuery, Performance

LOOKUP = KeyQuery(name="item by id", sql="SELECT id, label FROM items WHERE id = %(id)s",
                  params="SELECT max(id) AS id FROM items", expect_indexes=("items_pkey",),
                  key_lookup=True)
COUNT_BIG = KeyQuery(name="count big", sql="SELECT count(*) FROM big")


@pytest.fixture
def conn(scratch_dsn):
    yield from items_and_big(scratch_dsn)


def test_explain_is_parsed_into_nodes_times_shape_and_buffers(conn):
    text = plans.bind(conn, LOOKUP)
    assert text == "SELECT id, label FROM items WHERE id = 20"

    plan = plans.explain(conn, "SELECT * FROM big WHERE id = 42")

    assert plan.indexes == ["big_pkey"] and plan.seq_scans == []
    assert plan.nodes[0]["type"] == "Index Scan" and plan.nodes[0]["rows"] == 1
    assert plan.shape == ["Index Scan using big_pkey on big"]
    assert plan.execution_ms > 0 and plan.buffers == plan.shared_hit + plan.shared_read >= 2
    assert plan.raw["Plan"]["Node Type"] == "Index Scan"


def test_shape_is_the_tree_as_explain_names_it(conn):
    plan = plans.explain(conn, "SELECT label, count(*) FROM big GROUP BY label")
    assert plan.shape[0] in ("HashAggregate", "GroupAggregate", "Gather")
    assert any(line.strip() == "Seq Scan on big" and line.startswith("  ")
               for line in plan.shape)


def test_measure_repeats_and_keeps_median_spread_shape_and_buffers(conn):
    measured = plans.measure(conn, COUNT_BIG, Performance(repeats=5, repeat_within_ms=60_000))

    timing = measured.timing
    assert measured.measured and len(measured.runs) == 5 and len(timing.runs_ms) == 5
    assert timing.median_ms == sorted(timing.runs_ms)[2]
    assert timing.spread_ms == pytest.approx(
        sorted(abs(t - timing.median_ms) for t in timing.runs_ms)[2], abs=0.002)
    assert timing.shape == tuple(measured.plan.shape) and timing.buffers > 100
    assert timing.sql == "SELECT count(*) FROM big"


def test_a_heavy_query_stops_repeating_once_its_runs_took_repeat_within_ms(conn):
    once = plans.measure(conn, COUNT_BIG, Performance(repeats=5, repeat_within_ms=0))
    assert len(once.runs) == 1 and once.timing.spread_ms == 0


def test_a_failing_query_is_kept_as_the_measurements_error(conn):
    broken = KeyQuery(name="gone", sql="SELECT * FROM no_such_table")

    measured = plans.measure(conn, broken, Performance())

    assert not measured.measured and measured.runs == []
    assert measured.error == 'relation "no_such_table" does not exist'
    assert plans.measure(conn, LOOKUP, Performance(repeats=1)).measured  # conn still usable


def test_empty_table_has_nothing_to_look_up(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        measured = plans.measure(conn, LOOKUP, Performance())
    assert measured.sql is None and measured.error is None and not measured.measured


def test_measurements_measure_each_query_once(conn):
    measurements = plans.Measurements(Performance(repeats=2))
    first = measurements.of(conn, COUNT_BIG)
    assert measurements.of(conn, COUNT_BIG) is first
    assert measurements.of(conn, LOOKUP) is not first


def test_baseline_keeps_every_run_median_spread_shape_and_buffers(conn):
    broken = KeyQuery(name="gone", sql="SELECT * FROM no_such_table")
    found = plans.measure_for_baseline(conn, (LOOKUP, broken),
                                       Performance(repeats=3, repeat_within_ms=60_000))

    entry = found["item by id"]
    assert entry["sql"] == "SELECT id, label FROM items WHERE id = 20"
    assert len(entry["all_runs_ms"]) == 3 and entry["median_ms"] == sorted(
        entry["all_runs_ms"])[1]
    assert entry["shape"] == ["Seq Scan on items"] and entry["buffers"] >= 1
    assert set(entry) >= {"spread_ms", "indexes", "seq_scans"}
    assert plans.Timing.from_baseline(entry).to_dict() == entry  # read back as written
    assert found["gone"] == {"sql": "SELECT * FROM no_such_table",
                             "error": 'relation "no_such_table" does not exist'}
    assert plans.Timing.from_baseline(found["gone"]) is None


def test_an_older_baseline_entry_is_read_as_its_best_run():
    older = {"sql": "SELECT 1", "all_runs_ms": [4.9, 4.6, 4.7], "execution_ms": 4.6,
             "planning_ms": 0.1, "shared_hit": 10, "shared_read": 2,
             "indexes": ["users_pkey"], "seq_scans": [], "forced_index": False}

    timing = plans.Timing.from_baseline(older)

    assert timing.median_ms == 4.6 and timing.spread_ms == 0.0
    assert timing.buffers == 12 and timing.shape is None
    assert timing.indexes == ("users_pkey",) and timing.legacy == plans.LEGACY_BASELINE


def test_a_lost_connection_is_raised_not_kept_as_a_measurement(scratch_dsn, pg_server):
    with connect(scratch_dsn) as conn:
        pid = conn.info.backend_pid
        with connect(pg_server.dsn("postgres")) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            plans.measure(conn, COUNT_BIG, Performance())
