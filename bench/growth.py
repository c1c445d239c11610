"""The growth figures' parts: scale labels (100k, 1m, 5m, ...) as journal counts, and one run of
the main drill as a child process, its phases read from the record it writes."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from checks_vs_runbook import child_env, run_pytest

from rollbook.record.model import DrillRecord
from rollbook_vibes.seed import SCALES

DRILL = "drills/test_uuid_rollback.py"
MULTIPLIERS = {"k": 1_000, "m": 1_000_000}
SCALES_HINT = "Hint: --bench-growth 100k,1m,5m (seed scale names, N k, N m or journal counts)"


def journals(label: str) -> int:
    """The journal count of a scale label: a seed scale name (tiny, 100k, 1m), Nk, Nm or N."""
    text = label.strip().lower().replace("_", "")
    if text in SCALES:
        return SCALES[text]
    factor = MULTIPLIERS.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in MULTIPLIERS else text
    try:
        count = round(float(number) * factor)
    except ValueError:
        raise ValueError(f"{label!r} is not a scale. {SCALES_HINT}") from None
    if count < 10:
        raise ValueError(f"{label!r} is under 10 journals, too small to seed. {SCALES_HINT}")
    return count


def growth_scales(value: str) -> list[str]:
    """The labels of a comma-separated list, each checked, ordered by size, no repeats."""
    labels = [label.strip() for label in value.split(",") if label.strip()]
    if not labels:
        raise ValueError(f"no scale in {value!r}. {SCALES_HINT}")
    by_count = {journals(label): label for label in reversed(labels)}
    return [by_count[count] for count in sorted(by_count)]


@dataclass(frozen=True)
class DrillRound:
    """One run of the main drill: wall time, each runbook phase's seconds (from its record),
    the pytest process's own peak RSS and the largest of it and its reaped children (KiB), and
    each step's seconds (its record's steps, in order)."""

    seconds: float
    phases: dict[str, float]
    own_rss_kib: int | None
    peak_rss_kib: int
    steps: dict[str, float]


def run_drill(journal_count: int, work: Path) -> DrillRound:
    """`pytest drills/test_uuid_rollback.py --scale N`, its report in `work`."""
    reports = work / "reports"
    argv = [sys.executable, "-m", "pytest", DRILL, "-q", "-p", "no:randomly", "-p",
            "no:cacheprovider", "--scale", str(journal_count), "--reports-dir", str(reports),
            "--history", str(work / "history.jsonl")]
    outcome, own = run_pytest(argv, dict(child_env(), ROLLBOOK_ALLURE_HTML="no"))
    assert outcome.code == 0, (f"the drill failed at {journal_count} journals: "
                               f"{outcome.stdout[-3000:]}")
    # reports/latest is a link to the same run folder
    records = [path for path in reports.glob("*/records/*.json")
               if not path.parents[1].is_symlink()]
    assert len(records) == 1, f"expected one drill record under {reports}, found {records}"
    record = DrillRecord.load(records[0])
    phases = {p.name: p.elapsed_s for p in record.clock.phases.values()
              if p.elapsed_s is not None}
    steps = {step.title: step.elapsed_s for step in outer_steps(record.steps)}
    return DrillRound(outcome.seconds, phases, own, outcome.peak_rss_kib, steps)


def outer_steps(steps: list) -> list:
    """The steps no earlier step encloses (a phase comes before the steps it holds), in
    order: one after the other, they make up the drill's test body."""
    outer = []
    for step in steps:
        if not any(o.started_utc <= step.started_utc and step.ended_utc <= o.ended_utc
                   for o in outer):
            outer.append(step)
    return outer
