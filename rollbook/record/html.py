"""The rollback record as one self-contained HTML page, for auditors without a Markdown viewer."""
from __future__ import annotations

from html import escape
from typing import Any

from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE
from rollbook.record.clock import TOTAL_PHASE, format_duration
from rollbook.record.markdown import DrillRecord

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.passed,.done{color:#176f2c}
.failed,.over{color:#b3261e;font-weight:600}.na{color:#666}pre{background:#f6f6f6;padding:.6rem;
overflow-x:auto}h2{border-top:2px solid #ddd;padding-top:1rem}
"""
STATUS_CLASS = {DONE: "done", NOT_DONE: "failed", COULD_NOT_VERIFY: "unverified",
                OUT_OF_SCOPE: "na"}


def render_html(run: dict[str, Any], drills: list[DrillRecord]) -> str:
    title = f"Rollback record — run {run.get('run_id', '?')}"
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>",
             f"<style>{STYLE}</style><h1>{escape(title)}</h1>", _facts(run)]
    if not drills:
        parts.append("<p><em>No drill ran in this session, so there is no rollback to "
                     "record.</em></p>")
    parts += [_drill(drill) for drill in drills]
    return "\n".join(parts) + "\n</html>\n"


def _facts(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(k.replace('_', ' '))}</th><td>{escape(str(v))}</td></tr>"
                   for k, v in facts.items())
    return f"<table>{rows}</table>"


def _drill(drill: DrillRecord) -> str:
    verdict = escape(drill.verdict.upper())
    parts = [f"<h2>{escape(drill.title)} — <span class={escape(drill.verdict)}>{verdict}"
             "</span></h2>", _facts({"test": drill.test_id, **drill.facts,
                                      **({"failure": drill.failure} if drill.failure else {})})]
    for number, decision in enumerate(drill.decisions, 1):
        parts.append(f"<h3>Decision {number}: {escape(decision.severity)}</h3><p>Matrix: "
                     f"<em>{escape(decision.matrix_action)}</em> (respond "
                     f"{escape(decision.response_time)}); taken: <em>"
                     f"{escape(decision.action_taken)}</em>; decided in "
                     f"{format_duration(decision.time_to_decide_s)}</p><pre>"
                     + escape("\n".join(decision.signals)) + "</pre>")
    rto = "".join(
        f"<tr><td>{'<b>' if p.name == TOTAL_PHASE else ''}{escape(p.name)}</td>"
        f"<td>{format_duration(p.objective_s)}</td><td>{format_duration(p.elapsed_s)}</td>"
        f"<td class={'over' if p.over_objective else escape(p.status.replace(' ', '-'))}>"
        f"{'OVER OBJECTIVE' if p.over_objective else escape(p.status)}</td></tr>"
        for p in drill.clock.rows())
    parts.append("<h3>Recovery Time Objectives</h3><table><tr><th>Component</th><th>RTO "
                 f"Target</th><th>Actual Time</th><th>Status</th></tr>{rto}</table>")
    items = "".join(
        f"<tr><td>{escape(i.stage)}</td><td>{escape(i.text)}</td>"
        f"<td class={STATUS_CLASS[i.status]}>{escape(i.status)}</td>"
        f"<td>{escape(i.evidence)}</td></tr>" for i in drill.checklist.items.values())
    parts.append("<h3>Rollback Checklist</h3><table><tr><th>Stage</th><th>Item</th><th>Status"
                 f"</th><th>Evidence</th></tr>{items}</table>")
    steps = "".join(
        f"<tr><td>{n}</td><td>{escape(s.title)}</td><td class={escape(s.outcome)}>"
        f"{escape(s.outcome)}</td><td>{format_duration(s.elapsed_s)}</td>"
        f"<td>{escape(s.detail)}</td></tr>" for n, s in enumerate(drill.steps, 1))
    parts.append("<h3>Steps, in runbook order</h3><table><tr><th>#</th><th>Step</th><th>Outcome"
                 f"</th><th>Time</th><th>Detail</th></tr>{steps}</table>")
    return "\n".join(parts)
