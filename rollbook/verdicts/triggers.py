"""Rollback triggers and the runbook's decision matrix: signals -> severity -> action.

Every signal is evaluated (never stop at the first); each names what was measured, the
threshold and its verdict. The decision is the most severe fired signal's row of the matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollbook.measure import amcheck
from rollbook.runbook.migrations import Scripts, current_revisions
from rollbook.verdicts import schema
from rollbook.verdicts.performance import Slowdown

CRITICAL, HIGH, MEDIUM, LOW = "Critical", "High", "Medium", "Low"
SEVERITY_ORDER = (CRITICAL, HIGH, MEDIUM, LOW)

# The runbook's "Rollback Decision Matrix": severity -> (impact, response time, action)
DECISION_MATRIX: dict[str, tuple[str, str, str]] = {
    CRITICAL: ("High", "Immediate", "Automatic rollback"),
    HIGH: ("Medium", "15 minutes", "Manual rollback decision"),
    MEDIUM: ("Low", "1 hour", "Monitor and assess"),
    LOW: ("Minimal", "24 hours", "Document and plan fix"),
}
NONE_FIRED = ("None", "—", "No rollback: keep monitoring")
NOT_VERIFIED = ("Unknown", "now", "Could not verify: fix what stopped a measurement, then "
                "assess again")


@dataclass
class Signal:
    """One rollback trigger, measured."""

    name: str
    runbook_trigger: str
    severity: str          # the severity the runbook gives this trigger when it fires
    measured: Any
    threshold: str
    fired: bool
    detail: str = ""
    evaluated: bool = True  # False when it could not be measured here (then never fired)
    evidence: dict[str, Any] = field(default_factory=dict)
    failed: bool = False  # its measurement failed (an error, an unreadable table): never quiet

    def line(self) -> str:
        verdict = "FIRED" if self.fired else ("could not verify" if self.failed else (
            "quiet" if self.evaluated else "not evaluated"))
        return (f"{verdict:>13}  {self.severity:<8}  {self.name}: measured {self.measured}, "
                f"threshold {self.threshold}" + (f" — {self.detail}" if self.detail else ""))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


@dataclass
class Decision:
    signals: list[Signal]

    @property
    def fired(self) -> list[Signal]:
        return [s for s in self.signals if s.fired]

    @property
    def severity(self) -> str:
        for level in SEVERITY_ORDER:
            if any(s.severity == level for s in self.fired):
                return level
        return "None"

    @property
    def could_not_verify(self) -> list[Signal]:
        return [s for s in self.signals if s.failed and not s.fired]

    @property
    def row(self) -> tuple[str, str, str]:
        if self.severity == "None" and self.could_not_verify:
            return NOT_VERIFIED
        return DECISION_MATRIX.get(self.severity, NONE_FIRED)

    @property
    def automatic_rollback_due(self) -> bool:
        return self.severity == CRITICAL

    def summary(self) -> str:
        """"severity High (impact Medium, respond 1 hour): ...; fired ..." when a trigger
        fired; "no trigger fired: ..." when none did (with what could not be verified)."""
        impact, response, action = self.row
        unverified = ", ".join(s.name for s in self.could_not_verify)
        if not self.fired:
            head = (f"no trigger fired, not all verified (impact {impact}, respond "
                    f"{response})" if unverified else "no trigger fired")
            return (f"{head}: {action}"
                    + (f"; could not verify: {unverified}" if unverified else ""))
        fired = ", ".join(s.name for s in self.fired)
        return (f"severity {self.severity} (impact {impact}, respond {response}): {action}; "
                f"{fired}" + (f"; could not verify: {unverified}" if unverified else ""))

    def report(self) -> str:
        return "\n".join([self.summary(), *(s.line() for s in self.signals)])

    def to_dict(self) -> dict[str, Any]:
        impact, response, action = self.row
        return {"severity": self.severity, "impact": impact, "response_time": response,
                "action": action, "could_not_verify": [s.name for s in self.could_not_verify],
                "signals": [s.to_dict() for s in self.signals]}


def decide(signals: list[Signal]) -> Decision:
    return Decision(list(signals))


def query_slowdown(name: str, slowdown: Slowdown) -> Signal:
    """Performance Degradation: >50 % increase in query execution time, as the performance
    verdict decides it (rollbook/verdicts/performance.py: the spreads of both sides, the noise
    floor, and the plan's shape and buffers beside the time)."""
    return Signal(f"query slower than baseline: {name}", "Performance Degradation", CRITICAL,
                  slowdown.measured(), f"> {slowdown.threshold()}", slowdown.slow,
                  detail=slowdown.work_detail, evidence=slowdown.to_dict())


def query_not_timed(name: str, why: str, detail: str = "", *, failed: bool) -> Signal:
    """Performance Degradation that cannot be evaluated for one query: it fails now (`failed`:
    the decision cannot call the system verified), or the baseline holds no time for it."""
    return Signal(f"query slower than baseline: {name}", "Performance Degradation", CRITICAL,
                  why, "slower than the baseline", False, detail=detail, evaluated=False,
                  failed=failed)


def failing_endpoints(failing: list[str], total: int, max_pct: float) -> Signal:
    """API Endpoint Failures: >25 % of API endpoints returning errors."""
    pct = 100.0 * len(failing) / total if total else 0.0
    return Signal("share of failing API endpoints", "API Endpoint Failures", CRITICAL,
                  f"{len(failing)}/{total} ({pct:.0f} %)", f"> {max_pct:.0f} %", pct > max_pct,
                  detail=", ".join(failing), evidence={"failing": failing, "total": total})


def api_signals(report, baseline_error_pct: float, *, max_failing_pct: float,
                max_error_points: float) -> list[Signal]:
    """The API triggers from a smoke report: failing endpoints' share and the error rate."""
    ran = [e for e in report.endpoints if e.status != "not run"]
    failing = [e.name for e in ran if not e.ok]
    return [failing_endpoints(failing, len(ran), max_failing_pct),
            error_rate(smoke_error_pct(report), baseline_error_pct, max_error_points)]


def smoke_error_pct(report) -> float:
    ran = [e for e in report.endpoints if e.status != "not run"]
    requests = sum(e.observed.get("requests", 0) for e in ran)
    return 100.0 * sum(e.observed.get("errors", 0) for e in ran) / requests if requests else 0.0


def error_rate(now_pct: float, baseline_pct: float, max_points: float) -> Signal:
    """Error Rate Increase: error rates >10 % above baseline (percentage points)."""
    points = now_pct - baseline_pct
    return Signal("API error rate above baseline", "Error Rate Increase", HIGH,
                  f"{now_pct:.1f} % vs {baseline_pct:.1f} % baseline ({points:+.1f} points)",
                  f"> +{max_points:.0f} points", points > max_points,
                  detail="source: rollbook's API smoke calls",  # /metrics and logs: their own
                  evidence={"now_pct": now_pct, "baseline_pct": baseline_pct,
                            "source": "API smoke calls"})


def orphans(orphan_results: list) -> Signal:
    """Data Integrity Issues: foreign key violations or orphaned records."""
    unreadable = [r for r in orphan_results if "error" in r.observed]
    bad = [r for r in orphan_results if not r.ok and r not in unreadable]
    total = sum(int(r.observed.get("orphans", 0) or 0) for r in bad)
    detail = "; ".join(r.summary for r in [*bad, *unreadable])
    return Signal("orphaned rows / foreign-key violations", "Data Integrity Issues", CRITICAL,
                  f"{total} orphans in {len(bad)} of {len(orphan_results)} keys"
                  + (f", {len(unreadable)} keys could not be checked" if unreadable else ""),
                  "> 0", bool(bad), detail=detail, failed=bool(unreadable),
                  evaluated=not unreadable or bool(bad),
                  evidence={"failing": [r.to_dict() for r in bad],
                            "unreadable": [r.to_dict() for r in unreadable]})


def migration_incomplete(current: list[str], expected: str | None, heads: list[str],
                         schema_differences: list[str]) -> Signal:
    """Migration Incomplete: unexpected revision, several heads, or a partially applied schema."""
    problems = []
    if expected is not None and current != [expected]:
        problems.append(f"at revision {','.join(current) or '<none>'}, expected {expected}")
    if len(heads) > 1:
        problems.append(f"{len(heads)} heads: {', '.join(heads)}")
    if schema_differences:
        problems.append(f"schema differs from its revision's in {len(schema_differences)} "
                        f"places, first: {schema_differences[0]}")
    return Signal("migration incomplete", "Migration Incomplete", HIGH,
                  "; ".join(problems) or f"at {','.join(current)}, single head, schema as "
                  "expected", "any mismatch", bool(problems),
                  evidence={"current": current, "expected": expected, "heads": heads,
                            "schema_differences": schema_differences})


def corruption(index_results: list, available: bool) -> Signal:
    """Database Corruption: amcheck's verdict on every B-tree index (when amcheck is there)."""
    if not available:
        return Signal("index corruption (amcheck)", "Database Corruption", CRITICAL,
                      "amcheck not installed", "any corrupt index", False, evaluated=False,
                      detail="CREATE EXTENSION amcheck to evaluate this trigger")
    # amcheck reports corruption as XX001/XX002; anything else (no EXECUTE grant, a timeout, a
    # lock) means the index could not be checked, which is not corruption and not quiet either
    unchecked = [r for r in index_results if not r.ok and not str(
        r.observed.get("sqlstate", "XX")).startswith("XX")]
    bad = [r for r in index_results if not r.ok and r not in unchecked]
    return Signal("index corruption (amcheck)", "Database Corruption", CRITICAL,
                  f"{len(bad)} of {len(index_results)} indexes corrupt"
                  + (f", {len(unchecked)} could not be checked" if unchecked else ""), "> 0",
                  bool(bad), detail="; ".join(r.summary for r in [*bad, *unchecked][:5]),
                  failed=bool(unchecked), evaluated=not unchecked or bool(bad),
                  evidence={"corrupt": [r.to_dict() for r in bad],
                            "unchecked": [r.to_dict() for r in unchecked]})


def database_signals(conn, scripts: Scripts | None, *, expected_revision: str | None,
                     comparison: schema.Comparison | None,
                     orphan_results: list,
                     index_results: list | None = None) -> list[Signal]:
    """Measure the database-side triggers: migration state, corruption; and judge the orphan
    searches already run over the inventory's foreign keys (the orphan checks' own results)
    and the schema comparison with the baseline (the schema checks' own; None without one).
    `index_results`: amcheck's results of every index (amcheck.check_indexes), already taken
    beside the orphan searches; None: taken here, on `conn`."""
    differences = [str(d) for d in comparison.differences] if comparison is not None else []
    available = amcheck.amcheck_available(conn)
    if scripts is None:
        migration = Signal("migration incomplete", "Migration Incomplete", HIGH,
                           "no Alembic project to compare with", "any mismatch", False,
                           evaluated=False, detail="name [alembic] ini in the profile")
    else:
        migration = migration_incomplete(current_revisions(conn), expected_revision,
                                         list(scripts.heads), differences)
    return [
        migration,
        orphans(orphan_results),
        corruption(([] if not available else index_results if index_results is not None
                    else amcheck.check_indexes(conn)), available),
    ]


DOWNGRADE, RESTORE = "alembic downgrade -1", "restore from the pre-migration backup"
_DATA_DAMAGED = ("Data Integrity Issues", "Database Corruption")


def rollback_path(decision: Decision) -> str | None:
    """The way back the matrix's action calls for: none unless a rollback is due; a restore
    when the data itself is damaged (a downgrade would carry the damage back); else the
    downgrade."""
    if decision.severity not in (CRITICAL, HIGH):
        return None
    if any(s.runbook_trigger in _DATA_DAMAGED for s in decision.fired):
        return RESTORE
    return DOWNGRADE
