"""bench/RESULTS.md from pytest-benchmark's JSON: every figure's median and spread, and ratios
of figures measured in the same run."""
from __future__ import annotations

import statistics
from typing import Any

import growth_table

RATIOS = (  # (section, what, numerator test, denominator test)
    ("checks", "pytest checks/ ÷ the runbook's commands and its health watch over the checks' "
     "window; the bar: 1.5x", "test_checks_serial", "test_runbook_with_monitoring"),
    ("checks", "pytest checks/ ÷ the runbook's commands without its monitoring",
     "test_checks_serial", "test_runbook_commands"),
    ("checks", "pytest checks/ -n 2 ÷ -n 0", "test_checks_two_workers", "test_checks_serial"),
    ("compare", "rollbook ÷ reladiff, no difference", "test_rollbook_same", "test_reladiff_same"),
    ("compare", "rollbook ÷ reladiff, verdict on one changed row", "test_rollbook_changed",
     "test_reladiff_changed_named"),
    ("compare", "rollbook ÷ reladiff, changed row's key named", "test_rollbook_changed_named",
     "test_reladiff_changed_named"),
    ("rows", "changed row's key named: rollbook diff-rows from the baseline alone ÷ reladiff "
     "with both live", "test_rollbook_rows_named", "test_reladiff_rows_named"),
    ("rows", "rollbook snapshot: with row digests ÷ without", "test_snapshot[with]",
     "test_snapshot[without]"),
    ("floors", "rollbook's digest ÷ count(*)", "test_digest_one_table", "test_floor_count"),
    ("floors", "rollbook's digest ÷ every row to text", "test_digest_one_table",
     "test_floor_text"),
    ("parallel", "one table's digest: no parallel workers ÷ server default",
     "test_parallel_digest[off]", "test_parallel_digest[default]"),
    ("parallel", "orphan search: no parallel workers ÷ server default",
     "test_parallel_orphans[off]", "test_parallel_orphans[default]"),
    ("parallel", "pytest checks/: no parallel workers ÷ server default",
     "test_parallel_checks[off]", "test_parallel_checks[default]"),
    ("drill", "main drill ÷ its floor (seed + upgrade + downgrade); the bar: 1.3x",
     "test_drill_main", "test_drill_floor"),
)
SECTIONS = {
    "checks": ("Checks against the runbook's commands",
               ("test_checks_serial", "test_checks_two_workers", "test_runbook_commands",
                "test_runbook_with_monitoring")),
    "compare": ("Comparing two databases' journals (rollbook against reladiff)",
                ("test_rollbook_same", "test_reladiff_same", "test_rollbook_changed",
                 "test_rollbook_changed_named", "test_reladiff_changed_named")),
    "rows": ("Rows named from the baseline alone",
             ("test_rollbook_rows_named", "test_reladiff_rows_named", "test_snapshot[with]",
              "test_snapshot[without]")),
    "floors": ("One table's digest against its floors",
               ("test_digest_one_table", "test_floor_count", "test_floor_text")),
    "parallel": ("PostgreSQL's parallel workers on the big scans",
                 tuple(f"test_parallel_{what}[{workers}]" for what in ("digest", "orphans",
                                                                       "checks")
                       for workers in ("default", "off"))),
    "seed": ("Seeding", ("test_seed",)),
    "drill": ("The main drill against its floor", ("test_drill_main", "test_drill_floor")),
}

NOTES = {
    "checks": "Both runs are the same `pytest checks/` command against the same database and "
              "snapshot, with the pytest plugins an operator's `pip install rollbook` brings "
              "(not those of rollbook's test tools: hypothesis, pytest-benchmark); -n 2 adds "
              "two xdist workers on the same server. Peak RSS is the "
              "largest single process of the run (wait4's ru_maxrss of the child and what it "
              "waited for), not a sum over workers. In one process the checks' database "
              "measurements start at session start on two read-only connections "
              "(rollbook/pytest_plugin/measure_ahead.py), and so does the post-rollback "
              "watch (every 1 s over 3 s in prod.example): pytest's start-up plus that window "
              "is the serial run's floor. The runbook watches too (`watch -n 30 'curl -s "
              ".../health | jq'`, for as long as a person looks): the second runbook figure "
              "adds that watch, bounded by the checks' window and interval, after its psql "
              "commands, as the bar's denominator; the first leaves it out, as the earlier "
              "runs did. The four figures are measured in the same rounds: each round runs "
              "both runbook figures, `pytest checks/` and -n 2, the next round in the "
              "reverse order, so "
              "each ratio is the median of the per-round ratios, each round measuring both, "
              "alternating which goes first. The runbook's commands start 20 processes, so a "
              "loaded machine still slows them more than the checks: compare ratios of quiet "
              "runs.",
    "compare": "Same pair of databases on one server: `vibes` and a copy (FILE_COPY template) "
               "with nothing or one journal's title changed. rollbook's verdict digests both "
               "tables; its naming adds the reference's key-range digests (what `rollbook "
               "snapshot` stores) and bisection, and names the key range of one leaf (1/256 "
               "of the key span), where reladiff names the key itself. reladiff compares every "
               "column, with its defaults (one thread per side).",
    "rows": "The changed journal of the compare pair named by key as `rollbook diff-rows "
            "--table journals` names it: the baseline file `rollbook snapshot` wrote of "
            "`vibes` (key-range digests and the row digests' sidecar, its sha256 checked on "
            "load) and `vibes_changed` alone, over a read-only checks connection: the table's "
            "digest, bisection to the differing leaves, those leaves' live rows merged with the "
            "sidecar's, and the rows beyond the baseline's largest key; against reladiff "
            "naming it with both databases live (every column, its defaults), measured in this "
            "section. `rollbook snapshot` of `vibes` (profile prod.example) with and without "
            "row digests, in the same rounds: its ratio is the median of the per-round ratios, "
            "each round measuring both, alternating which goes first; the sidecar's bytes per "
            "row, every table and journals, from the snapshot the bench took (the bar: 20).",
    "floors": "One table, one database: rollbook's digest (one statement: count, digest, key "
              "range) against `count(*)` and against `sum(length(t::text))`.",
    "parallel": "The same statements and checks with the server's default "
                "max_parallel_workers_per_gather and with 0: SET on the checks' read-only "
                "connection for the digest (journals) and the orphan search (journals.user_id),"
                " the database's default (ALTER DATABASE ... SET, reset after) for `pytest "
                "checks/`. A ratio above 1 is what the parallel workers gave. rollbook sets "
                "nothing that turns them off, so the server's default stays: the digest and "
                "orphan search are planned with workers (see EXPLAIN's workers planned) and "
                "the one-table scans gain most; `pytest checks/` as a whole spends most of its "
                "time outside those scans (process start, the API and monitoring checks, a "
                "round trip per check), so its ratio stays near 1, within its spread.",
    "seed": "Vibes at revision 0001 into a fresh database each round (migrating not timed).",
    "drill": "The main drill (`pytest drills/test_uuid_rollback.py --scale N` as a child "
             "process, as the growth figures run it: its own embedded server, service, "
             "record) against the database work it cannot do without, alone, on the bench's "
             "server: a fresh database migrated to 0001 and seeded, `alembic upgrade 0002`, "
             "`alembic downgrade -1`. What the ratio has above 1 is rollbook's own: the "
             "baseline, the backups, the checks, the service, the record. The timeline lists "
             "the drill's steps (outermost only, medians) beside the floor's parts. On a "
             "shared machine the floor and the drill run minutes apart under different load, "
             "so the drill's wall is also divided by its own steps that do the floor's work "
             "(the same process, the same minutes): the figure least moved by the load.",
}


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in report["benchmarks"]}


def _figure_row(bench: dict[str, Any]) -> str:
    stats, info = bench["stats"], bench["extra_info"]
    spread = f"{stats['min']:.3f}–{stats['max']:.3f} (IQR {stats['iqr']:.3f})"
    notes = [f"asserts: {info['asserts']} {info['asserts_what']}"] if "asserts" in info else []
    notes += [info[key] for key in ("named", "note") if key in info]
    if "peak_rss_kib" in info:
        notes.append(f"peak RSS {info['peak_rss_kib'] / 1024:.0f} MiB (largest process)")
    if "rows" in info:
        notes.append(f"{info['rows']:,} rows, {info['rows'] / stats['median']:,.0f} rows/s")
    return (f"| {info.get('figure', bench['name'])} | {stats['median']:.3f} | {spread} | "
            f"{stats['rounds']} | {'; '.join(notes)} |")


def _drill_timeline(found: dict[str, dict[str, Any]]) -> list[str]:
    """The main drill's outermost steps and the floor's parts, medians of the same run, and
    the drill's wall against its own floor steps (the same process)."""
    drill, floor = found.get("test_drill_main"), found.get("test_drill_floor")
    if drill is None or floor is None:
        return []
    info, parts = drill["extra_info"], floor["extra_info"]["parts"]
    lines = ["", "| the drill's step (median s) | s | the floor's part | s |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {title} | {seconds:.2f} |  |  |" for title, seconds in info["steps"].items()]
    lines += [f"|  |  | {part} | {seconds:.2f} |" for part, seconds in parts.items()]
    lines += [f"| outside the steps (pytest, server start, set-up, teardown, record) | "
              f"{info['outside_steps_s']:.2f} |  |  |",
              f"| **drill wall** | {drill['stats']['median']:.2f} | **floor** | "
              f"{sum(parts.values()):.2f} |"]
    lines += ["", "| ratio (same process) | value |", "| --- | --- |",
              f"| main drill ÷ its own migrate, seed, upgrade and downgrade steps "
              f"({info['own_floor_s']:.2f} s) | {info['own_floor_ratio']:.2f}x |"]
    return lines


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    """a ÷ b: the median of the per-round ratios and their range when both were measured in the
    same rounds (bench/conftest.py's Interleaved), else the ratio of the two medians."""
    rounds = [f["extra_info"].get("interleaved", {}) for f in (a, b)]
    if rounds[0].get("orders") and rounds[0].get("orders") == rounds[1].get("orders"):
        ratios = [x / y for x, y in zip(rounds[0]["rounds_s"], rounds[1]["rounds_s"],
                                        strict=True)]
        return (f"{statistics.median(ratios):.2f}x (per round {min(ratios):.2f}x–"
                f"{max(ratios):.2f}x, {len(ratios)} rounds)")
    return f"{a['stats']['median'] / b['stats']['median']:.2f}x"


def render(report: dict[str, Any], run: dict[str, str]) -> str:
    """The Markdown of one run: `run` holds the command, machine and versions."""
    found = _by_name(report)
    lines = ["# rollbook benchmarks", "",
             "Written by `bench/run`. A ratio marked \"per round\" is the median of the "
             "per-round ratios, each round measuring both figures, alternating which goes first "
             "(their range beside it); every other ratio divides two medians measured in the "
             "same run.",
             "", "## Machine and versions", ""]
    lines += [f"- {key}: {value}" for key, value in run.items()]
    for section, (title, names) in SECTIONS.items():
        lines += ["", f"## {title}", "",
                  NOTES[section], "",
                  "| figure | median s | spread s: min–max (IQR) | rounds | notes |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [_figure_row(found[name]) for name in names if name in found]
        ratios = [(what, _ratio(found[a], found[b]))
                  for s, what, a, b in RATIOS if s == section and a in found and b in found]
        measures = [m for name in names if name in found
                    for m in found[name]["extra_info"].get("measures", [])]
        if ratios or measures:
            lines += ["", "| ratio (same run) | value |", "| --- | --- |"]
            lines += [f"| {what} | {value} |" for what, value in ratios]
            lines += [f"| {what} | {value} |" for what, value in measures]
        if section == "drill":
            lines += _drill_timeline(found)
    return "\n".join(lines + growth_table.render(found)) + "\n"
