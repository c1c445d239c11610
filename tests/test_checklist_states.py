"""The checklist's four states: done, not done, could not verify, out of scope for this drill."""
from __future__ import annotations

import pytest

from rollbook.record.checklist import (
    DONE,
    NOT_COVERED,
    NOT_DONE,
    OUT_OF_SCOPE,
    Checklist,
)

ITEM = "Stakeholders notified"


def test_an_item_no_step_covers_is_out_of_scope_never_not_done():
    checklist = Checklist()
    assert all(i.status == OUT_OF_SCOPE and i.evidence == NOT_COVERED
               for i in checklist.items.values())


def test_a_covering_step_decides_its_items():
    checklist = Checklist()
    checklist.step_started((ITEM,), "Notify")
    assert checklist.items[ITEM].status == NOT_DONE
    checklist.step_ended((ITEM,), status=DONE, evidence="mail 42 delivered")
    assert (checklist.items[ITEM].status, checklist.items[ITEM].evidence) == (
        DONE, "mail 42 delivered")


def test_a_failing_step_overrides_what_it_marked_done_before_failing():
    checklist = Checklist()
    checklist.step_started((ITEM,), "Notify")
    checklist.done(ITEM, "sent")
    checklist.step_ended((ITEM,), status=NOT_DONE, evidence="step 'Notify' failed: relay down")
    assert checklist.items[ITEM].status == NOT_DONE
    assert "relay down" in checklist.items[ITEM].evidence


def test_a_passing_step_keeps_the_evidence_it_recorded_itself():
    checklist = Checklist()
    checklist.step_started((ITEM,), "Notify")
    checklist.done(ITEM, "mail 42 to ops@")
    checklist.step_ended((ITEM,), status=DONE, evidence="generic detail")
    assert checklist.items[ITEM].evidence == "mail 42 to ops@"


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="not applicable"):
        Checklist().mark(ITEM, "not applicable", "old word")


@pytest.fixture
def run_drill(pytester):
    def run(body: str):
        pytester.makepyfile(test_drill=body)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
        return result, (pytester.path / "reports" / "latest" / "rollback-record.md").read_text()
    return run


def test_failing_covering_step_leaves_its_items_not_done_and_others_out_of_scope(run_drill):
    result, record = run_drill('''
def test_drill(drill):
    """A notice that never arrives."""
    with drill.step("Notify stakeholders", covers=("Stakeholders notified",)):
        raise AssertionError("the relay refused the mail")
''')
    result.assert_outcomes(failed=1)
    assert ("- [ ] Stakeholders notified — *not done*: step 'Notify stakeholders' failed: "
            "the relay refused the mail") in record
    assert "- [-] Users notified — *out of scope*: no step of this drill covers it" in record
    assert record.count("*not done*") == 1


def test_a_phase_covers_its_items_and_a_pass_marks_them_done(run_drill):
    result, record = run_drill('''
def test_drill(drill):
    """A rollback that passes."""
    with drill.phase("Database Rollback") as step:
        step.detail = "alembic downgrade -1 in 0.4 s"
''')
    result.assert_outcomes(passed=1)
    assert ("- [x] Database migration rolled back — *done*: alembic downgrade -1 in 0.4 s"
            in record)
    assert "*not done*" not in record


def test_anything_could_not_verify_is_not_a_pass_and_the_record_says_so(run_drill):
    result, record = run_drill('''
import pytest

def test_drill(drill):
    """A drill whose monitoring could not be read."""
    with drill.phase("Database Rollback"):
        pass
    drill.checklist.could_not_verify("Monitoring restored", "pg_stat_activity unreadable")
''')
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*not a pass: could not verify: Monitoring restored*"])
    assert "NOT VERIFIED" in record
    assert "- [?] Monitoring restored — *could not verify*: pg_stat_activity unreadable" in record


def test_a_skipped_covering_step_could_not_verify(run_drill):
    result, record = run_drill('''
import pytest

def test_drill(drill):
    """A drill whose API smoke could not run."""
    with drill.step("API smoke", covers=("Functional testing completed",)):
        pytest.skip("no API in this environment")
''')
    result.assert_outcomes(skipped=1, errors=1)
    assert ("- [?] Functional testing completed — *could not verify*: step 'API smoke' was "
            "skipped: no API in this environment") in record
