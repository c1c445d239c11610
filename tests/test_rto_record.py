"""Recovery-time clock, checklist and the rendered record."""
import time

import pytest

from rollbook.record.checklist import DONE, OUT_OF_SCOPE, Checklist
from rollbook.record.clock import RecoveryClock
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord, StepLog


def test_phase_over_objective_is_an_overrun_and_total_sums_phases():
    clock = RecoveryClock(objectives_s={"Database Rollback": 0.01, "Validation Testing": 60},
                          total_objective_s=60)
    with clock.phase("Database Rollback"):
        time.sleep(0.02)
    with clock.phase("Validation Testing"):
        pass
    over = clock.overruns()
    assert [p.name for p in over] == ["Database Rollback"]
    total = clock.total()
    assert total.elapsed_s == pytest.approx(sum(p.elapsed_s for p in clock.phases.values()))


def test_failed_phase_is_marked_failed_and_still_timed():
    clock = RecoveryClock()
    with pytest.raises(RuntimeError):
        with clock.phase("Database Rollback"):
            raise RuntimeError("downgrade broke")
    phase = clock.phases["Database Rollback"]
    assert phase.status == "failed" and phase.elapsed_s is not None
    assert clock.total().status == "failed"


def test_unknown_phase_is_refused_by_name():
    with pytest.raises(KeyError, match="Coffee Break"):
        with RecoveryClock().phase("Coffee Break"):
            pass


def test_checklist_items_start_out_of_scope_and_unknown_items_are_refused():
    checklist = Checklist()
    assert {item.status for item in checklist.items.values()} == {OUT_OF_SCOPE}
    checklist.done("Database migration rolled back", "alembic downgrade -1 in 0.4 s")
    assert checklist.items["Database migration rolled back"].status == DONE
    with pytest.raises(KeyError):
        checklist.done("Database migrated to Oracle", "no")


def test_record_round_trips_and_renders_actual_times():
    record = DrillRecord(title="UUID rollback", test_id="drills/x.py::t")
    with record.clock.phase("Database Rollback"):
        pass
    record.checklist.done("Database migration rolled back", "0002 -> 0001")
    record.steps.append(StepLog("alembic downgrade -1", "passed", 0.5, "0002 -> 0001"))
    record.verdict = "passed"
    again = DrillRecord.from_dict(record.to_dict())
    text = render_markdown({"run_id": "r1"}, [again])
    assert "| Database Rollback | 30 min |" in text
    assert "| Application Rollback | 30" not in text
    assert "- [x] Database migration rolled back — *done*: 0002 -> 0001" in text
    assert "- [-] Maintenance mode enabled — *out of scope*: no step of this drill covers it" in text
    assert "| **Total Rollback** | 70 min |" in text


def test_html_record_has_the_same_tables_and_escapes_what_it_shows():
    record = DrillRecord(title="UUID rollback <drill>", test_id="drills/x.py::t")
    with record.clock.phase("Database Rollback"):
        pass
    record.checklist.done("Database migration rolled back", "0002 -> 0001 & <checked>")
    record.steps.append(StepLog("alembic downgrade -1", "passed", 0.5, "0002 -> 0001"))
    record.verdict = "passed"
    page = render_html({"run_id": "r1"}, [record])
    assert ("<summary>Drill 1: UUID rollback &lt;drill&gt; — <span class=passed>PASSED</span>"
            "</summary>") in page
    assert "<td>Database Rollback</td><td>30 min</td>" in page
    assert "<td class=done>done</td><td>0002 -&gt; 0001 &amp; &lt;checked&gt;</td>" in page
    assert "<td class=not-run>not part of this drill</td>" in page
