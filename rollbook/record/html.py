"""The rollback record as one self-contained HTML page, for auditors without a Markdown viewer:
the same sections as the Markdown record, summary first."""
from __future__ import annotations

from html import escape
from typing import Any

from rollbook.record import humanize, trend_view
from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, OUT_OF_SCOPE
from rollbook.record.clock import TOTAL_PHASE, format_duration
from rollbook.record.model import DrillRecord
from rollbook.record.summary import counts, numbered, own_facts, run_verdict, summarise
from rollbook.record.trend import DrillTrend

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.passed,.done{color:#176f2c}
.failed,.over{color:#b3261e;font-weight:600}.na{color:#666}
.unverified,.not-verified{color:#8a5a00;font-weight:600}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto}h2{border-top:2px solid #ddd;padding-top:1rem}
.verdict{font-size:1.3rem}.trend{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;width:240px}figcaption{font-size:.8rem;margin-bottom:.2rem;min-height:2.2rem}
"""
STATUS_CLASS = {DONE: "done", NOT_DONE: "failed", COULD_NOT_VERIFY: "unverified",
                OUT_OF_SCOPE: "na"}


def render_html(run: dict[str, Any], drills: list[DrillRecord],
                trends: dict[str, DrillTrend] | None = None) -> str:
    trends = trends or {}
    title = f"Rollback record — run {run.get('run_id', '?')}"
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>",
             f"<style>{STYLE}</style><h1>{escape(title)}</h1>", _summary(drills, trends),
             "<h2>Run</h2>", _facts(run)]
    parts += [_drill(heading, drill, trends.get(drill.test_id), run)
              for heading, drill in numbered(drills)]
    return "\n".join(parts) + "\n</html>\n"


def css_class(word: str) -> str:
    return escape(word.replace(" ", "-"))


def _summary(drills: list[DrillRecord], trends: dict[str, DrillTrend]) -> str:
    if not drills:
        return ("<h2>Summary</h2><p><em>No drill ran in this session, so there is no rollback "
                "to record.</em></p>")
    verdict = run_verdict(drills)
    rows = "".join(
        f"<tr><td>{escape(r.heading)}</td><td class={css_class(r.verdict)}>"
        f"{escape(r.verdict.upper())}</td><td>{escape(r.revisions)}</td><td>{escape(r.total)}"
        f"</td><td>{escape('; '.join(r.over_objective) or 'none')}</td>"
        f"<td>{escape('; '.join(r.not_verified) or 'none')}</td></tr>"
        for r in summarise(drills))
    return (f"<h2>Summary</h2><p class=verdict>Verdict: <b class={css_class(verdict)}>"
            f"{escape(verdict.upper())}</b> — {len(drills)} drill"
            f"{'s' if len(drills) > 1 else ''}: {escape(counts(drills))}.</p>"
            "<table><tr><th>Drill</th><th>Verdict</th><th>Revision before → after</th>"
            "<th>Total time of objective</th><th>Over objective</th><th>Not verified</th></tr>"
            f"{rows}</table>" + _trend_warnings(drills, trends))


def _trend_warnings(drills: list[DrillRecord], trends: dict[str, DrillTrend]) -> str:
    items = "".join(f"<li class=over>Trend warning ({escape(heading)}): {escape(warning)}</li>"
                    for heading, drill in numbered(drills)
                    for warning in (trends[drill.test_id].warnings
                                    if drill.test_id in trends else []))
    return f"<ul>{items}</ul>" if items else ""


def _facts(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(humanize.label(k))}</th>"
                   f"<td>{escape(humanize.value(k, v))}</td></tr>" for k, v in facts.items())
    return f"<table>{rows}</table>"


def _drill(heading: str, drill: DrillRecord, trend: DrillTrend | None,
           run: dict[str, Any]) -> str:
    verdict = escape(drill.verdict.upper())
    parts = [f"<h2>{escape(heading)} — <span class={css_class(drill.verdict)}>{verdict}"
             "</span></h2>",
             _facts({"test": drill.test_id, "started_utc": drill.started_utc or "—",
                     "ended_utc": drill.ended_utc or "—", **own_facts(drill, run),
                     **({"failure": drill.failure} if drill.failure else {})})]
    for number, decision in enumerate(drill.decisions, 1):
        severity = humanize.severity(decision.severity, decision.impact)
        impact = humanize.impact(decision.severity, decision.impact, decision.response_time)
        parts.append(f"<h3>Decision {number}: {escape(severity)}</h3><p>Matrix: "
                     f"<em>{escape(decision.matrix_action)}</em>{escape(impact)}; taken: <em>"
                     f"{escape(decision.action_taken)}</em>; decided in "
                     f"{format_duration(decision.time_to_decide_s)}</p><pre>"
                     + escape("\n".join(decision.signals)) + "</pre>")
    for title, rows in drill.tables.items():
        columns = list(rows[0]) if rows else []
        head = "".join(f"<th>{escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(row.get(c, '')))}</td>"
                                        for c in columns) + "</tr>" for row in rows)
        parts.append(f"<h3>{escape(title)}</h3><table><tr>{head}</tr>{body}</table>")
    rto = "".join(
        f"<tr><td>{'<b>' if p.name == TOTAL_PHASE else ''}{escape(p.name)}</td>"
        f"<td>{format_duration(p.objective_s)}</td><td>{format_duration(p.elapsed_s)}</td>"
        f"<td class={'over' if p.over_objective else css_class(p.status)}>"
        f"{'OVER OBJECTIVE' if p.over_objective else escape(p.status)}</td></tr>"
        for p in drill.clock.rows())
    parts.append("<h3>Recovery Time Objectives</h3><table><tr><th>Component</th><th>RTO "
                 f"Target</th><th>Actual Time</th><th>Status</th></tr>{rto}</table>")
    if trend is not None:
        parts.append(trend_view.html(trend))
    items = "".join(
        f"<tr><td>{escape(i.stage)}</td><td>{escape(i.text)}</td>"
        f"<td class={STATUS_CLASS[i.status]}>{escape(i.status)}</td>"
        f"<td>{escape(i.evidence)}</td></tr>" for i in drill.checklist.items.values())
    parts.append("<h3>Rollback Checklist</h3><table><tr><th>Stage</th><th>Item</th><th>Status"
                 f"</th><th>Evidence</th></tr>{items}</table>")
    steps = "".join(
        f"<tr><td>{n}</td><td>{escape(s.title)}</td><td class={css_class(s.outcome)}>"
        f"{escape(s.outcome)}</td><td>{escape(s.started_utc or '—')}</td>"
        f"<td>{format_duration(s.elapsed_s)}</td><td>{escape(s.detail)}</td></tr>"
        for n, s in enumerate(drill.steps, 1))
    parts.append("<h3>Steps, in runbook order</h3><table><tr><th>#</th><th>Step</th><th>Outcome"
                 f"</th><th>Started (UTC)</th><th>Time</th><th>Detail</th></tr>{steps}</table>")
    return "\n".join(parts)
