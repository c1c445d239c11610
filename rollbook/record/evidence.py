"""Check results that carry their evidence: what ran, what was seen, and the verdict."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckResult:
    """The outcome of one engine check.

    name     what was checked, e.g. "orphans: journals.user_id -> users.id"
    ok       the verdict
    summary  one line a person can act on; on failure it says what is wrong and where to look
    sql      the statements that were run, in order, exactly as sent (no secrets in them)
    observed what was seen: counts, rows, a diff, timings (JSON-serialisable)
    """

    name: str
    ok: bool
    summary: str
    sql: list[str] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:  # a result is not a boolean; use .ok
        raise TypeError("use CheckResult.ok, not the result itself, as a verdict")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "summary": self.summary, "sql": self.sql,
                "observed": self.observed}


def difference_lines(results: list[CheckResult]) -> list[str]:
    """One line per difference the failed results found: each line of a result's diff (the
    schema verdicts keep one there), else its summary."""
    lines = []
    for result in results:
        if result.ok:
            continue
        diff = result.observed.get("diff") if isinstance(result.observed, dict) else None
        lines += diff.splitlines() if diff else [f"{result.name}: {result.summary}"]
    return lines


def as_text(composed, conn) -> str:
    """Render a psycopg sql.Composed as the exact text sent, for the evidence."""
    return composed.as_string(conn) if hasattr(composed, "as_string") else str(composed)
