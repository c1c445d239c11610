"""The record's first section: the verdict, and for each drill what an auditor asks first."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.record.checklist import COULD_NOT_VERIFY
from rollbook.record.clock import format_duration
from rollbook.record.model import DrillRecord

PASSED, FAILED, NOT_VERIFIED = "passed", "failed", "not verified"
NOT_RECORDED = "not recorded"  # the drill stopped, or its path never reads that revision


@dataclass
class DrillSummary:
    heading: str          # unique in the record
    verdict: str
    revisions: str        # "0002 → 0001"
    total: str            # "1 min 02.0 s of 70 min"
    over_objective: list[str]
    not_verified: list[str]


def run_verdict(drills: list[DrillRecord]) -> str:
    verdicts = {drill.verdict for drill in drills}
    if not drills:
        return "no drill ran"
    if verdicts - {PASSED, NOT_VERIFIED}:
        return FAILED
    return NOT_VERIFIED if NOT_VERIFIED in verdicts else PASSED


def numbered(drills: list[DrillRecord]) -> list[tuple[str, DrillRecord]]:
    """Each drill with its heading, numbered so two drills of one title never share one."""
    return [(f"Drill {number}: {drill.title}", drill) for number, drill in enumerate(drills, 1)]


def summarise(drills: list[DrillRecord]) -> list[DrillSummary]:
    rows = []
    for heading, drill in numbered(drills):
        total = drill.clock.total()
        over = [f"{p.name} {format_duration(p.elapsed_s)} > {format_duration(p.objective_s)}"
                for p in drill.clock.overruns()]
        rows.append(DrillSummary(
            heading=heading, verdict=drill.verdict,
            revisions=(f"{drill.facts.get('revision_before', NOT_RECORDED)} → "
                       f"{drill.facts.get('revision_after', NOT_RECORDED)}"),
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
