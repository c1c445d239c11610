"""The growth section of bench/RESULTS.md: the main drill's phases and `pytest checks/` at each
scale of one run, their ratios to the smallest scale, their time per million rows, and the
issue's two goals read directly (the largest scale against the one below it)."""
from __future__ import annotations

from typing import Any

TITLE = "Growth with the data: the main drill's phases and the checks by scale"
NOTE = ("Each scale in the same run: the main drill (`pytest drills/test_uuid_rollback.py "
        "--scale N` as a child process; its phases read from the record it writes under its "
        "reports folder) and `pytest checks/` against a database seeded at that scale at "
        "revision 0001, where the drill's rollback lands (its snapshot taken first, the Vibes "
        "service running). Peak RSS: the pytest process's own (getrusage of itself, written "
        "at its end) and, after the slash, the largest of it and the children it waited for "
        "(the Vibes service, pg_dump, alembic). Rows: every table's rows seeded. Linear growth "
        "keeps the time per million rows flat; the pytest process's RSS should not grow.")
TIME_SLACK = 1.1  # the goal: 5M within 5.5x of 1M, i.e. within 1.1x of linear
RSS_GOAL = 1.2


def _mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.0f}"


def _rss(info: dict[str, Any]) -> str:
    return f"{_mib(info.get('own_rss_kib'))} / {_mib(info.get('peak_rss_kib'))}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}x"


def _per_million(seconds: float | None, rows: int | None) -> str:
    return "—" if seconds is None or not rows else f"{seconds / rows * 1e6:.3f}"


def _figures(found: dict[str, dict], prefix: str) -> dict[str, dict]:
    return {b["extra_info"]["scale"]: b for name, b in found.items() if name.startswith(prefix)}


def render(found: dict[str, dict[str, Any]]) -> list[str]:
    """The section's Markdown lines; none when the run measured no growth figure."""
    drills, checks = _figures(found, "test_growth_drill["), _figures(found, "test_growth_checks[")
    every = {**checks, **drills}
    if not every:
        return []
    scales = sorted(every, key=lambda s: every[s]["extra_info"]["journals"])
    phases = list(next((d["extra_info"]["phases"] for d in drills.values()), {}))
    rows = {s: checks[s]["extra_info"]["rows"] if s in checks else None for s in scales}

    def drill(scale: str, phase: str | None = None) -> float | None:
        if scale not in drills:
            return None
        info = drills[scale]["extra_info"]
        return drills[scale]["stats"]["median"] if phase is None else info["phases"].get(phase)

    def check(scale: str) -> float | None:
        return checks[scale]["stats"]["median"] if scale in checks else None

    def rss(scale: str, figures: dict[str, dict]) -> int | None:
        return figures[scale]["extra_info"].get("own_rss_kib") if scale in figures else None

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    out = ["", f"## {TITLE}", "", NOTE, "",
           line(["scale", "rounds", "journals", "rows seeded", "drill wall s",
                 *(f"{p} s" for p in phases),
                 "drill pytest peak RSS MiB", "checks s", "checks asserts",
                 "checks pytest peak RSS MiB"]),
           line(["---"] * (9 + len(phases)))]
    for s in scales:
        out.append(line([
            s, str(every[s]["stats"]["rounds"]), f"{every[s]['extra_info']['journals']:,}",
            f"{rows[s]:,}" if rows[s] else "—", _num(drill(s)),
            *(_num(drill(s, p)) for p in phases),
            _rss(drills[s]["extra_info"]) if s in drills else "—", _num(check(s)),
            str(checks[s]["extra_info"]["asserts"]) if s in checks else "—",
            _rss(checks[s]["extra_info"]) if s in checks else "—"]))
    base = scales[0]
    out += ["", f"Ratios to the smallest scale ({base}), medians of this run:", "",
            line(["scale", "rows", "drill wall", *phases, "checks", "drill pytest RSS",
                  "checks pytest RSS"]),
            line(["---"] * (6 + len(phases)))]
    for s in scales:
        out.append(line([
            s, _ratio(rows[s], rows[base]), _ratio(drill(s), drill(base)),
            *(_ratio(drill(s, p), drill(base, p)) for p in phases),
            _ratio(check(s), check(base)), _ratio(rss(s, drills), rss(base, drills)),
            _ratio(rss(s, checks), rss(base, checks))]))
    out += ["", "Seconds per million rows seeded (flat is linear growth):", "",
            line(["scale", "drill wall", *phases, "checks"]),
            line(["---"] * (3 + len(phases)))]
    for s in scales:
        out.append(line([s, _per_million(drill(s), rows[s]),
                         *(_per_million(drill(s, p), rows[s]) for p in phases),
                         _per_million(check(s), rows[s])]))
    return out + ["", *_goals(scales, rows, check, lambda s: rss(s, checks),
                              lambda s: rss(s, drills))]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _goals(scales, rows, check, checks_rss, drill_rss) -> list[str]:
    """The issue's goals, the largest scale against the one below it."""
    if len(scales) < 2:
        return [f"One scale only ({scales[0]}): no growth ratio. Hint: --bench-growth "
                "100k,1m,5m"]
    small, large = scales[-2], scales[-1]
    data = rows[large] / rows[small] if rows[large] and rows[small] else None
    said = ["| goal (largest scale ÷ the one below, same run) | value | goal | met |",
            "| --- | --- | --- | --- |"]

    def goal(what: str, a, b, limit: float | None) -> None:
        if a is None or not b or limit is None:
            said.append(f"| {what} | — | — | not measured |")
            return
        value = a / b
        said.append(f"| {what} | {value:.2f}x | within {limit:.2f}x | "
                    f"{'yes' if value <= limit else 'NO'} |")

    goal(f"pytest checks/ time, {large} ÷ {small} ({_ratio(rows[large], rows[small])} the rows)",
         check(large), check(small), data * TIME_SLACK if data else None)
    goal(f"checks' pytest peak RSS, {large} ÷ {small}", checks_rss(large), checks_rss(small),
         RSS_GOAL)
    goal(f"drill's pytest peak RSS, {large} ÷ {small}", drill_rss(large), drill_rss(small),
         RSS_GOAL)
    return said
