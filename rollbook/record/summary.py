"""The record's first section: the verdict, and for each drill what an auditor asks first."""
from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.record import humanize
from rollbook.record.checklist import COULD_NOT_VERIFY
from rollbook.record.clock import format_duration
from rollbook.record.model import DrillRecord

PASSED, FAILED, NOT_VERIFIED = "passed", "failed", "not verified"
# said only where the drill could not read the revision: it stopped before it got there
NOT_RECORDED = "not recorded (the drill stopped before reading it)"
# the runbook's main rollback ("Database Rollback Procedures", 1. Alembic Migration Rollback)
MAIN_DRILL = "drills/test_uuid_rollback.py::"


@dataclass
class Session:
    """The pytest session's own outcome: the run's verdict is never kinder than it."""

    outcomes: dict[str, int] = field(default_factory=dict)  # "passed" -> 19, "failed" -> 1 ...
    exit_status: int = 0

    @property
    def failed(self) -> bool:
        return self.exit_status not in (0, 5)

    def line(self) -> str:
        order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
        tally = [f"{self.outcomes[k]} {k}" for k in order if self.outcomes.get(k)]
        return f"pytest session: {', '.join(tally) or 'no test ran'} (exit status " \
               f"{self.exit_status})"


@dataclass
class DrillSummary:
    heading: str          # unique in the record
    anchor: str           # its id in the HTML record
    verdict: str
    revisions: str        # "0002 → 0001"
    total: str            # "1 min 02.0 s of 70 min"
    over_objective: list[str]
    not_verified: list[str]


def run_verdict(drills: list[DrillRecord], session: Session | None = None) -> str:
    """The drills' verdict, unless the pytest session failed: then the run failed."""
    if session is not None and session.failed:
        return FAILED
    verdicts = {drill.verdict for drill in drills}
    if not drills:
        return PASSED if session is not None else "no drill ran"
    if verdicts - {PASSED, NOT_VERIFIED}:
        return FAILED
    return NOT_VERIFIED if NOT_VERIFIED in verdicts else PASSED


def in_record_order(drills: list[DrillRecord]) -> list[DrillRecord]:
    """The record's order, the same whatever order pytest-xdist ran the drills in: the main
    drill first (the runbook's own rollback, `alembic downgrade` of the UUID migration), then
    the others by test id (file, test, case, compared as text)."""
    return sorted(drills, key=lambda drill: (not drill.test_id.startswith(MAIN_DRILL),
                                             drill.test_id))


def numbered(drills: list[DrillRecord]) -> list[tuple[str, DrillRecord]]:
    """Each drill with its heading, numbered so two drills of one title never share one."""
    return [(f"Drill {number}: {drill.title}", drill) for number, drill in enumerate(drills, 1)]


def anchor(number: int) -> str:
    return f"drill-{number}"


def revision(drill: DrillRecord, key: str) -> str:
    value = drill.facts.get(key)
    return humanize.revision(str(value)) if value not in (None, "") else NOT_RECORDED


def summarise(drills: list[DrillRecord]) -> list[DrillSummary]:
    rows = []
    for number, (heading, drill) in enumerate(numbered(drills), 1):
        total = drill.clock.total()
        over = [f"{p.name} {format_duration(p.elapsed_s)} > {format_duration(p.objective_s)}"
                for p in drill.clock.overruns()]
        rows.append(DrillSummary(
            heading=heading, anchor=anchor(number), verdict=drill.verdict,
            revisions=(f"{revision(drill, 'revision_before')} → "
                       f"{revision(drill, 'revision_after')}"),
            total=f"{format_duration(total.elapsed_s)} of {format_duration(total.objective_s)}",
            over_objective=over,
            not_verified=[i.text for i in drill.checklist.with_status(COULD_NOT_VERIFY)]))
    return rows


def own_facts(drill: DrillRecord, run: dict) -> dict:
    """The drill's facts less those the run section already states with the same value."""
    return {key: value for key, value in drill.facts.items() if run.get(key) != value}


def counts(drills: list[DrillRecord]) -> str:
    tally: dict[str, int] = {}
    for drill in drills:
        tally[drill.verdict] = tally.get(drill.verdict, 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in tally.items())


def verdict_line(drills: list[DrillRecord], session: Session | None) -> tuple[str, str]:
    """(the run's verdict, what it rests on): the session's outcome, then the drills'."""
    said = [session.line()] if session is not None else []
    if drills:
        said.append(f"{len(drills)} drill{'s' if len(drills) > 1 else ''}: {counts(drills)}")
    return run_verdict(drills, session), "; ".join(said)
