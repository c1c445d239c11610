"""The rollback record as one Markdown file an auditor can read: the summary first, then the run,
then each drill. Filled from the run only."""
from __future__ import annotations

from typing import Any

from rollbook.record import humanize, trend_view
from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE
from rollbook.record.clock import TOTAL_PHASE, format_duration
from rollbook.record.model import DecisionLog, DrillRecord
from rollbook.record.summary import counts, numbered, own_facts, run_verdict, summarise
from rollbook.record.trend import DrillTrend

MARKS = {DONE: "[x]", NOT_DONE: "[ ]", COULD_NOT_VERIFY: "[?]", OUT_OF_SCOPE: "[-]"}


def render_markdown(run: dict[str, Any], drills: list[DrillRecord],
                    trends: dict[str, DrillTrend] | None = None) -> str:
    """`trends`: each drill's phase times over its last runs, by test id."""
    trends = trends or {}
    lines = [f"# Rollback record — run {run.get('run_id', '?')}", "",
             *_summary(drills, trends), "## Run", ""]
    lines += [f"- **{humanize.label(key)}**: {humanize.value(key, value)}"
              for key, value in run.items()]
    for heading, drill in numbered(drills):
        lines += ["", *_drill_section(heading, drill, trends.get(drill.test_id), run)]
    return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(title: str, rows: list[dict[str, str]]) -> list[str]:
    """A drill's titled table: a heading, its columns (the first row's keys), one line a row."""
    columns = list(rows[0]) if rows else []
    return [f"### {title}", "", "| " + " | ".join(cell(c) for c in columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
            *("| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows)]


def _summary(drills: list[DrillRecord], trends: dict[str, DrillTrend]) -> list[str]:
    lines = ["## Summary", ""]
    if not drills:
        return lines + ["_No drill ran in this session, so there is no rollback to record._", ""]
    lines += [f"**Verdict: {run_verdict(drills).upper()}** — {len(drills)} "
              f"drill{'s' if len(drills) > 1 else ''}: {counts(drills)}.", "",
              "| Drill | Verdict | Revision before → after | Total time of objective "
              "| Over objective | Not verified |",
              "|-------|---------|-------------------------|-------------------------"
              "|----------------|--------------|"]
    for row in summarise(drills):
        lines.append(f"| {cell(row.heading)} | {row.verdict.upper()} | {row.revisions} | "
                     f"{row.total} | {cell('; '.join(row.over_objective) or 'none')} | "
                     f"{cell('; '.join(row.not_verified) or 'none')} |")
    warnings = [f"- **Trend warning** ({heading}): {warning}"
                for heading, drill in numbered(drills)
                for warning in (trends[drill.test_id].warnings if drill.test_id in trends else [])]
    return lines + ([""] + warnings if warnings else []) + [""]


def _drill_section(heading: str, drill: DrillRecord, trend: DrillTrend | None,
                   run: dict[str, Any]) -> list[str]:
    lines = [f"## {heading}", "", f"- **test**: `{drill.test_id}`",
             f"- **verdict**: {drill.verdict.upper()}",
             f"- **started (UTC)**: {drill.started_utc or '—'}",
             f"- **ended (UTC)**: {drill.ended_utc or '—'}"]
    if drill.failure:
        lines.append(f"- **failure**: {drill.failure}")
    lines += [f"- **{humanize.label(key)}**: {humanize.value(key, value)}"
              for key, value in own_facts(drill, run).items()]
    if drill.decisions:
        lines += ["", *_decision_trail(drill.decisions)]
    for title, rows in drill.tables.items():
        lines += ["", *table(title, rows)]
    lines += ["", "### Recovery Time Objectives", "",
              "| Component | RTO Target | Actual Time | Status |",
              "|-----------|------------|-------------|--------|"]
    for phase in drill.clock.rows():
        status = "OVER OBJECTIVE" if phase.over_objective else phase.status
        name = f"**{phase.name}**" if phase.name == TOTAL_PHASE else phase.name
        lines.append(f"| {name} | {format_duration(phase.objective_s)} | "
                     f"{format_duration(phase.elapsed_s)} | {status} |")
    if trend is not None:
        lines += ["", *trend_view.markdown(trend)]
    lines += ["", "### Rollback Checklist", "",
              "`[x]` done · `[ ]` not done · `[?]` could not verify · `[-]` out of scope for "
              "this drill", ""]
    for stage in dict.fromkeys(item.stage for item in drill.checklist.items.values()):
        lines += [f"#### {stage}", ""]
        lines += [f"- {MARKS[item.status]} {item.text} — *{item.status}*: {item.evidence}"
                  for item in drill.checklist.items.values() if item.stage == stage]
        lines.append("")
    lines += ["### Steps, in runbook order", "",
              "| # | Step | Outcome | Started (UTC) | Time | Detail |",
              "|---|------|---------|---------------|------|--------|"]
    for number, step in enumerate(drill.steps, 1):
        lines.append(f"| {number} | {cell(step.title)} | {step.outcome} | "
                     f"{step.started_utc or '—'} | {format_duration(step.elapsed_s)} | "
                     f"{cell(step.detail)} |")
    return lines


def _decision_trail(decisions: list[DecisionLog]) -> list[str]:
    lines = ["### Decision trail", ""]
    for number, decision in enumerate(decisions, 1):
        lines += [f"{number}. **{humanize.severity(decision.severity, decision.impact)}**"
                  f"{humanize.impact(decision.severity, decision.impact, decision.response_time)}"
                  " — matrix: "
                  f"*{decision.matrix_action}*; taken: *{decision.action_taken}*; decided in "
                  f"{format_duration(decision.time_to_decide_s)}", "", "   ```"]
        lines += [f"   {signal}" for signal in decision.signals]
        lines += ["   ```", ""]
    return lines
