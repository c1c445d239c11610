"""The record of a checks-only run (`pytest checks/` against a real rollback): titled and shaped
as a checks record, not as a rollback record of drills. The summary (the pytest session's
verdict, each family's tally), the checks that failed, the run, then every check by family."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from rollbook.record import html as html_record
from rollbook.record import markdown as markdown_record
from rollbook.record import wrap
from rollbook.record.summary import Session, verdict_line


def load(folder: Path) -> list[dict]:
    """Each checks test's results, as the `check` fixture wrote them, in test order."""
    if not folder.is_dir():
        return []
    bodies = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(bodies, key=lambda body: body["test"])


def family(test: str) -> str:
    """checks/test_counts.py::test_row_count[users] -> counts."""
    name = test.split("::")[0].rsplit("/", 1)[-1]
    return name.removeprefix("test_").removesuffix(".py")


def by_family(checks: list[dict]) -> dict[str, list[tuple[str, dict]]]:
    found: dict[str, list[tuple[str, dict]]] = {}
    for body in checks:
        for result in body["results"]:
            found.setdefault(family(body["test"]), []).append((body["test"], result))
    return found


def _title(run: dict[str, Any]) -> str:
    return f"Checks record — run {run.get('run_id', '?')}"


def _tally(checks: list[dict]) -> list[tuple[str, int, int]]:
    return [(name, sum(r["ok"] for _, r in found), sum(not r["ok"] for _, r in found))
            for name, found in by_family(checks).items()]


def render_markdown(run: dict[str, Any], checks: list[dict], *, session: Session,
                    links: dict[str, str] | None = None) -> str:
    cell = markdown_record.cell
    verdict, rests_on = verdict_line([], session)
    lines = [f"# {_title(run)}", "", "## Summary", "",
             f"**Verdict: {verdict.upper()}** — {rests_on}.", "",
             *markdown_record.links_line(links or {}),
             "| Family | Passed | Failed |", "|--------|--------|--------|"]
    lines += [f"| {name} | {ok} | {failed} |" for name, ok, failed in _tally(checks)]
    failed = [(test, r) for found in by_family(checks).values() for test, r in found
              if not r["ok"]]
    lines += ["", f"## Failed checks ({len(failed)})", ""]
    lines += [f"- **{r['name']}** (`{test}`): {r['summary']}" for test, r in failed] or [
        "No check failed."]
    lines += ["", "## Run", "", *markdown_record.facts_lines(run)]
    for name, found in by_family(checks).items():
        lines += ["", f"## {name}", "", "| Verdict | Check | Summary |",
                  "|---------|-------|---------|"]
        lines += [f"| {'passed' if r['ok'] else 'FAILED'} | {cell(r['name'])} | "
                  f"{cell(r['summary'])} |" for _, r in found]
    return "\n".join(lines) + "\n"


def render_html(run: dict[str, Any], checks: list[dict], *, session: Session,
                links: dict[str, str] | None = None) -> str:
    verdict, rests_on = verdict_line([], session)
    tally = html_record.rows_table(
        ["Family", "Passed", "Failed"],
        [[f"<a href='#family-{escape(n)}'>{escape(n)}</a>", str(ok), str(bad)]
         for n, ok, bad in _tally(checks)],
        [["", "", "failed" if bad else ""] for _, _, bad in _tally(checks)])
    failed = [(test, r) for found in by_family(checks).values() for test, r in found
              if not r["ok"]]
    failed_html = ("<ul>" + "".join(f"<li><b>{escape(r['name'])}</b> ({escape(test)}): "
                                    f"{escape(r['summary'])}</li>" for test, r in failed)
                   + "</ul>") if failed else "<p>No check failed.</p>"
    parts = [html_record.page_head(_title(run)),
             f"<h2 id=summary>Summary</h2><p class=verdict>Verdict: <b class="
             f"{html_record.css_class(verdict)}>{escape(verdict.upper())}</b> — "
             f"{escape(rests_on)}.</p>", html_record.links_html(links or {}), tally,
             f"<h2>Failed checks ({len(failed)})</h2>", failed_html,
             "<h2 id=run>Run</h2>", html_record.facts_table(run)]
    for name, found in by_family(checks).items():
        rows = [[("passed" if r["ok"] else "FAILED"), wrap.html(r["name"]), wrap.html(r["summary"])]
                for _, r in found]
        bad = sum(not r["ok"] for _, r in found)
        parts.append(f"<details class=drill id=family-{escape(name)}><summary>{escape(name)}"
                     f" — {len(found) - bad} passed, {bad} failed</summary>"
                     + html_record.rows_table(["Verdict", "Check", "Summary"], rows,
                                              [["passed" if r["ok"] else "failed", "", ""]
                                               for _, r in found]) + "</details>")
    return "\n".join(parts) + "\n</body></html>\n"
