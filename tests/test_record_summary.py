"""The record reads top-down: a summary first, then the run, then each drill; numbers for people."""
from __future__ import annotations

from rollbook.pg.embedded import EmbeddedServer
from rollbook.pg.install import local_installation, wheel_installation
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DecisionLog, DrillRecord, StepLog


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
