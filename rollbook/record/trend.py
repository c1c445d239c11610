"""Phase times across drills: each drill run appends one JSON line per drill to a history file
(reports/history.jsonl, carried between scheduled runs by the pipeline's cache), and the record
shows each phase's last runs against its objective, warning when one grows."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from rollbook.record.clock import RUNBOOK_OBJECTIVES_S, TOTAL_PHASE
from rollbook.record.model import DrillRecord

LAST_RUNS = 5          # the window the record shows
GROWTH_SHARE = 0.25    # warn when the latest run is this share above the earlier runs' median
NOISE_FLOOR_S = 0.5    # ... and at least this many seconds above it: jitter is not a trend
RUNBOOK_ORDER = [*RUNBOOK_OBJECTIVES_S, TOTAL_PHASE]


# a phase is compared only with earlier runs of the same drill, revisions and scale
ALIKE = ("scale", "revision_before", "revision_after")


def comparable(run: dict, drill: DrillRecord) -> dict:
    """What an earlier run must share with this drill for its times to be compared."""
    return {key: drill.facts.get(key, run.get(key)) for key in ALIKE}


def entry(run: dict, drill: DrillRecord) -> dict:
    return {"run_id": run.get("run_id"), "started_utc": drill.started_utc,
            "test_id": drill.test_id, "title": drill.title, "verdict": drill.verdict,
            **comparable(run, drill), "git_sha": run.get("git_sha"),
            "phases": {p.name: p.elapsed_s for p in drill.clock.rows()},
            "objectives": {p.name: p.objective_s for p in drill.clock.rows()}}


def append(path: Path, run: dict, drills: list[DrillRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        for drill in drills:
            history.write(json.dumps(entry(run, drill)) + "\n")


def load(path: Path) -> list[dict]:
    """Every readable line; a torn or foreign line is skipped, never fatal."""
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(errors="replace", encoding="utf-8").splitlines():
        try:
            body = json.loads(line)
        except ValueError:
            continue
        if isinstance(body, dict) and isinstance(body.get("phases"), dict):
            entries.append(body)
    return entries


@dataclass
class PhaseTrend:
    phase: str
    objective_s: float | None
    values: list[float | None]   # oldest first, this run last
    warning: str = ""


@dataclass
class DrillTrend:
    test_id: str
    runs: list[str]              # run ids, oldest first
    phases: list[PhaseTrend]
    growth_share: float = GROWTH_SHARE

    @property
    def warnings(self) -> list[str]:
        return [p.warning for p in self.phases if p.warning]


def trend(history: list[dict], test_id: str, *, last: int = LAST_RUNS,
          growth_share: float = GROWTH_SHARE, like: dict | None = None) -> DrillTrend:
    """The last runs of this drill; with `like`, only those sharing its values (revisions,
    scale: a downgrade of another revision or scale is not an earlier run of this one)."""
    runs = [e for e in history if e.get("test_id") == test_id
            and all(e.get(key) == value for key, value in (like or {}).items())][-last:]
    names = sorted(dict.fromkeys(name for e in runs for name in e["phases"]),
                   key=lambda name: RUNBOOK_ORDER.index(name) if name in RUNBOOK_ORDER else 99)
    phases = []
    for name in names:
        values = [_seconds(e["phases"].get(name)) for e in runs]
        if all(value is None for value in values):
            continue  # a phase this drill never runs
        objective = next((e["objectives"].get(name) for e in reversed(runs)
                          if e.get("objectives", {}).get(name) is not None), None)
        phases.append(PhaseTrend(name, objective, values,
                                 _growth_warning(name, values, growth_share)))
    return DrillTrend(test_id, [str(e.get("run_id")) for e in runs], phases, growth_share)


def _seconds(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _growth_warning(name: str, values: list[float | None], share: float) -> str:
    latest, earlier = values[-1] if values else None, [v for v in values[:-1] if v is not None]
    if latest is None or not earlier or name == TOTAL_PHASE:
        return ""
    median = statistics.median(earlier)
    if latest > median * (1 + share) and latest - median >= NOISE_FLOOR_S:
        return (f"{name} grew {(latest / median - 1) * 100 if median else float('inf'):.0f}% "
                f"over the last {len(values)} runs ({median:.2f} s median before, "
                f"{latest:.2f} s now; warning above {share:.0%} and {NOISE_FLOOR_S:g} s)")
    return ""
