"""Rollback triggers: the runbook's "Rollback Triggers and Decision Criteria", measured.

Every trigger is evaluated (none stops the others), each family must be quiet, and the decision
matrix must call for no rollback. `rollbook assess` prints the same decision outside pytest.
"""
from __future__ import annotations

import pytest

from rollbook.pytest_plugin.evidence import attach_json, attach_text
from rollbook.record.evidence import CheckResult
from rollbook.verdicts import assess, triggers

pytestmark = pytest.mark.check

FAMILIES = {
    "migration": ("Migration Incomplete",),
    "data integrity": ("Data Integrity Issues",),
    "corruption": ("Database Corruption",),
    "performance": ("Performance Degradation",),
    "api": ("API Endpoint Failures", "Error Rate Increase"),
}


@pytest.fixture(scope="session")
def trigger_signals(request, checks_target, checks_conn, checks_profile, checks_baseline,
                    measured, checks_inventory, key_query_measurements, run_memo):
    """Every trigger measured once per run, whichever xdist worker asks first (the API's too
    when the profile has one); the orphan trigger reads the orphan checks' own searches, the
    performance trigger the performance checks' own measurements."""
    def measure():
        try:
            report = request.getfixturevalue("api_smoke")
        except pytest.skip.Exception:
            report = None  # the profile names no API: its triggers are not measured
        return assess.measure(checks_conn, checks_profile, checks_target.scripts,
                              checks_baseline, report, measured=measured,
                              foreign_keys=checks_inventory.foreign_keys,
                              queries=key_query_measurements)
    return run_memo.get(("rollback triggers",), measure)


def _as_result(signal: triggers.Signal) -> CheckResult:
    return CheckResult(f"trigger: {signal.name}", not (signal.fired or signal.failed),
                       signal.line().strip(),
                       observed=signal.to_dict())


@pytest.mark.parametrize("family", FAMILIES)
def test_trigger_family_is_quiet(trigger_signals, family, check):
    """Each trigger of the family measured and under its threshold; one whose measurement
    failed (a key query that errors, an unreadable table) fails: it could not be verified."""
    mine = [s for s in trigger_signals if s.runbook_trigger in FAMILIES[family]]
    evaluated = [s for s in mine if s.evaluated or s.failed]
    if not evaluated:
        reasons = "; ".join(s.line().strip() for s in mine) or "nothing to measure"
        pytest.skip(f"not evaluated here: {reasons}")
    check(*(_as_result(s) for s in evaluated))


def test_decision_matrix_calls_for_no_rollback(trigger_signals, check):
    """The most severe fired trigger picks the matrix row; none fired means no rollback."""
    decision = triggers.decide(trigger_signals)
    attach_text("rollback triggers", decision.report())
    attach_json("decision", decision.to_dict())
    check(CheckResult("decision matrix", not decision.fired, decision.summary(),
                      observed=decision.to_dict()))
