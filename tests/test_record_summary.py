"""The record reads top-down: a summary first, then the run, then each drill; numbers for people."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rollbook.pg.embedded import EmbeddedServer
from rollbook.pg.install import local_installation, wheel_installation
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DecisionLog, DrillRecord, StepLog
from rollbook.record.summary import in_record_order


def drill(title: str, verdict: str = "passed", **facts) -> DrillRecord:
    record = DrillRecord(title=title, test_id=f"drills/test_x.py::{title}", verdict=verdict)
    with record.clock.phase("Database Rollback"):
        pass
    record.facts.update({"revision_before": "0002", "revision_after": "0001", **facts})
    record.steps.append(StepLog("alembic downgrade -1", "passed", 0.5))
    return record


def test_summary_comes_first_with_verdict_revisions_and_total_time():
    slow = drill("slow rollback", verdict="failed")
    slow.clock.phases["Database Rollback"].objective_s = 0.0
    text = render_markdown({"run_id": "r1"}, [drill("fast rollback"), slow])
    summary = text.index("## Summary")
    assert summary < text.index("## Run") < text.index("## Drill 1: fast rollback")
    assert "**Verdict: FAILED** — 2 drills: 1 passed, 1 failed." in text
    assert "| Drill 1: fast rollback | PASSED | 0002 → 0001 |" in text
    assert "Database Rollback" in text.split("## Run")[0].split("Drill 2: slow rollback")[1]


def test_unverified_items_show_in_the_summary():
    record = drill("rollback", verdict="not verified")
    record.checklist.could_not_verify("Monitoring restored", "pg_stat_activity unreadable")
    text = render_markdown({"run_id": "r1"}, [record])
    assert "**Verdict: NOT VERIFIED**" in text
    assert "| Monitoring restored |" in text.split("## Run")[0]


def test_two_drills_with_one_title_get_two_headings():
    text = render_markdown({"run_id": "r1"}, [drill("API failure"), drill("API failure")])
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert len(headings) == len(set(headings))
    page = render_html({"run_id": "r1"}, [drill("API failure"), drill("API failure")])
    assert page.count("<summary>Drill 1: API failure") == page.count(
        "<summary>Drill 2: API failure") == 1


def test_numbers_are_for_people_not_python_reprs():
    record = drill("rollback", api_p95_ms={"login": 12.345, "list journals": 3.0},
                   rows_discarded_by_restore=12345)
    record.decisions.append(DecisionLog("None", "None", "—", "No rollback: keep monitoring",
                                        "none", 0.2, ["quiet"]))
    text = render_markdown({"run_id": "r1"}, [record])
    assert "- **API p95 latency**: login 12.3 ms, list journals 3.0 ms" in text
    assert "- **rows a restore discards**: 12,345" in text
    assert "{" not in text and "**None**" not in text
    assert "1. **no trigger fired** — matrix: *No rollback: keep monitoring*" in text
    assert "impact None" not in text
    assert "no trigger fired" in render_html({"run_id": "r1"}, [record])


def test_local_binaries_are_not_labelled_embedded():
    assert EmbeddedServer(local_installation()).kind == "local"
    assert EmbeddedServer(wheel_installation()).kind == "embedded"


def test_a_fact_the_run_states_is_not_repeated_under_each_drill():
    record = drill("rollback", server="embedded PostgreSQL 18.6", scale="tiny")
    text = render_markdown({"run_id": "r1", "server": "embedded PostgreSQL 18.6"}, [record])
    assert text.count("embedded PostgreSQL 18.6") == 1
    assert "- **scale**: tiny" in text.split("## Drill 1")[1]


def test_the_verdict_is_the_pytest_sessions_when_it_failed():
    """Planted: 19 passing drills in a session that failed elsewhere (a check, a collection
    error) read "PASSED — 19 drills" before."""
    from rollbook.record.summary import Session
    drills = [drill(f"rollback {n}") for n in range(19)]
    failed = Session({"passed": 19, "failed": 1}, exit_status=1)
    text = render_markdown({"run_id": "r1"}, drills, session=failed)
    assert ("**Verdict: FAILED** — pytest session: 19 passed, 1 failed (exit status 1); "
            "19 drills: 19 passed.") in text
    assert "PASSED**" not in text
    passed = render_markdown({"run_id": "r1"}, drills, session=Session({"passed": 19}, 0))
    assert "**Verdict: PASSED** — pytest session: 19 passed" in passed
    assert "<b class=failed>FAILED</b>" in render_html({"run_id": "r1"}, drills, session=failed)


def xdist_ran(test_ids: list[str]) -> list[DrillRecord]:
    """Drills as the run folder holds them after pytest-xdist: in the order they ended."""
    drills = []
    for second, test_id in enumerate(test_ids):
        record = drill(test_id.split("::")[1])
        record.test_id, record.started_utc = test_id, f"2026-12-07T12:00:{second:02d}.000Z"
        drills.append(record)
    return drills


MAIN = "drills/test_uuid_rollback.py::test_uuid_rollback_with_alembic_downgrade"
OTHERS = ["drills/test_api_failure.py::crash", "drills/test_every_revision.py::0001",
          "drills/test_every_revision.py::0002", "drills/test_writers_meet_locks.py::locks"]


@given(st.permutations([MAIN, *OTHERS]))
def test_the_main_drill_comes_first_whatever_order_the_drills_ran_in(ran):
    text = render_markdown({"run_id": "r1"}, xdist_ran(ran))
    summary, rto = text.split("## Recovery Time Objectives")[0], text.split("## Run")[0]
    titles = [test_id.split("::")[1] for test_id in (MAIN, *OTHERS)]
    for number, title in enumerate(titles, 1):  # the main drill, then the others by test id
        assert f"| Drill {number}: {title} |" in summary
        assert f"## Drill {number}: {title}\n\n- **test**: `{[MAIN, *OTHERS][number - 1]}`" in text
    assert text.index("| Drill 1 |") < text.index("| Drill 5 |")  # the recovery-time table
    assert "| Drill 1 | " in rto
    page = render_html({"run_id": "r1"}, xdist_ran(ran))
    for number, title in enumerate(titles, 1):  # the summary links each drill's details
        assert f"<details class=drill id=drill-{number}><summary>Drill {number}: {title} " in page
        assert page.index(f"<a href='#drill-{number}'>Drill {number}:") < page.index("id=rto")


def test_planted_the_order_they_ran_in_puts_the_main_drill_last():
    """Without the record's order the main drill is where xdist finished it, as in the issue."""
    ran = xdist_ran([*OTHERS, MAIN])
    assert [d.test_id for d in in_record_order(ran)][0] == MAIN
    assert [d.test_id for d in sorted(ran, key=lambda d: d.started_utc)][0] != MAIN


def test_a_phase_a_drill_does_not_rehearse_says_so_in_the_recovery_time_table():
    passed, stopped = drill("downgrade only"), drill("stopped", verdict="failed")
    rto = render_markdown({"run_id": "r1"}, [passed, stopped]).split(
        "## Recovery Time Objectives")[1].split("## Rollback Checklist")[0]
    assert "| Drill 1 | 0.00 s of 30 min | not part of this drill |" in rto
    assert "| Drill 2 | 0.00 s of 30 min | not run |" in rto


def test_alembic_base_reads_as_words():
    text = render_markdown({"run_id": "r1"}, [drill("first revision", revision_before="0001",
                                                    revision_after="<base>")])
    assert "| 0001 → base (no revision applied) |" in text
    assert "- **revision after**: base (no revision applied)" in text
    assert "<base>" not in text.split("### Steps")[0]
