"""Rollback triggers: each fires on its fault and stays quiet on a healthy system; the decision
matrix maps the most severe fired signal to the runbook's action."""
from __future__ import annotations

import pytest

from rollbook.measure import amcheck, plans
from rollbook.pg.connect import connect
from rollbook.pg.server import start_server
from rollbook.runbook.corrupt import scribble_on_page
from rollbook.verdicts import orphans, performance, triggers


def test_decision_matrix_rows_follow_the_runbook():
    quiet = triggers.decide([triggers.error_rate(1.0, 1.0, 10)])
    assert quiet.severity == "None" and not quiet.automatic_rollback_due
    high = triggers.decide([triggers.error_rate(15.0, 1.0, 10),
                            triggers.failing_endpoints([], 5, 25)])
    assert high.row == ("Medium", "15 minutes", "Manual rollback decision")
    critical = triggers.decide([triggers.error_rate(15.0, 1.0, 10),
                                triggers.failing_endpoints(["login", "journals"], 5, 25)])
    assert critical.severity == "Critical" and critical.automatic_rollback_due
    assert critical.row == ("High", "Immediate", "Automatic rollback")
    assert [s.name for s in critical.fired] == ["API error rate above baseline",
                                                "share of failing API endpoints"]


def slowdown(now_ms: float, baseline_ms: float, *, plan_changed: bool = True):
    """A Performance Degradation signal for made-up times; the plan changed (an index lost) or
    stayed the same (then only the machine is slower)."""
    before = plans.Timing("SELECT 1", (baseline_ms,), baseline_ms, 0.0,
                          ("Index Scan using users_pkey on users",), 3, ("users_pkey",), ())
    now = plans.Timing("SELECT 1", (now_ms,), now_ms, 0.0,
                       ("Seq Scan on users",) if plan_changed else before.shape,
                       40 if plan_changed else 3, (), ("users",) if plan_changed else ())
    thresholds = performance.Thresholds(max_ratio=1.5, same_plan_ratio=3.0, noise_floor_ms=1.0)
    return triggers.query_slowdown("user by id", performance.compare(now, before, thresholds))


@pytest.mark.parametrize("now_ms, plan_changed, fired", [
    (14.9, True, False), (15.1, True, True),  # a changed plan: the runbook's > 50 %
    (29.9, False, False), (30.1, False, True),  # same plan and buffers: only beyond 3x
])
def test_query_slowdown_fires_past_the_limit_its_plan_calls_for(now_ms, plan_changed, fired):
    signal = slowdown(now_ms, 10.0, plan_changed=plan_changed)
    assert signal.fired is fired and signal.evaluated
    assert signal.severity == "Critical"
    assert f"{now_ms:.3f} ms (median of 1, spread 0.000) vs 10.000 ms at baseline" in signal.line()
    assert ("plan changed: now Seq Scan on users" if plan_changed
            else "same plan and buffers (3 vs 3)") in signal.detail


def test_query_slowdown_states_the_noise_floor_in_its_threshold():
    signal = slowdown(2.0, 0.009)
    assert signal.fired
    assert signal.threshold == ("> 1.500 ms = 1.5x the noise floor 1 ms (the baseline's 0.009 "
                                "ms is below it)")


@pytest.mark.parametrize("failing, fired", [(1, False), (2, True)])
def test_failing_endpoints_fire_above_a_quarter(failing, fired):
    names = [f"endpoint {i}" for i in range(failing)]
    assert triggers.failing_endpoints(names, 5, 25.0).fired is fired


def test_every_signal_is_reported_even_after_one_fired():
    decision = triggers.decide([triggers.failing_endpoints(["a", "b"], 2, 25),
                                triggers.error_rate(0.0, 0.0, 10),
                                triggers.corruption([], available=False)])
    lines = decision.report().splitlines()
    assert len(lines) == 4
    assert "FIRED" in lines[1] and "quiet" in lines[2] and "not evaluated" in lines[3]


def test_orphans_fire_on_a_planted_orphan_and_stay_quiet_when_clean(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY)")
        conn.execute("CREATE TABLE journals (id serial PRIMARY KEY, user_id int REFERENCES users)")
        conn.execute("INSERT INTO users DEFAULT VALUES")
        conn.execute("INSERT INTO journals (user_id) VALUES (1)")
        [fk] = orphans.foreign_keys(conn)
        assert not triggers.orphans([orphans.find_orphans(conn, fk)]).fired
        conn.execute("SET session_replication_role = replica")
        conn.execute("INSERT INTO journals (user_id) VALUES (42)")
        signal = triggers.orphans([orphans.find_orphans(conn, fk)])
    assert signal.fired and signal.severity == "Critical"
    assert signal.measured.startswith("1 orphans")


def test_migration_incomplete_fires_on_revision_heads_or_schema():
    assert not triggers.migration_incomplete(["0001"], "0001", ["0002"], []).fired
    assert triggers.migration_incomplete(["0002"], "0001", ["0002"], []).fired
    assert triggers.migration_incomplete(["0001"], "0001", ["0002", "0003"], []).fired
    partial = triggers.migration_incomplete(["0001"], "0001", ["0002"],
                                            ["column users.legacy_id: extra"])
    assert partial.fired and "schema differs" in partial.measured


def test_amcheck_finds_a_corrupted_index_page_and_passes_a_clean_one():
    with start_server("embedded") as server:
        with connect(server.dsn()) as conn:
            conn.execute("CREATE EXTENSION amcheck")
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
            clean = amcheck.check_indexes(conn)
            assert [r.ok for r in clean] == [True]
            assert not triggers.corruption(clean, amcheck.amcheck_available(conn)).fired
        scribble_on_page(server, server.dsn(), "t_pkey")
        with connect(server.dsn()) as conn:
            results = amcheck.check_indexes(conn)
            signal = triggers.corruption(results, amcheck.amcheck_available(conn))
    assert signal.fired and signal.severity == "Critical"
    assert "t_pkey on t is corrupt" in results[0].summary


def test_rollback_path_follows_the_matrix_and_what_is_damaged():
    quiet = triggers.decide([triggers.error_rate(0, 0, 10)])
    assert triggers.rollback_path(quiet) is None
    slow = triggers.decide([slowdown(30, 10)])
    assert triggers.rollback_path(slow) == triggers.DOWNGRADE
    incomplete = triggers.decide([triggers.migration_incomplete(["0001"], "0002", ["0002"], [])])
    assert triggers.rollback_path(incomplete) == triggers.DOWNGRADE
    damaged = triggers.decide([slowdown(30, 10),
                               triggers.Signal("orphans", "Data Integrity Issues", "Critical",
                                               "2 orphans", "> 0", True)])
    assert triggers.rollback_path(damaged) == triggers.RESTORE
