"""What rollbook adds to Allure's results: categories by check family and by trigger severity,
and the recovery-time table as plain text. Failure messages these match are the drill
harness's: "validation failed (families: counts, orphans): ..." and a decision's "severity X"."""
from __future__ import annotations

import json
from pathlib import Path

from rollbook.record.clock import RecoveryClock, format_duration

FAMILIES = ("preflight", "types", "schema", "counts", "orphans", "content")
SEVERITIES = ("Critical", "High", "Medium", "Low")
ANY = r"[\s\S]*"  # across lines; Allure 2 (Java) and 3 (JavaScript) both read it


def family_failure(families: list[str]) -> str:
    """The opening of a grouped validation failure, which the categories match."""
    return f"validation failed (families: {', '.join(families)})"


def categories() -> list[dict]:
    rows = [{"name": f"Validation failed: {family}", "matchedStatuses": ["failed", "broken"],
             "messageRegex": rf"{ANY}validation failed \(families: [^)]*\b{family}\b{ANY}"}
            for family in FAMILIES]
    rows += [{"name": f"Rollback trigger fired: {severity}",
              "matchedStatuses": ["failed", "broken"],
              "messageRegex": rf"{ANY}severity {severity}\b{ANY}"} for severity in SEVERITIES]
    rows += [
        {"name": "Over the recovery-time objective", "matchedStatuses": ["failed"],
         "messageRegex": rf"{ANY}over the recovery-time objective{ANY}"},
        {"name": "Could not verify", "matchedStatuses": ["failed", "broken"],
         "messageRegex": rf"{ANY}could not verify{ANY}"},
        {"name": "Other drill failures", "matchedStatuses": ["failed"]},
        {"name": "Broken: the environment, not the system under drill",
         "matchedStatuses": ["broken"]},
    ]
    return rows


def write_categories(results_dir: Path) -> Path:
    """categories.json among the results: how Allure 2 reads categories."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "categories.json"
    path.write_text(json.dumps(categories(), indent=2) + "\n", encoding="utf-8")
    return path


# Allure 3's tree (its Behaviors) by the runbook: epic = the runbook's section, feature = the
# phase (Database Rollback, ...: the drill harness labels each phase a drill runs), story = the
# runbook's subsection. Without it Allure 3 files tests by their Python file.
GROUP_BY = ["epic", "feature", "story"]


def write_config(path: Path, name: str) -> Path:
    """allurerc.json: the report's name, categories and grouping, as Allure 3 reads them (its
    `categories` accept Allure 2's rule keys). Generating adds output and history paths."""
    path.write_text(json.dumps({
        "name": name, "categories": categories(),
        "plugins": {"awesome": {"options": {"reportName": name, "groupBy": GROUP_BY}}}},
        indent=2) + "\n", encoding="utf-8")
    return path


def rto_table(clock: RecoveryClock) -> str:
    """The recovery-time objectives as an aligned text table, for an attachment."""
    rows = [("Component", "RTO Target", "Actual Time", "Status")]
    rows += [(p.name, format_duration(p.objective_s), format_duration(p.elapsed_s),
              "OVER OBJECTIVE" if p.over_objective else p.status) for p in clock.rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     for row in rows) + "\n"
