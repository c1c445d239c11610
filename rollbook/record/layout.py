"""What each section of the record holds, the same for Markdown and HTML: the recovery-time
table across drills, the checklist across drills, a drill's findings (capped on screen, the
full list in evidence/), its facts (a mapping as one row per entry), its long tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rollbook.record import humanize
from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE
from rollbook.record.clock import TOTAL_PHASE, PhaseTiming, format_duration
from rollbook.record.model import DrillRecord, StepLog

FINDINGS_SHOWN = 20     # lines of one kind of finding shown under a drill
TABLE_SHOWN = 10        # rows of a drill's table shown before it collapses
FINDING_KINDS = ("schema", "counts", "content", "orphans")  # first, in this order
NO_DETAIL = "no detail recorded by this step"


@dataclass
class Findings:
    kind: str
    total: int
    shown: list[str]
    full_list: str     # where the whole list is, in the run folder ("" when all are shown)


def findings(drill: DrillRecord) -> list[Findings]:
    kinds = sorted(drill.findings, key=lambda k: (FINDING_KINDS.index(k)
                                                  if k in FINDING_KINDS else 99, k))
    full = drill.evidence.get("findings.txt", "")
    return [Findings(kind, len(drill.findings[kind]), drill.findings[kind][:FINDINGS_SHOWN],
                     full if len(drill.findings[kind]) > FINDINGS_SHOWN else "")
            for kind in kinds if drill.findings[kind]]


def warning_lines(drill: DrillRecord) -> list[str]:
    """The warnings the drill's project and libraries raised: listed, never a failure."""
    return [w.line() for w in getattr(drill, "warnings", [])]


def rto_columns(drills: list[DrillRecord]) -> list[str]:
    """The phases any drill ran, in runbook order, then the total."""
    names = dict.fromkeys(p.name for d in drills for p in d.clock.phases.values())
    return [*names, TOTAL_PHASE]


def rto_cell(drill: DrillRecord, phase: str) -> tuple[str, bool]:
    """(the phase's time against its objective, over objective?); when it did not run, why:
    a drill that passed without it does not rehearse it."""
    timing = drill.clock.total() if phase == TOTAL_PHASE else drill.clock.phases.get(phase)
    if timing is None or timing.elapsed_s is None:
        return not_run(drill), False
    over = timing.over_objective
    text = f"{format_duration(timing.elapsed_s)} of {format_duration(timing.objective_s)}"
    return (f"OVER: {text}" if over else text), over


def not_run(drill: DrillRecord) -> str:
    """A phase without a time: one a passing drill does not rehearse, or one it never reached."""
    return "not part of this drill" if drill.verdict == "passed" else "not run"


def phase_status(drill: DrillRecord, phase: PhaseTiming) -> str:
    """A phase's status in the drill's recovery-time table."""
    if phase.over_objective:
        return "OVER OBJECTIVE"
    return not_run(drill) if phase.status == "not run" else phase.status


def checklist_rows(drills: list[DrillRecord]) -> list[tuple[str, str, str]]:
    """(stage, item, where it stands across the drills): each status with its drills."""
    if not drills:
        return []
    rows = []
    for key, item in drills[0].checklist.items.items():
        by_status: dict[str, list[int]] = {}
        for number, drill in enumerate(drills, 1):
            by_status.setdefault(drill.checklist.items[key].status, []).append(number)
        parts = []
        for status in (NOT_DONE, COULD_NOT_VERIFY, DONE, OUT_OF_SCOPE):
            numbers = by_status.get(status)
            if numbers:
                parts.append(status if len(drills) == 1 else
                             f"{status}: {_drills(numbers, len(drills))}")
        rows.append((item.stage, item.text, "; ".join(parts)))
    return rows


def _drills(numbers: list[int], total: int) -> str:
    if len(numbers) == total:
        return "every drill"
    spans, start = [], numbers[0]
    for previous, number in zip(numbers, [*numbers[1:], None], strict=True):
        if number is None or number != previous + 1:
            spans.append(str(start) if start == previous else f"{start}–{previous}")
            start = number
    return ("drill " if len(numbers) == 1 else "drills ") + ", ".join(spans)


def fact_rows(facts: dict[str, Any]) -> list[tuple[str, str | list[tuple[str, str]]]]:
    """Each fact as (label, text); a mapping of several entries as (label, [(entry, text)])."""
    rows: list[tuple[str, str | list[tuple[str, str]]]] = []
    for key, raw in facts.items():
        if isinstance(raw, dict) and len(raw) > 1 and any(
                isinstance(v, str) and len(v) > 24 for v in raw.values()):
            rows.append((humanize.label(key), [(str(name), humanize.value(key, item))
                                                for name, item in raw.items()]))
        else:
            rows.append((humanize.label(key), humanize.value(key, raw)))
    return rows


def when(utc: str) -> str:
    """A step's UTC start as date and time ("2026-12-07 15:32:40.695"): the column says UTC."""
    return utc.replace("T", " ").removesuffix("Z") if utc else "—"


def step_detail(step: StepLog) -> str:
    return step.detail.strip() or NO_DETAIL


def table_parts(rows: list[dict[str, str]]) -> tuple[list[str], list[dict[str, str]]]:
    """The table's columns and its rows, each cell text ("—" for one left empty)."""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    return columns, [{c: (humanize.value(c, row.get(c)) if row.get(c) not in (None, "")
                          else "—") for c in columns} for row in rows]


def href(path: str) -> str:
    """A path in the run folder as a link target: spaces and the like escaped."""
    return quote(path)


def long(rows: list[dict[str, str]]) -> bool:
    return len(rows) > TABLE_SHOWN


def drill_count(drills: list[DrillRecord]) -> str:
    return f"{len(drills)} drill{'s' if len(drills) != 1 else ''}"


def status_word(status: str) -> str:
    """Checklist statuses as CSS classes."""
    return {DONE: "done", NOT_DONE: "failed", COULD_NOT_VERIFY: "unverified",
            OUT_OF_SCOPE: "na"}.get(status, "na")
