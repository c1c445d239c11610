"""The record shows what the drills found (issue 18.7): every difference under its drill,
grouped by kind and capped on screen with the full list kept in evidence/; the lock table lists
only relations the migration touched; a phase's trend compares only runs of the same drill,
revisions and scale. Each with the defect it guards against planted."""
from __future__ import annotations

import json
import time

from rollbook.measure.lock_footprint import Footprint, Hold
from rollbook.pytest_plugin.drill import NO_ACTION, Drill
from rollbook.pytest_plugin.locks import footprint_rows
from rollbook.record import layout, trend
from rollbook.record.evidence import CheckResult
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord
from rollbook.verdicts import triggers

DRILL = '''
import pytest
from rollbook.record.evidence import CheckResult

def test_drill(drill):
    """A downgrade that leaves differences."""
    schema = CheckResult("schema", False, "130 differences",
                         observed={"diff": "\\n".join(f"table t{i}: column c is text, expected "
                                                      f"character varying(5000)"
                                                      for i in range(130))})
    with drill.phase("Validation Testing"):
        drill.checks_by_family({
            "schema": [schema],
            "counts": [CheckResult("row count jobs", False, "jobs has 9 rows, the baseline 10")],
            "orphans": [CheckResult("orphans: a.b -> c.id", True, "none")]})
'''


def test_every_difference_is_under_its_drill_grouped_and_the_full_list_kept(pytester):
    pytester.makepyfile(test_drill=DRILL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
    result.assert_outcomes(failed=1)
    run_dir = (pytester.path / "reports" / "latest").resolve()
    record = (run_dir / "rollback-record.md").read_text()
    section = record.split("### Findings (131)")[1]
    schema = section.split("#### schema (130)")[1].split("####")[0]
    assert schema.count("- table t") == layout.FINDINGS_SHOWN
    assert "- table t0: column c is text, expected character varying(5000)" in schema
    assert f"… {130 - layout.FINDINGS_SHOWN} more: the full list is in" in schema
    assert "#### counts (1)" in section and "jobs has 9 rows, the baseline 10" in section
    assert "orphans" not in section.split("### Recovery")[0]  # nothing found there
    (kept,) = run_dir.glob("evidence/*/findings.json")
    assert len(json.loads(kept.read_text())["schema"]) == 130
    link = kept.relative_to(run_dir).with_name("findings.txt").as_posix()
    assert f"]({link})" in schema
    assert "table t129:" in (run_dir / link).read_text()
    page = (run_dir / "rollback-record.html").read_text()
    assert "<h4>schema (130)</h4>" in page and f"href='{link}'" in page


def test_planted_a_record_without_findings_shows_none():
    """What the record showed before: the failure line and no difference."""
    record = DrillRecord(title="t", test_id="x::t", verdict="failed",
                         failure="0002: downgrade to 0001 left 130 difference(s) from the "
                                 "baseline:")
    assert "Findings" not in render_markdown({"run_id": "r"}, [record])
    record.findings = {"content": ["jobs: 5 rows differ"], "schema": ["t: c is text"]}
    text = render_markdown({"run_id": "r"}, [record])
    assert text.index("#### schema (1)") < text.index("#### content (1)")
    assert "<h4>content (1)</h4>" in render_html({"run_id": "r"}, [record])


def test_difference_lines_are_one_per_schema_line_else_the_summary(tmp_path):
    record = DrillRecord(title="t", test_id="x::t")
    harness = Drill(record, workspace=tmp_path)
    harness.found({"schema": [CheckResult("s", False, "2", observed={"diff": "a\nb"})],
                   "counts": [CheckResult("c", False, "off by one"),
                              CheckResult("d", True, "fine")]})
    assert record.findings == {"schema": ["a", "b"], "counts": ["c: off by one"]}


def test_a_decision_for_no_rollback_is_recorded_as_none_and_renders(tmp_path):
    """rollback_path gives no action when no rollback is due; the record said nothing and its
    HTML raised AttributeError (escape(None)), hiding the drill's own failure."""
    record = DrillRecord(title="t", test_id="x::t", verdict="failed")
    quiet = triggers.decide([triggers.error_rate(1.0, 1.0, 10)])
    Drill(record, workspace=tmp_path).decide(
        quiet, action_taken=triggers.rollback_path(quiet), started=time.perf_counter())
    assert triggers.rollback_path(quiet) is None
    assert record.decisions[0].action_taken == NO_ACTION
    assert f"taken: *{NO_ACTION}*" in render_markdown({"run_id": "r"}, [record])
    assert NO_ACTION in render_html({"run_id": "r"}, [record])

def hold(relation: str, mode: str = "AccessExclusiveLock", held_s: float = 0.2) -> Hold:
    return Hold(relation, "r", mode, 1, "ALTER TABLE x", first_seen=0.0, granted_at=0.0,
                released=held_s)


def test_the_lock_table_lists_only_the_relations_the_migration_touched():
    untouched = {f"public.t{i}": "kept" for i in range(120)}
    footprint = Footprint("alembic downgrade -1",
                          holds=[hold("public.jobs"), hold("public.runs", held_s=0.9),
                                 hold("public.tags", "RowExclusiveLock")],
                          tables={**untouched, "public.jobs": "rewritten",
                                  "public.runs": "kept", "public.tags": "kept",
                                  "public.new": "created"})
    rows = footprint_rows([footprint])
    assert [r["Table"] for r in rows] == ["public.runs", "public.jobs", "public.new",
                                          "public.tags"]
    assert rows[0]["Longest ACCESS EXCLUSIVE"] == "900 ms"  # the headline: the longest hold
    assert rows[-1]["Locks taken"] == "ROW EXCLUSIVE"
    assert rows[-1]["Longest ACCESS EXCLUSIVE"] == "not taken"  # words, no empty cell
    assert rows[-1]["Writers' longest wait"] == "no session waited"
    # planted: every table the footprint saw is what the table listed before
    assert len(footprint.table_rows()) == 124


def entry(run_id: str, seconds: float, before: str, scale: str = "tiny") -> dict:
    return {"run_id": run_id, "test_id": "drills/e.py::t[last]", "scale": scale,
            "revision_before": before, "revision_after": "p",
            "phases": {"Database Rollback": seconds},
            "objectives": {"Database Rollback": 1800.0}}


def test_a_phase_is_compared_only_with_runs_of_the_same_revisions_and_scale():
    history = [entry("r1", 0.1, "0007"), entry("r2", 0.1, "0007"),
               entry("r3", 0.1, "0008", scale="large"), entry("r4", 1.0, "0008")]
    drill = DrillRecord(title="t", test_id="drills/e.py::t[last]",
                        facts={"scale": "tiny", "revision_before": "0008",
                               "revision_after": "p"})
    like = trend.comparable({}, drill)
    found = trend.trend(history, drill.test_id, like=like)
    assert found.runs == ["r4"] and not found.warnings
    # planted: compared with every earlier run of the test id, it "grew 900%"
    unfiltered = trend.trend(history, drill.test_id)
    assert unfiltered.warnings and "grew 900%" in unfiltered.warnings[0]
    assert trend.entry({"run_id": "r5"}, drill)["revision_before"] == "0008"


def test_the_warnings_a_drill_raised_are_listed_under_it():
    from rollbook.record.model import RecordedWarning
    record = DrillRecord(title="t", test_id="x::t", verdict="passed")
    assert "Warnings raised" not in render_markdown({"run_id": "r"}, [record])
    record.warnings = [RecordedWarning("DeprecationWarning", "l002 uses an old API",
                                       "versions/l002.py", 7, "runtest", "x::t", 2)]
    line = "DeprecationWarning: l002 uses an old API (versions/l002.py:7) (2 times)"
    assert f"- {line}" in render_markdown({"run_id": "r"}, [record])
    assert f"<li>{line}</li>" in render_html({"run_id": "r"}, [record]).replace("<wbr>", "")
