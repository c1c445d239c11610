"""The rollback record: one Markdown file an auditor can read, filled from the run only."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE, Checklist
from rollbook.record.clock import PhaseTiming, RecoveryClock, format_duration

MARKS = {DONE: "[x]", NOT_DONE: "[ ]", COULD_NOT_VERIFY: "[?]", OUT_OF_SCOPE: "[-]"}


@dataclass
class StepLog:
    title: str
    outcome: str  # "passed" / "failed"
    elapsed_s: float
    detail: str = ""


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


@dataclass
class DrillRecord:
    """What one drill did and saw, written to JSON by the drill and rendered at session end."""

    title: str
    test_id: str
    clock: RecoveryClock = field(default_factory=RecoveryClock)
    checklist: Checklist = field(default_factory=Checklist)
    steps: list[StepLog] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    decisions: list[DecisionLog] = field(default_factory=list)
    verdict: str = "unknown"
    failure: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "test_id": self.test_id, "verdict": self.verdict,
                "failure": self.failure, "facts": self.facts,
                "steps": [vars(s) for s in self.steps],
                "decisions": [vars(d) for d in self.decisions],
                "checklist": self.checklist.to_list(),
                "phases": [vars(p) for p in self.clock.phases.values()],
                "total_objective_s": self.clock.total_objective_s}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "DrillRecord":
        phases = {p["name"]: PhaseTiming(**p) for p in body["phases"]}
        clock = RecoveryClock(objectives_s={n: p.objective_s for n, p in phases.items()},
                              total_objective_s=body["total_objective_s"], phases=phases)
        return cls(title=body["title"], test_id=body["test_id"], clock=clock,
                   checklist=Checklist.from_list(body["checklist"]),
                   steps=[StepLog(**s) for s in body["steps"]], facts=body["facts"],
                   decisions=[DecisionLog(**d) for d in body.get("decisions", [])],
                   verdict=body["verdict"], failure=body["failure"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")


def render_markdown(run: dict[str, Any], drills: list[DrillRecord]) -> str:
    lines = [f"# Rollback record — run {run.get('run_id', '?')}", ""]
    for key, value in run.items():
        lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    if not drills:
        lines += ["", "_No drill ran in this session, so there is no rollback to record._"]
    for drill in drills:
        lines += ["", *_drill_section(drill)]
    return "\n".join(lines) + "\n"


def _drill_section(drill: DrillRecord) -> list[str]:
    lines = [f"## {drill.title}", "", f"- **test**: `{drill.test_id}`",
             f"- **verdict**: {drill.verdict.upper()}"]
    if drill.failure:
        lines.append(f"- **failure**: {drill.failure}")
    for key, value in drill.facts.items():
        lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    if drill.decisions:
        lines += ["", *_decision_trail(drill.decisions)]
    lines += ["", "### Recovery Time Objectives", "",
              "| Component | RTO Target | Actual Time | Status |",
              "|-----------|------------|-------------|--------|"]
    for phase in drill.clock.rows():
        status = phase.status
        if phase.over_objective:
            status = "OVER OBJECTIVE"
        bold = phase.name == "Total Rollback"
        name = f"**{phase.name}**" if bold else phase.name
        lines.append(f"| {name} | {format_duration(phase.objective_s)} | "
                     f"{format_duration(phase.elapsed_s)} | {status} |")
    lines += ["", "### Rollback Checklist", ""]
    for stage in dict.fromkeys(item.stage for item in drill.checklist.items.values()):
        lines += [f"#### {stage}", ""]
        for item in drill.checklist.items.values():
            if item.stage == stage:
                mark = MARKS[item.status]
                lines.append(f"- {mark} {item.text} — *{item.status}*: {item.evidence}")
        lines.append("")
    lines += ["### Steps, in runbook order", "", "| # | Step | Outcome | Time | Detail |",
              "|---|------|---------|------|--------|"]
    for number, step in enumerate(drill.steps, 1):
        detail = step.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {number} | {step.title} | {step.outcome} | "
                     f"{format_duration(step.elapsed_s)} | {detail} |")
    return lines


def _decision_trail(decisions: list[DecisionLog]) -> list[str]:
    lines = ["### Decision trail", ""]
    for number, decision in enumerate(decisions, 1):
        lines += [f"{number}. **{decision.severity}** (impact {decision.impact}, respond "
                  f"{decision.response_time}) — matrix: *{decision.matrix_action}*; taken: "
                  f"*{decision.action_taken}*; decided in "
                  f"{format_duration(decision.time_to_decide_s)}", "", "   ```"]
        lines += [f"   {signal}" for signal in decision.signals]
        lines += ["   ```", ""]
    return lines
