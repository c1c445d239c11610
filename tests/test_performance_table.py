"""The performance evidence as the record's table: per key query its plan then and now, median
and spread then and now, the ratio, and the rule that decided (issue 21.5: "journal count per
user 1.52x" passing over a 1.5x threshold must show which limit applied and why)."""
from __future__ import annotations

from rollbook.measure import plans
from rollbook.record.evidence import CheckResult
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord
from rollbook.record.performance_view import TITLE, performance_rows
from rollbook.verdicts.performance import Thresholds, compare

THRESHOLDS = Thresholds(max_ratio=1.5, same_plan_ratio=3.0, noise_floor_ms=0.005)
SHAPE = ("Aggregate", "Index Only Scan on journals")


def timing(median_ms: float, shape=SHAPE, indexes=("ix_journals_user_id",), buffers=14):
    return plans.Timing("SELECT count(*) FROM journals WHERE user_id = 1", (median_ms,) * 7,
                        median_ms, 0.001, shape, buffers, indexes, ())


def results(now, before) -> list[CheckResult]:
    found = compare(now, before, THRESHOLDS)
    return [CheckResult("plan: journal count per user", True, "uses ix_journals_user_id",
                        observed={"indexes": list(now.indexes), "seq_scans": []}),
            CheckResult("time: journal count per user", not found.slow, found.line(),
                        observed={"slowdown": found.to_dict(), "budget_ms": 50})]


def test_a_ratio_over_the_runbooks_limit_that_passes_shows_the_rule_that_let_it():
    (row,) = performance_rows(results(timing(0.152), timing(0.100)))
    assert row["Ratio"] == "1.52x" and row["Verdict"] == "passed"
    assert row["Plan then"] == row["Plan now"] == "index ix_journals_user_id; 14 buffers"
    assert row["Median ± spread then"] == "0.100 ms ± 0.001 (7 runs)"
    assert row["Median ± spread now"] == "0.152 ms ± 0.001 (7 runs)"
    assert row["Rule that decided"].startswith(
        "same plan and buffers: only beyond 3x counts")
    record = DrillRecord(title="t", test_id="x::t", tables={TITLE: [row]})
    assert "| journal count per user | index ix_journals_user_id; 14 buffers |" in \
        render_markdown({"run_id": "r"}, [record])


def test_planted_a_changed_plan_is_judged_at_the_runbooks_ratio_and_the_table_says_so():
    now = timing(0.200, shape=("Aggregate", "Seq Scan on journals"), indexes=())
    (row,) = performance_rows(results(now, timing(0.100)))
    assert row["Verdict"] == "failed" and row["Plan now"] == "no index, no Seq Scan; 14 buffers"
    assert row["Rule that decided"].startswith(
        "the plan or its work changed: the runbook's 1.5x limit applies")
    assert "(over it); plan changed: now Seq Scan on journals" in row["Rule that decided"]


def test_a_query_the_baseline_has_no_time_for_says_so():
    lone = CheckResult("time: q", True, "q: 0.1 ms", observed={"median_ms": 0.1,
                                                               "spread_ms": 0.0,
                                                               "budget_ms": 50})
    (row,) = performance_rows([lone])
    assert row["Median ± spread then"] == ("not recorded (the baseline holds no time for this "
                                           "query)")
    assert row["Rule that decided"] == ("within its budget of 50 ms; no baseline time to "
                                        "compare with")
