"""Phase timing against the runbook's recovery-time objectives.

The objectives are those of the runbook's table; a profile may override them. A phase that runs
over its objective is an overrun, and an overrun fails the drill.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Mapping

RUNBOOK_OBJECTIVES_S: dict[str, float] = {
    "Database Rollback": 30 * 60,
    "Application Rollback": 15 * 60,
    "Service Restart": 5 * 60,
    "Validation Testing": 20 * 60,
}
TOTAL_PHASE = "Total Rollback"
RUNBOOK_TOTAL_OBJECTIVE_S = 70 * 60


@dataclass
class PhaseTiming:
    name: str
    objective_s: float
    elapsed_s: float | None = None
    status: str = "not run"  # "done", "failed" (raised inside the phase) or "not run"

    @property
    def over_objective(self) -> bool:
        return self.elapsed_s is not None and self.elapsed_s > self.objective_s


@dataclass
class RecoveryClock:
    """Times the runbook phases; the total is the sum of the phases that ran."""

    objectives_s: dict[str, float] = field(default_factory=lambda: dict(RUNBOOK_OBJECTIVES_S))
    total_objective_s: float = RUNBOOK_TOTAL_OBJECTIVE_S
    phases: dict[str, PhaseTiming] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, objective in self.objectives_s.items():
            self.phases.setdefault(name, PhaseTiming(name, objective))

    @classmethod
    def from_objectives(cls, objectives_s: Mapping[str, float]) -> "RecoveryClock":
        """A clock of the runbook's phases with these objectives (a profile's [rto]: phase
        names, and TOTAL_PHASE for the whole); a phase it does not name keeps the runbook's."""
        return cls(objectives_s={name: objectives_s.get(name, default)
                                 for name, default in RUNBOOK_OBJECTIVES_S.items()},
                   total_objective_s=objectives_s.get(TOTAL_PHASE, RUNBOOK_TOTAL_OBJECTIVE_S))

    @contextmanager
    def phase(self, name: str) -> Iterator[PhaseTiming]:
        if name not in self.phases:
            raise KeyError(f"no recovery-time objective for phase {name!r}; "
                           f"known phases: {', '.join(self.phases)}")
        timing = self.phases[name]
        started = time.perf_counter()
        try:
            yield timing
        except BaseException:
            timing.status = "failed"
            raise
        else:
            timing.status = "done"
        finally:
            timing.elapsed_s = (timing.elapsed_s or 0.0) + time.perf_counter() - started

    def total(self) -> PhaseTiming:
        ran = [p.elapsed_s for p in self.phases.values() if p.elapsed_s is not None]
        status = "done" if ran else "not run"
        if any(p.status == "failed" for p in self.phases.values()):
            status = "failed"
        return PhaseTiming(TOTAL_PHASE, self.total_objective_s,
                           sum(ran) if ran else None, status)

    def rows(self) -> list[PhaseTiming]:
        return [*self.phases.values(), self.total()]

    def overruns(self) -> list[PhaseTiming]:
        return [p for p in self.rows() if p.over_objective]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(seconds, 60)
    if round(secs, 1) == 0:  # an objective: "30 min", as the runbook writes it
        return f"{int(minutes)} min"
    return f"{int(minutes)} min {secs:04.1f} s"
