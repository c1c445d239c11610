"""What one drill did and saw: written to JSON by the drill, rendered at the end of the run."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollbook.record.checklist import Checklist
from rollbook.record.clock import PhaseTiming, RecoveryClock


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass
class StepLog:
    title: str
    outcome: str  # "passed" / "failed" / "skipped"
    elapsed_s: float
    detail: str = ""
    started_utc: str = ""
    ended_utc: str = ""


@dataclass
class DecisionLog:
    """One evaluation of the rollback triggers and what was done about it."""

    severity: str
    impact: str
    response_time: str
    matrix_action: str
    action_taken: str
    time_to_decide_s: float
    signals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedWarning:
    """A warning raised during the run (by the project, its libraries or rollbook): recorded in
    the record, never a failure of the user's run. `when` is pytest's phase ("config",
    "collect", "runtest"); `nodeid` the test it was raised in ("" outside any test)."""

    category: str
    message: str
    filename: str
    lineno: int
    when: str
    nodeid: str = ""
    count: int = 1

    def line(self) -> str:
        """One line for people: what, where, how often."""
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.category}: {self.message} ({self.filename}:{self.lineno}){times}"

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "RecordedWarning":
        return cls(**body)


def tally_warnings(found: list[RecordedWarning]) -> list[RecordedWarning]:
    """The same warning raised at the same place in the same test, counted once, in order."""
    counted: dict[tuple, RecordedWarning] = {}
    for w in found:
        key = (w.category, w.message, w.filename, w.lineno, w.when, w.nodeid)
        seen = counted.get(key)
        counted[key] = w if seen is None else dataclasses.replace(
            seen, count=seen.count + w.count)
    return list(counted.values())


@dataclass
class DrillRecord:
    title: str
    test_id: str
    clock: RecoveryClock = field(default_factory=RecoveryClock)
    checklist: Checklist = field(default_factory=Checklist)
    steps: list[StepLog] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    decisions: list[DecisionLog] = field(default_factory=list)
    # titled tables a drill measured (e.g. its crash points): title -> rows, each row a dict
    # of column -> cell text, in column order
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # every difference the drill's checks found, by kind (schema, counts, content, orphans...)
    findings: dict[str, list[str]] = field(default_factory=dict)
    # files kept with the run for this drill: what each is -> its path in the run folder
    evidence: dict[str, str] = field(default_factory=dict)
    verdict: str = "unknown"
    failure: str = ""
    started_utc: str = field(default_factory=utc_now)
    ended_utc: str = ""
    # warnings raised while the drill ran (its migrations, the project's libraries): listed,
    # never a failure
    warnings: list[RecordedWarning] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "test_id": self.test_id, "verdict": self.verdict,
                "failure": self.failure, "started_utc": self.started_utc,
                "ended_utc": self.ended_utc, "facts": self.facts,
                "steps": [vars(s) for s in self.steps],
                "decisions": [vars(d) for d in self.decisions], "tables": self.tables,
                "findings": self.findings, "evidence": self.evidence,
                "checklist": self.checklist.to_list(),
                "phases": [vars(p) for p in self.clock.phases.values()],
                "total_objective_s": self.clock.total_objective_s,
                "warnings": [vars(w) for w in self.warnings]}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "DrillRecord":
        phases = {p["name"]: PhaseTiming(**p) for p in body["phases"]}
        clock = RecoveryClock(objectives_s={n: p.objective_s for n, p in phases.items()},
                              total_objective_s=body["total_objective_s"], phases=phases)
        return cls(title=body["title"], test_id=body["test_id"], clock=clock,
                   checklist=Checklist.from_list(body["checklist"]),
                   steps=[StepLog(**s) for s in body["steps"]], facts=body["facts"],
                   decisions=[DecisionLog(**d) for d in body.get("decisions", [])],
                   tables=body.get("tables", {}), findings=body.get("findings", {}),
                   evidence=body.get("evidence", {}),
                   verdict=body["verdict"], failure=body["failure"],
                   started_utc=body.get("started_utc", ""), ended_utc=body.get("ended_utc", ""),
                   warnings=[RecordedWarning.from_dict(w) for w in body.get("warnings", [])])

    def cite(self, source: str, kept: str) -> None:
        """Everywhere the record names `source` (a log in a temp folder, gone after the run),
        name `kept` instead: its copy in the run folder."""
        def swap(value):
            if isinstance(value, str):
                return value.replace(source, kept)
            if isinstance(value, dict):
                return {swap(k): swap(v) for k, v in value.items()}
            if isinstance(value, list):
                return [swap(v) for v in value]
            return value

        self.facts = swap(self.facts)
        self.tables = swap(self.tables)
        self.failure = swap(self.failure)
        for step in self.steps:
            step.detail = swap(step.detail)
        for item in self.checklist.items.values():
            item.evidence = swap(item.evidence)
        for decision in self.decisions:
            decision.signals = swap(decision.signals)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "DrillRecord":
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
