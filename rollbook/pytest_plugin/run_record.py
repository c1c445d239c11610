"""The run's record, written at the end of the session into its run folder (before the seal):
who, when and why it ran, every drill's record in Markdown and HTML with its trend, the Allure
categories and HTML report, and which `latest` link points at it.
Options: --reason, --history, --trend-growth, --allure-html."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from html import escape
from pathlib import Path

import pytest

from rollbook.pytest_plugin import warning_log
from rollbook.pytest_plugin.reporting import RUN_DIR, RUN_ID
from rollbook.pytest_plugin.seal import interruption
from rollbook.record import allure_html, allure_meta, checks_record, trend
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord, utc_now
from rollbook.record.redact import redact_text
from rollbook.record.runinfo import (
    default_reason,
    git_sha,
    operator,
    package_version,
    python_version,
    write_properties,
)
from rollbook.record.summary import Session

STARTED = pytest.StashKey[str]()
REASON = pytest.StashKey[str]()
SAID = pytest.StashKey[list]()  # lines for the end of the run
# Facts of the drills that describe the whole run.
SHARED_FACTS = ("profile", "server", "server_version", "client_tools", "scale")
HISTORY = "history.jsonl"  # beside the run folders, carried between runs by CI's cache
ALLURE_HISTORY = "allure-history.jsonl"
ALLURE_HTML = ("auto", "yes", "no")


def pytest_addoption(parser):
    group = parser.getgroup("rollbook")
    group.addoption("--reason", default=None, type=str,
                    help="why this run happens, for the record (default: from how it was "
                         "started: a pipeline schedule, a CI job, or by hand). "
                         "Env: ROLLBOOK_REASON.")
    group.addoption("--history", default=None, type=str,
                    help="the JSON-lines file each drill run appends its phase times to, for "
                         "the record's trend (default: history.jsonl beside the run folders). "
                         "Env: ROLLBOOK_HISTORY.")
    group.addoption("--trend-growth", default=None, type=float,
                    help=f"warn when a phase took this share longer than the median of its "
                         f"last runs (default {trend.GROWTH_SHARE:g}).")
    group.addoption("--allure-html", choices=ALLURE_HTML, default=None,
                    help="render the Allure results of a drill run into allure-report/ with "
                         "Allure Report 3 (npx allure generate): auto = when node is found "
                         "(default). Env: ROLLBOOK_ALLURE_HTML.")


def pytest_configure(config):
    share = config.getoption("--trend-growth")
    if share is not None and not 0 < share < 100:
        raise pytest.UsageError(f"--trend-growth {share:g}: not a share. Hint: 0.25 warns when "
                                "a phase takes a quarter longer than in its last runs.")
    html = os.environ.get("ROLLBOOK_ALLURE_HTML")
    if html is not None and html not in ALLURE_HTML:
        raise pytest.UsageError(f"ROLLBOOK_ALLURE_HTML={html!r}: not one of "
                                f"{', '.join(ALLURE_HTML)}. Hint: ROLLBOOK_ALLURE_HTML=no skips "
                                "the Allure HTML report.")
    config.stash[STARTED] = utc_now()
    config.stash[REASON] = (config.getoption("--reason") or os.environ.get("ROLLBOOK_REASON")
                            or default_reason(os.environ))


def run_reason(config) -> str:
    """Why this run happens: --reason, ROLLBOOK_REASON, or how it was started."""
    stashed = config.stash.get(REASON, None) if config is not None else None
    return stashed or default_reason(os.environ)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    run_dir = config.stash.get(RUN_DIR, None)
    if getattr(config, "workerinput", None) is not None or run_dir is None:
        return
    if not run_dir.is_dir():  # --collect-only, --fixtures, --help: no run folder
        return
    loaded = {path: DrillRecord.load(path) for path in (run_dir / "records").glob("*.json")}
    warning_log.file_warnings(config, run_dir, loaded)
    drills = sorted(loaded.values(), key=lambda drill: drill.started_utc)  # in the order they ran
    run = run_facts(config, drills)
    trends = _trends(config, run_dir, run, drills)
    if config.option.allure_report_dir:
        write_properties(Path(config.option.allure_report_dir) / "environment.properties",
                         {k: redact_text(str(v)) for k, v in run.items()})
        _publish_allure(config, Path(config.option.allure_report_dir), run_dir, drills)
    stopped = interruption(config)
    outcome = Session(_outcomes(config), int(exitstatus))
    links = record_links(run_dir)
    checks = checks_record.load(run_dir / "checks")
    if checks and not drills:  # a checks run: its own record, titled and shaped as one
        name = "checks-record"
        markdown = checks_record.render_markdown(run, checks, session=outcome, links=links)
        html = checks_record.render_html(run, checks, session=outcome, links=links)
        config.stash.setdefault(SAID, []).append(
            f"checks record {run_dir / 'checks-record.md'} (and .html)")
    else:
        name = "rollback-record"
        markdown = render_markdown(run, drills, trends, session=outcome, links=links)
        html = render_html(run, drills, trends, session=outcome, links=links)
    if stopped:  # said first, before anything that reads like a finished run
        markdown = f"> **{stopped}.**\n\n{markdown}"
        html = html.replace("</style>", f"</style><p><strong>{escape(stopped)}.</strong></p>", 1)
    (run_dir / f"{name}.md").write_text(redact_text(markdown), encoding="utf-8")
    (run_dir / f"{name}.html").write_text(redact_text(html), encoding="utf-8")
    if not stopped:  # `latest` and `latest-checks` stay on the last run that finished
        config.stash.setdefault(SAID, []).extend(_point_latest(run_dir, drills))


def _outcomes(config) -> dict[str, int]:
    """The session's tally as pytest's own summary line counts it."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {}) or {}
    return {key: len(stats[key]) for key in ("passed", "failed", "error", "skipped",
                                            "xfailed", "xpassed") if stats.get(key)}


def record_links(run_dir: Path) -> dict[str, str]:
    """What the record links to in its run folder: the kept evidence, the Allure report."""
    links = {}
    if (run_dir / "evidence").is_dir():
        links["evidence"] = "evidence/"
    if (run_dir / "allure-report" / "index.html").is_file():
        links["Allure report (serve it: npx allure open allure-report)"] = \
            "allure-report/index.html"
    if (run_dir / "allure-results").is_dir():
        links["Allure results"] = "allure-results/"
    if (run_dir / warning_log.WARNINGS_FILE).is_file():
        links["warnings raised"] = warning_log.WARNINGS_FILE
    return links


def history_path(config, run_dir: Path) -> Path:
    value = config.getoption("--history") or os.environ.get("ROLLBOOK_HISTORY")
    return Path(value).expanduser() if value else run_dir.parent / HISTORY


def _trends(config, run_dir: Path, run: dict, drills: list[DrillRecord]) -> dict:
    """Append this run's drills to the history, and read back each one's last runs."""
    if not drills:
        return {}
    path = history_path(config, run_dir)
    try:
        trend.append(path, run, drills)
    except OSError as exc:
        config.stash.setdefault(SAID, []).append(
            f"the trend history {path} could not be written: {exc.strerror or exc}. Hint: "
            "pass --history naming a writable file.")
    history = trend.load(path)
    share = config.getoption("--trend-growth") or trend.GROWTH_SHARE
    trends = {d.test_id: trend.trend(history, d.test_id, growth_share=share,
                                     like=trend.comparable(run, d)) for d in drills}
    (run_dir / "trend.json").write_text(json.dumps(
        {test_id: asdict(found) for test_id, found in trends.items()}, indent=2) + "\n",
        encoding="utf-8")
    return trends


def _publish_allure(config, results: Path, run_dir: Path, drills: list[DrillRecord]) -> None:
    """Categories for every run; for a drill run, the HTML report when node is there."""
    allure_meta.write_categories(results)
    rc = allure_meta.write_config(run_dir / "allurerc.json",
                                  f"Rollback drills — run {config.stash[RUN_ID]}")
    wanted = (config.getoption("--allure-html") or os.environ.get("ROLLBOOK_ALLURE_HTML")
              or "auto")
    if not drills or wanted == "no" or (wanted == "auto" and not allure_html.available()):
        return
    said = config.stash.setdefault(SAID, [])
    if not allure_html.available():
        said.append("no Allure HTML: node/npx not found. Hint: install Node.js, or pass "
                    "--allure-html no.")
        return
    _, line = allure_html.generate(results, run_dir / "allure-report", config=rc,
                                   history=run_dir.parent / ALLURE_HISTORY)
    said.append(line)


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(SAID, []):
        terminalreporter.write_line(f"rollbook: {line}")


def run_facts(config, drills: list[DrillRecord]) -> dict[str, object]:
    run: dict[str, object] = {"run_id": config.stash[RUN_ID], "reason": run_reason(config),
                              **operator(os.environ), "started_utc": config.stash[STARTED],
                              "ended_utc": utc_now(),
                              "git_sha": git_sha(Path(config.rootpath)),
                              "rollbook": package_version("rollbook"),
                              "python": python_version()}
    for drill in drills:
        for key in SHARED_FACTS:
            if key in drill.facts:
                run.setdefault(key, drill.facts[key])
    return run


def _point_latest(run_dir: Path, drills: list[DrillRecord]) -> list[str]:
    """reports/latest is the last drill run, reports/latest-checks the last checks run; a run
    of neither (rollbook's own tests, say) leaves both where they were. A `latest` that is not
    rollbook's link (a folder, a file, a link elsewhere) is left alone: one line says so."""
    said = []
    if drills:
        said.append(_repoint(run_dir.parent / "latest", run_dir.name))
    if any((run_dir / "checks").glob("*.json")):
        said.append(_repoint(run_dir.parent / "latest-checks", run_dir.name))
    return [line for line in said if line]


def _repoint(link: Path, target: str) -> str | None:
    """Replace the link in one rename, so a concurrent reader never finds it missing; None, or
    why a link that is not rollbook's was left alone."""
    if link.is_symlink():
        points_at = os.readlink(link)
        if "/" in points_at:  # rollbook's links name a sibling run folder
            return (f"{link} is not rollbook's link (it points at {points_at}): left alone; "
                    f"this run is {link.parent / target}")
    elif link.exists():
        what = "a folder" if link.is_dir() else "a file"
        return (f"{link} is {what}, not rollbook's link: left alone; this run is "
                f"{link.parent / target}")
    fresh = link.with_name(f".{link.name}.{os.getpid()}")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    os.replace(fresh, link)
    return None
