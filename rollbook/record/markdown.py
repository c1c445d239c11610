"""The rollback record as one Markdown file an auditor can read: the summary, the recovery-time
table, the checklist, the run, then each drill's details, the main drill first (summary.py:
in_record_order). Filled from the run only."""
from __future__ import annotations

from typing import Any

from rollbook.record import humanize, layout, summary, trend_view
from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE
from rollbook.record.clock import TOTAL_PHASE, format_duration
from rollbook.record.model import DecisionLog, DrillRecord
from rollbook.record.summary import Session, numbered, own_facts, summarise, verdict_line
from rollbook.record.trend import DrillTrend

MARKS = {DONE: "[x]", NOT_DONE: "[ ]", COULD_NOT_VERIFY: "[?]", OUT_OF_SCOPE: "[-]"}


def render_markdown(run: dict[str, Any], drills: list[DrillRecord],
                    trends: dict[str, DrillTrend] | None = None, *,
                    session: Session | None = None, links: dict[str, str] | None = None) -> str:
    """`trends`: each drill's phase times over its last runs, by test id; `links`: what the
    run folder holds for the reader (evidence, the Allure report), label -> relative path."""
    trends = trends or {}
    drills = summary.in_record_order(drills)
    lines = [f"# Rollback record — run {run.get('run_id', '?')}", "",
             *_summary(drills, trends, session, links or {}),
             *_rto(drills), *_checklist(drills), "## Run", ""]
    lines += facts_lines(run)
    for heading, drill in numbered(drills):
        lines += ["", *_drill_section(heading, drill, trends.get(drill.test_id), run)]
    return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(title: str, rows: list[dict[str, str]], level: str = "###") -> list[str]:
    """A drill's titled table: a heading, its columns, one line a row."""
    columns, cells = layout.table_parts(rows)
    return [f"{level} {title}", "", "| " + " | ".join(cell(c) for c in columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
            *("| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in cells)]


def links_line(links: dict[str, str]) -> list[str]:
    return ["Kept with this run: " + " · ".join(f"[{label}]({layout.href(path)})"
                                               for label, path in links.items()), ""] \
        if links else []


def _summary(drills: list[DrillRecord], trends: dict[str, DrillTrend],
             session: Session | None, links: dict[str, str]) -> list[str]:
    verdict, rests_on = verdict_line(drills, session)
    lines = ["## Summary", "", f"**Verdict: {verdict.upper()}** — {rests_on}.", "",
             *links_line(links)]
    if not drills:
        return lines
    lines += ["| Drill | Verdict | Revision before → after | Total time of objective "
              "| Over objective | Not verified |",
              "|-------|---------|-------------------------|-------------------------"
              "|----------------|--------------|"]
    for row in summarise(drills):
        lines.append(f"| {cell(row.heading)} | {row.verdict.upper()} | {cell(row.revisions)} | "
                     f"{row.total} | {cell('; '.join(row.over_objective) or 'none')} | "
                     f"{cell('; '.join(row.not_verified) or 'none')} |")
    warnings = [f"- **Trend warning** ({heading}): {warning}"
                for heading, drill in numbered(drills)
                for warning in (trends[drill.test_id].warnings if drill.test_id in trends else [])]
    return lines + ([""] + warnings if warnings else []) + [""]


def _rto(drills: list[DrillRecord]) -> list[str]:
    if not drills:
        return []
    columns = layout.rto_columns(drills)
    lines = ["## Recovery Time Objectives", "",
             "Each phase's time against its objective; *OVER* marks a phase over it.", "",
             "| Drill | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for number, drill in enumerate(drills, 1):
        cells = [layout.rto_cell(drill, name)[0] for name in columns]
        lines.append(f"| Drill {number} | " + " | ".join(cells) + " |")
    return lines + [""]


def _checklist(drills: list[DrillRecord]) -> list[str]:
    if not drills:
        return []
    lines = ["## Rollback Checklist", "",
             "Where each item stands in each drill: done, not done (a step that covers it "
             "failed), could not verify, out of scope (no step of that drill covers it). "
             "The evidence is under each drill.", ""]
    stage = None
    for item_stage, text, status in layout.checklist_rows(drills):
        if item_stage != stage:
            stage = item_stage
            lines += ([""] if lines[-1] else []) + [f"### {stage}", "", "| Item | Status |",
                                                    "|------|--------|"]
        lines.append(f"| {cell(text)} | {cell(status)} |")
    return lines + [""]


def facts_lines(facts: dict[str, Any]) -> list[str]:
    lines = []
    for label, text in layout.fact_rows(facts):
        if isinstance(text, list):
            lines.append(f"- **{label}**:")
            lines += [f"  - {name}: {entry}" for name, entry in text]
        else:
            lines.append(f"- **{label}**: {text}")
    return lines


def _drill_section(heading: str, drill: DrillRecord, trend: DrillTrend | None,
                   run: dict[str, Any]) -> list[str]:
    lines = [f"## {heading}", "", f"- **test**: `{drill.test_id}`",
             f"- **verdict**: {drill.verdict.upper()}",
             f"- **started (UTC)**: {drill.started_utc or '—'}",
             f"- **ended (UTC)**: {drill.ended_utc or '—'}"]
    if drill.failure:
        lines.append(f"- **failure**: {drill.failure}")
    lines += facts_lines(own_facts(drill, run))
    if drill.evidence:
        lines += ["- **evidence**: " + ", ".join(f"[{label}]({layout.href(path)})"
                                                 for label, path in drill.evidence.items())]
    lines += _findings(drill)
    if layout.warning_lines(drill):
        lines += ["", f"### Warnings raised ({len(drill.warnings)}; recorded, not failures)",
                  "", *(f"- {line}" for line in layout.warning_lines(drill))]
    lines += ["", "### Recovery Time Objectives", "",
              "| Component | RTO Target | Actual Time | Status |",
              "|-----------|------------|-------------|--------|"]
    for phase in drill.clock.rows():
        status = layout.phase_status(drill, phase)
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
    if drill.decisions:
        lines += _decision_trail(drill.decisions)
    for title, rows in drill.tables.items():
        lines += [*table(title, rows), ""]
    lines += ["### Steps, in runbook order", "",
              "| # | Step | Outcome | Started (UTC) | Time | Detail |",
              "|---|------|---------|---------------|------|--------|"]
    for number, step in enumerate(drill.steps, 1):
        lines.append(f"| {number} | {cell(step.title)} | {step.outcome} | "
                     f"{layout.when(step.started_utc)} | {format_duration(step.elapsed_s)} | "
                     f"{cell(layout.step_detail(step))} |")
    return lines


def _findings(drill: DrillRecord) -> list[str]:
    found = layout.findings(drill)
    if not found:
        return []
    lines = ["", f"### Findings ({sum(f.total for f in found)})", ""]
    for group in found:
        lines += [f"#### {group.kind} ({group.total})", ""]
        lines += [f"- {line}" for line in group.shown]
        if group.full_list:
            lines.append(f"- … {group.total - len(group.shown)} more: the full list is in "
                         f"[{group.full_list}]({layout.href(group.full_list)})")
        lines.append("")
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
