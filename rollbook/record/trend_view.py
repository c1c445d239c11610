"""The trend of each phase across drills, as the record shows it: a Markdown table, and small
inline SVG charts for the HTML record (no script, no external file)."""
from __future__ import annotations

from html import escape

from rollbook.record.clock import format_duration
from rollbook.record.trend import NOISE_FLOOR_S, DrillTrend, PhaseTrend

WIDTH, HEIGHT, PAD = 240, 90, 6
FIRST_RUN = ("The history holds no earlier run of this drill at the same revisions and scale: "
             "the trend starts with this one (it needs the history file of earlier runs, see "
             "--history).")


def run_label(run_id: str, *, this_run: bool) -> str:
    """20261130T100522Z-41e9df -> 11-30 10:05."""
    if this_run:
        return "this run"
    if len(run_id) >= 13 and run_id[8] == "T":
        return f"{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]}"
    return run_id


def explanation(trend: DrillTrend) -> str:
    return (f"The last {len(trend.runs)} runs of this drill at the same revisions and scale "
            f"(history file), oldest first. A "
            f"phase is flagged when this run is more than {trend.growth_share:.0%} and "
            f"{NOISE_FLOOR_S:g} s above the median of the runs before it.")


def markdown(trend: DrillTrend) -> list[str]:
    if len(trend.runs) < 2:
        return ["### Trend", "", FIRST_RUN]
    labels = [run_label(r, this_run=i == len(trend.runs) - 1) for i, r in enumerate(trend.runs)]
    lines = [f"### Trend over the last {len(trend.runs)} runs", "", explanation(trend), "",
             "| Phase | Objective | " + " | ".join(labels) + " |",
             "|-------|-----------|" + "|".join("---" for _ in labels) + "|"]
    for phase in trend.phases:
        cells = " | ".join(format_duration(v) for v in phase.values)
        lines.append(f"| {phase.phase} | {format_duration(phase.objective_s)} | {cells} |")
    lines.append("")
    lines += [f"- **Warning**: {w}" for w in trend.warnings] or ["No phase grew beyond the "
                                                                "warning threshold."]
    return lines


def html(trend: DrillTrend) -> str:
    if len(trend.runs) < 2:
        return (f"<h3>Trend</h3><p>{FIRST_RUN}</p>")
    charts = "".join(_chart(phase) for phase in trend.phases)
    warnings = "".join(f"<li class=over>{escape(w)}</li>" for w in trend.warnings)
    return (f"<h3>Trend over the last {len(trend.runs)} runs</h3><p>{escape(explanation(trend))}"
            f"</p><div class=trend>{charts}</div>"
            + (f"<ul>{warnings}</ul>" if warnings else
               "<p>No phase grew beyond the warning threshold.</p>"))


def _chart(phase: PhaseTrend) -> str:
    """One phase: its times as a line (the last point marked), its objective dashed when it
    fits the scale, else named under the chart."""
    known = [v for v in phase.values if v is not None]
    top = max(known, default=0.0) * 1.25 or 1.0
    objective = phase.objective_s
    if objective is not None and objective <= top * 1.5:
        top = max(top, objective * 1.1)
    step = (WIDTH - 2 * PAD) / max(len(phase.values) - 1, 1)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    points = [(PAD + i * step, y(v)) for i, v in enumerate(phase.values) if v is not None]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
    parts = [f'<svg role="img" aria-label="{escape(phase.phase)}" width="{WIDTH}" '
             f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa" stroke="#ddd"/>']
    if objective is not None and objective <= top:
        parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(objective):.1f}" '
                     f'y2="{y(objective):.1f}" stroke="#b3261e" stroke-dasharray="4 3"/>')
    if points:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1a5fb4" '
                     'stroke-width="2"/>')
        last_x, last_y = points[-1]
        parts.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3.5" '
                     f'fill="{"#b3261e" if phase.warning else "#1a5fb4"}"/>')
    parts.append("</svg>")
    latest = format_duration(phase.values[-1] if phase.values else None)
    scale = (f"objective {format_duration(objective)}"
             + ("" if objective is None or objective <= top else " (far above the chart)"))
    return (f"<figure><figcaption><b>{escape(phase.phase)}</b>: {escape(latest)} now; "
            f"{escape(scale)}</figcaption>{''.join(parts)}</figure>")
