"""The rollback record as one self-contained HTML page, for auditors without a Markdown viewer:
the same sections as the Markdown record, in the same order (summary, recovery-time table,
checklist, run, then each drill's details, collapsed, with a table of contents). No script;
readable from 768 px wide: tables wrap, nothing scrolls sideways, and no word is split across
lines (rollbook/record/wrap.py says where long identifiers may wrap)."""
from __future__ import annotations

from html import escape
from typing import Any

from rollbook.record import humanize, layout, trend_view, wrap
from rollbook.record.clock import TOTAL_PHASE, format_duration
from rollbook.record.model import DrillRecord
from rollbook.record.summary import (
    Session,
    in_record_order,
    numbered,
    own_facts,
    summarise,
    verdict_line,
)
from rollbook.record.trend import DrillTrend

STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem auto;padding:0 1rem;max-width:70rem;
color:#222;overflow-wrap:break-word}
div.table{overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;max-width:100%}
td,th{border:1px solid #ccc;padding:.3rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:normal;word-break:normal;hyphens:manual}
td{min-width:3rem}th{background:#f3f3f3}td.item{min-width:10rem}
th.stage{background:#fafafa;font-weight:600}
td.passed,td.done,td.failed,td.over,td.na,td.not-run,td.unverified,td.not-verified,td.skipped,
td.nowrap{white-space:nowrap}
.passed,.done{color:#176f2c}.failed,.over{color:#b3261e;font-weight:600}.na{color:#666}
.unverified,.not-verified,.skipped{color:#8a5a00;font-weight:600}
pre{background:#f6f6f6;padding:.6rem;white-space:pre-wrap}
h2{border-top:2px solid #ddd;padding-top:1rem}
.verdict{font-size:1.3rem}.trend{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;width:240px}figcaption{font-size:.8rem;margin-bottom:.2rem;min-height:2.2rem}
details.drill{border:1px solid #ddd;border-radius:4px;margin:.6rem 0;padding:0 .8rem}
details.drill>summary{font-size:1.15rem;font-weight:600;padding:.5rem 0;cursor:pointer}
details.rows>summary{cursor:pointer;margin:.3rem 0}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
ul.rows{margin:.2rem 0;padding-left:1.2rem}
@media (max-width:64rem){body{padding:0 .5rem}details.drill{padding:0 .4rem}
table{font-size:.85rem}td,th{padding:.2rem .3rem}td{min-width:2rem}td.item{min-width:7rem}}
""" + wrap.STYLE


VERDICT_WORDS = ("passed", "failed", "skipped", "not verified")


def render_html(run: dict[str, Any], drills: list[DrillRecord],
                trends: dict[str, DrillTrend] | None = None, *,
                session: Session | None = None, links: dict[str, str] | None = None) -> str:
    trends = trends or {}
    drills = in_record_order(drills)
    title = f"Rollback record — run {run.get('run_id', '?')}"
    parts = [page_head(title), _toc(drills),
             _summary(drills, trends, session, links or {}), _rto(drills),
             _checklist(drills), "<h2 id=run>Run</h2>", facts_table(run)]
    if drills:
        parts.append("<h2 id=drills>Drills</h2>")
    parts += [_drill(number, heading, drill, trends.get(drill.test_id), run)
              for number, (heading, drill) in enumerate(numbered(drills), 1)]
    return "\n".join(parts) + "\n</body></html>\n"


def page_head(title: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width,initial-scale=1'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>")


def css_class(word: str) -> str:
    return escape(word.replace(" ", "-"))


def links_html(links: dict[str, str]) -> str:
    if not links:
        return ""
    return "<p>Kept with this run: " + " · ".join(
        f"<a href='{layout.href(path)}'>{escape(label)}</a>" for label, path in links.items()
    ) + "</p>"


def rows_table(columns: list[str], rows: list[list[str]], classes: list[list[str]] | None = None
               ) -> str:
    """A table of escaped header cells and already-built (HTML) body cells."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{f' class={cls}' if cls else ''}>{cell}</td>" for cell, cls in
                         zip(row, (classes[i] if classes else [""] * len(row)), strict=True))
        + "</tr>" for i, row in enumerate(rows))
    return boxed(f"<table><tr>{head}</tr>{body}</table>")


def boxed(table: str) -> str:
    """A table in a box of its own: should it ever be wider than the page, it scrolls there,
    never the page."""
    return f"<div class=table>{table}</div>"


def _toc(drills: list[DrillRecord]) -> str:
    """The sections, and where the drills begin: the summary table links each drill."""
    sections = [("summary", "Summary")]
    if drills:
        sections += [("rto", "Recovery Time Objectives"), ("checklist", "Rollback Checklist")]
    sections += [("run", "Run")]
    if drills:
        sections += [("drills", f"Drill details ({len(drills)}, each linked from the summary)")]
    items = "".join(f"<li><a href='#{anchor}'>{name}</a></li>" for anchor, name in sections)
    return f"<nav><b>Contents</b><ul>{items}</ul></nav>"


def _summary(drills: list[DrillRecord], trends: dict[str, DrillTrend],
             session: Session | None, links: dict[str, str]) -> str:
    verdict, rests_on = verdict_line(drills, session)
    head = (f"<h2 id=summary>Summary</h2><p class=verdict>Verdict: <b class={css_class(verdict)}>"
            f"{escape(verdict.upper())}</b> — {escape(rests_on)}.</p>" + links_html(links))
    if not drills:
        return head
    rows = [[f"<a href='#{r.anchor}'>{escape(r.heading)}</a>", escape(r.verdict.upper()),
             wrap.html(r.revisions), wrap.html(r.total),
             wrap.html("; ".join(r.over_objective) or "none"),
             wrap.html("; ".join(r.not_verified) or "none")] for r in summarise(drills)]
    classes = [["", css_class(r.verdict), "", "", "", ""] for r in summarise(drills)]
    return head + rows_table(["Drill", "Verdict", "Revision before → after",
                              "Total time of objective", "Over objective", "Not verified"],
                             rows, classes) + _trend_warnings(drills, trends)


def _trend_warnings(drills: list[DrillRecord], trends: dict[str, DrillTrend]) -> str:
    items = "".join(f"<li class=over>Trend warning ({escape(heading)}): {escape(warning)}</li>"
                    for heading, drill in numbered(drills)
                    for warning in (trends[drill.test_id].warnings
                                    if drill.test_id in trends else []))
    return f"<ul>{items}</ul>" if items else ""


def _rto(drills: list[DrillRecord]) -> str:
    if not drills:
        return ""
    columns = layout.rto_columns(drills)
    rows, classes = [], []
    for number, drill in enumerate(drills, 1):
        cells = [layout.rto_cell(drill, name) for name in columns]
        rows.append([f"<a href='#drill-{number}'>Drill {number}</a>",
                     *(wrap.html(text) for text, _ in cells)])
        classes.append(["", *("over" if over else "" for _, over in cells)])
    return ("<h2 id=rto>Recovery Time Objectives</h2><p>Each phase's time against its "
            "objective; OVER marks a phase over it.</p>"
            + rows_table(["Drill", *columns], rows, classes))


def _checklist(drills: list[DrillRecord]) -> str:
    if not drills:
        return ""
    rows = [[wrap.html(stage), wrap.html(text), wrap.html(status)]
            for stage, text, status in layout.checklist_rows(drills)]
    return ("<h2 id=checklist>Rollback Checklist</h2><p>Where each item stands in each drill; "
            "the evidence is under each drill.</p>"
            + rows_table(["Stage", "Item", "Status"], rows))


def facts_table(facts: dict[str, Any]) -> str:
    rows = []
    for label, text in layout.fact_rows(facts):
        if isinstance(text, list):
            value = "<ul class=rows>" + "".join(
                f"<li>{wrap.html(name)}: {wrap.html(entry)}</li>" for name, entry in text) + "</ul>"
        else:
            value = wrap.html(text)
        rows.append(f"<tr><th>{escape(label)}</th><td>{value}</td></tr>")
    return boxed(f"<table>{''.join(rows)}</table>")


def _drill(number: int, heading: str, drill: DrillRecord, trend: DrillTrend | None,
           run: dict[str, Any]) -> str:
    verdict = escape(drill.verdict.upper())
    facts = {"test": drill.test_id, "started_utc": drill.started_utc or "—",
             "ended_utc": drill.ended_utc or "—", **own_facts(drill, run),
             **({"failure": drill.failure} if drill.failure else {})}
    parts = [f"<details class=drill id=drill-{number}>"
             f"<summary>{escape(heading)} — <span class={css_class(drill.verdict)}>{verdict}"
             "</span></summary>", facts_table(facts)]
    if drill.evidence:
        parts.append("<p>Evidence: " + ", ".join(
            f"<a href='{layout.href(path)}'>{escape(label)}</a>"
            for label, path in drill.evidence.items()) + "</p>")
    parts.append(_findings(drill))
    if layout.warning_lines(drill):
        parts.append(f"<h3>Warnings raised ({len(drill.warnings)}; recorded, not failures)"
                     "</h3><ul>" + "".join(f"<li>{wrap.html(line)}</li>"
                                           for line in layout.warning_lines(drill)) + "</ul>")
    rto = [[("<b>%s</b>" if p.name == TOTAL_PHASE else "%s") % escape(p.name),
            format_duration(p.objective_s), format_duration(p.elapsed_s),
            escape(layout.phase_status(drill, p))]
           for p in drill.clock.rows()]
    parts.append("<h3>Recovery Time Objectives</h3>" + rows_table(
        ["Component", "RTO Target", "Actual Time", "Status"], rto,
        [["", "", "", "over" if p.over_objective else css_class(p.status)]
         for p in drill.clock.rows()]))
    if trend is not None:
        parts.append(trend_view.html(trend))
    parts.append("<h3>Rollback Checklist</h3>" + _drill_checklist(drill))
    for n, decision in enumerate(drill.decisions, 1):
        severity = humanize.severity(decision.severity, decision.impact)
        impact = humanize.impact(decision.severity, decision.impact, decision.response_time)
        parts.append(f"<h3>Decision {n}: {escape(severity)}</h3><p>Matrix: "
                     f"<em>{escape(decision.matrix_action)}</em>{escape(impact)}; taken: <em>"
                     f"{escape(decision.action_taken)}</em>; decided in "
                     f"{format_duration(decision.time_to_decide_s)}</p><pre>"
                     + escape("\n".join(decision.signals)) + "</pre>")
    parts += [_table(title, rows) for title, rows in drill.tables.items()]
    steps = [[str(n), wrap.html(s.title), escape(s.outcome), escape(layout.when(s.started_utc)),
              format_duration(s.elapsed_s), wrap.html(layout.step_detail(s))]
             for n, s in enumerate(drill.steps, 1)]
    parts.append("<h3>Steps, in runbook order</h3>" + rows_table(
        ["#", "Step", "Outcome", "Started (UTC)", "Time", "Detail"], steps,
        [["", "", css_class(s.outcome), "", "nowrap", ""] for s in drill.steps]))
    return "\n".join(parts) + "</details>"


def _drill_checklist(drill: DrillRecord) -> str:
    """The drill's checklist with its evidence, under one heading row per runbook stage."""
    rows, stage = [], None
    for item in drill.checklist.items.values():
        if item.stage != stage:
            stage = item.stage
            rows.append(f"<tr><th class=stage colspan=3>{escape(stage)}</th></tr>")
        rows.append(f"<tr><td class=item>{wrap.html(item.text)}</td><td class="
                    f"{layout.status_word(item.status)}>{escape(item.status)}</td>"
                    f"<td>{wrap.html(item.evidence)}</td></tr>")
    return boxed("<table><tr><th>Item</th><th>Status</th><th>Evidence</th></tr>"
                 + "".join(rows) + "</table>")


def _table(title: str, rows: list[dict[str, str]]) -> str:
    """A drill's table; a long one collapsed, its headline (first) row shown above the rest."""
    columns, cells = layout.table_parts(rows)
    body = [[wrap.html(row[c]) for c in columns] for row in cells]
    classes = [[css_class(row[c]) if row[c] in VERDICT_WORDS else "" for c in columns]
               for row in cells]
    if not layout.long(rows):
        return f"<h3>{escape(title)}</h3>" + rows_table(columns, body, classes)
    return (f"<h3>{escape(title)} ({len(rows)} rows)</h3>"
            + rows_table(columns, body[:1], classes[:1])
            + f"<details class=rows><summary>all {len(rows)} rows</summary>"
            + rows_table(columns, body, classes) + "</details>")


def _findings(drill: DrillRecord) -> str:
    found = layout.findings(drill)
    if not found:
        return ""
    parts = [f"<h3>Findings ({sum(f.total for f in found)})</h3>"]
    for group in found:
        more = (f"<li>… {group.total - len(group.shown)} more: the full list is in <a "
                f"href='{layout.href(group.full_list)}'>{wrap.html(group.full_list)}</a></li>"
                if group.full_list else "")
        parts.append(f"<h4>{escape(group.kind)} ({group.total})</h4><ul>"
                     + "".join(f"<li>{wrap.html(line)}</li>" for line in group.shown)
                     + more + "</ul>")
    return "".join(parts)
