"""realworld/RESULTS.md from one realworld/run: per project, the release, the revisions walked,
whether rollbook and pg_dump agreed on each, every true finding with the pg_dump lines that
confirm it (or, for a migration that raised, its one line), and the wall time."""
from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime, timezone

EVIDENCE_LINES = 12  # pg_dump lines shown per subject; the jsonl beside RESULTS.md has them all


@dataclass
class ProjectRun:
    project: str
    version: str
    profile: str
    lines: list[dict]  # the oracle's, one per revision (realworld/oracle.py)
    elapsed_s: float
    summary: str  # pytest's last line
    tracebacks: int
    command: str

    @property
    def walked(self) -> int:
        return len(self.lines)

    @property
    def compared(self) -> list[dict]:
        return [line for line in self.lines if line.get("compared")]

    @property
    def disagreements(self) -> int:
        return sum(not line["agree"] for line in self.compared)

    @property
    def findings(self) -> list[dict]:
        """Revisions where rollbook reported something: a difference pg_dump confirms, or a
        migration of the revision itself that raised."""
        return [line for line in self.lines if not line["passed"] and line not in self.blocked
                and (not line.get("compared") or line.get("agree"))]

    @property
    def blocked(self) -> list[dict]:
        """Revisions not rehearsed: their parent could not be made (a finding on the way)."""
        return [line for line in self.lines if not line.get("compared")
                and line.get("why") == "no database at the parent was made"]


def _finding(line: dict) -> list[str]:
    out = [f"- **{line['revision']}** (downgrade to {line['parent']}): "
           + (line["rollbook"][0] if line["rollbook"] else "failed")]
    for said in line["rollbook"][1:]:
        out.append(f"  - rollbook: `{said}`")
    if line.get("source"):
        out.append(f"  - the project's script: `{line['source']}`")
    if not line.get("compared"):
        out.append(f"  - not compared with pg_dump: {line.get('why')}")
        return out
    for kind in ("schema", "data"):
        for subject, shown in line["pg_dump"][kind].items():
            out.append(f"  - pg_dump {kind} of {subject}:")
            out.append("    ```")
            out += [f"    {text}" for text in shown[:EVIDENCE_LINES]]
            if len(shown) > EVIDENCE_LINES:
                out.append(f"    ... {len(shown) - EVIDENCE_LINES} more lines in the jsonl")
            out.append("    ```")
    return out


def render(runs: list[ProjectRun], command: str) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Real projects: rollbook's every-revision drill against pg_dump", "",
           f"`{command}` on {when} ({platform.machine()}, Python {platform.python_version()}).",
           "Each revision's downgrade rehearsed on seeded data by profile only "
           "(realworld/PROJECT.toml); for each, the parent's `pg_dump --schema-only` and sorted "
           "`--data-only` before the upgrade against the drill's database after the downgrade "
           "(rows written on the revision aside). A disagreement is a subject (table or object, "
           "schema or data) one side names and the other does not.", "",
           "| project | release | revisions walked | compared with pg_dump | disagreements | "
           "tracebacks | revisions with findings | not rehearsed (parent not made) | wall time |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        out.append(f"| {run.project} | {run.version} | {run.walked} | {len(run.compared)} | "
                   f"{run.disagreements} | {run.tracebacks} | {len(run.findings)} | "
                   f"{len(run.blocked)} | {run.elapsed_s:.0f} s |")
    for run in runs:
        out += ["", f"## {run.project} {run.version}", "",
                f"`python {run.command}`: {run.summary}", ""]
        for line in run.lines:
            if line.get("compared") and not line["agree"]:
                out.append(f"- DISAGREEMENT on {line['revision']}: rollbook only "
                           f"{line['rollbook_only']}, pg_dump only {line['pg_dump_only']}")
        found = run.findings
        out += ["True findings:" if found else "No findings: every downgrade walked left the "
                "parent exactly as pg_dump saw it.", ""]
        for line in found:
            out += _finding(line)
        if run.blocked:
            out += ["", f"Not rehearsed ({len(run.blocked)}): their parent could not be made, "
                    "each for the reason given (a finding of a revision on the way):", ""]
            for line in run.blocked:
                said = line["rollbook"][0] if line["rollbook"] else ""
                out.append(f"- {line['revision']}: {said}"
                           + (f" (`{line['source']}`)" if line.get("source") else ""))
    return "\n".join(out) + "\n"
