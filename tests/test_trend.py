"""Trend across drills: each drill run appends its phase times to a history, and the record
shows each phase's last runs against its objective, warning when one grows."""
from __future__ import annotations

import json
import statistics

from hypothesis import given
from hypothesis import strategies as st

from rollbook.record import trend
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord

SECONDS = st.floats(min_value=0, max_value=4000, allow_nan=False)


def entry(run_id: str, seconds: float) -> dict:
    return {"run_id": run_id, "test_id": "drills/x.py::t",
            "phases": {"Database Rollback": seconds, "Service Restart": None},
            "objectives": {"Database Rollback": 1800.0, "Service Restart": 300.0}}


@given(earlier=st.lists(SECONDS, min_size=1, max_size=4), latest=SECONDS)
def test_a_phase_is_flagged_exactly_when_it_grew_beyond_share_and_noise(earlier, latest):
    history = [entry(f"r{i}", s) for i, s in enumerate([*earlier, latest])]
    found = trend.trend(history, "drills/x.py::t", growth_share=0.25)
    median = statistics.median(earlier)
    grew = latest > median * 1.25 and latest - median >= trend.NOISE_FLOOR_S
    assert bool(found.warnings) == grew
    assert found.phases[0].values == [*earlier, latest][-trend.LAST_RUNS:]


def test_torn_or_foreign_lines_are_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(entry("r1", 1.0)) + "\n{\"torn\": \n[1, 2]\n"
                    + json.dumps(entry("r2", 2.0)) + "\n")
    assert [e["run_id"] for e in trend.load(path)] == ["r1", "r2"]
    assert trend.load(tmp_path / "absent.jsonl") == []


def test_the_record_shows_the_trend_table_and_chart():
    history = [entry(f"2026113{i}T100000Z-abc", s) for i, s in enumerate([1.0, 1.1, 9.0])]
    found = trend.trend(history, "drills/x.py::t")
    record = DrillRecord(title="rollback", test_id="drills/x.py::t", verdict="passed")
    text = render_markdown({"run_id": "r"}, [record], {"drills/x.py::t": found})
    assert "| Phase | Objective | 11-30 10:00 | 11-31 10:00 | this run |" in text
    assert "| Database Rollback | 30 min | 1.00 s | 1.10 s | 9.00 s |" in text
    assert "- **Trend warning** (Drill 1: rollback): Database Rollback grew" in text
    page = render_html({"run_id": "r"}, [record], {"drills/x.py::t": found})
    assert page.count("<svg") == 1 and "<polyline" in page and "Trend warning" in page
    assert "| Service Restart |" not in text.split("### Trend")[1]  # never ran: no row


DRILL = '''
import os, time

def test_drill(drill):
    """A rollback that may slow down."""
    with drill.phase("Database Rollback"):
        time.sleep(float(os.environ["DRILL_SLEEP_S"]))
'''


def test_three_drills_in_a_row_leave_a_trend_the_record_shows(pytester, monkeypatch):
    pytester.makepyfile(test_drill=DRILL)
    for sleep in ("0", "0", "0.8"):
        monkeypatch.setenv("DRILL_SLEEP_S", sleep)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
        result.assert_outcomes(passed=1)
        if sleep == "0":  # planted: a steady phase raises no warning
            assert "Trend warning" not in (
                pytester.path / "reports" / "latest" / "rollback-record.md").read_text()
    run_dir = (pytester.path / "reports" / "latest").resolve()
    record = (run_dir / "rollback-record.md").read_text()
    assert "### Trend over the last 3 runs" in record
    row = next(line for line in record.splitlines() if line.startswith("| Database Rollback |")
               and line.count("|") == 6)
    assert row.endswith(" s |")
    assert "**Trend warning** (Drill 1: A rollback that may slow down): Database Rollback grew" \
        in record
    history = (pytester.path / "reports" / "history.jsonl").read_text().splitlines()
    assert len(history) == 3
    assert json.loads((run_dir / "trend.json").read_text())["test_drill.py::test_drill"]["runs"]


def test_a_growth_that_is_not_a_share_is_one_line_with_a_hint(pytester):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--trend-growth", "-1")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --trend-growth -1: not a share. Hint: *"])
    assert "Traceback" not in result.stderr.str()
