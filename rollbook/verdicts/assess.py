"""`rollbook assess`: measure every rollback trigger of a live system and decide per the
runbook's matrix. Read-only: it runs over the checks' connection and calls the API's reads
(writes only with the profile's smoke account)."""
from __future__ import annotations

import dataclasses

import psycopg

from rollbook.measure import inventory, plans
from rollbook.measure.api_smoke import SmokeReport
from rollbook.measure.baseline import Baseline
from rollbook.runbook.migrations import Scripts
from rollbook.settings.profile import Profile
from rollbook.verdicts import monitoring_signals, performance, triggers
from rollbook.verdicts.measured import Measured


def slowdown_signals(conn: psycopg.Connection, profile: Profile, baseline: Baseline | None,
                     queries: plans.Measurements | None = None) -> list[triggers.Signal]:
    """Each key query of the profile against the baseline, as the performance verdict judges
    it; `queries` holds the run's measurements, so the time checks and this trigger read the
    same runs (a fresh set when None)."""
    if baseline is None:
        return []
    queries = queries if queries is not None else plans.Measurements(profile.performance)
    thresholds = performance.Thresholds.of(profile)
    found = []
    for query in profile.queries:
        entry = baseline.plans.get(query.name)
        if entry is None:
            continue
        measured = queries.of(conn, query)
        if measured.error is not None:
            found.append(triggers.query_not_timed(query.name, "the query fails", measured.error,
                                                  failed=True))
            continue
        slowdown = performance.slowdown(measured, entry, thresholds)
        if slowdown is not None:
            found.append(triggers.query_slowdown(query.name, slowdown))
        elif measured.measured:
            found.append(triggers.query_not_timed(
                query.name, "no time at baseline", entry.get("error", ""), failed=False))
    return found


def measure(conn: psycopg.Connection, profile: Profile, scripts: Scripts | None,
            baseline: Baseline | None, api_report: SmokeReport | None = None,
            measured: Measured | None = None, foreign_keys=None,
            queries: plans.Measurements | None = None, observed=None,
            reported: tuple[str, ...] = ()) -> list[triggers.Signal]:
    """Every trigger the profile and its data allow: database, performance, API. The orphan
    trigger judges the orphan searches of `measured` (the checks' own, when they ran) over
    every foreign key the checks look at (the inventory's: the catalog's, the baseline's and
    the profile's soft ones). The Performance Degradation trigger reads the key queries'
    measurements in `queries` (the time checks' own, when they ran). The monitoring triggers
    read the post-rollback Observation `observed` (the watch and the error logs) and the
    triggers people `reported`."""
    measured = measured if measured is not None else Measured(conn, baseline)
    keys = (foreign_keys if foreign_keys is not None
            else inventory.build(conn, profile, baseline).foreign_keys)
    signals = triggers.database_signals(
        conn, scripts, expected_revision=profile.alembic.expected_revision,
        comparison=measured.schema(),
        orphan_results=[measured.orphans(fk) for fk in keys])
    signals += slowdown_signals(conn, profile, baseline, queries)
    if api_report is not None:
        signals += triggers.api_signals(
            api_report, 0.0, max_failing_pct=profile.triggers.failing_endpoints_pct,
            max_error_points=profile.triggers.error_rate_points)
    signals += monitoring_signals.measure(
        observed, profile, api_report, reported_names=reported,
        baseline_facts=baseline.facts.get("monitoring") if baseline else None)
    return signals


def critical_must_be_measured(signals: list[triggers.Signal]) -> list[triggers.Signal]:
    """`rollbook assess` calls nothing verified that it could not measure: a Critical trigger
    left unevaluated (no API, no smoke account, no amcheck, no time at baseline) becomes "could
    not verify", its detail naming what is missing. The triggers people report are not
    measured at all: not reporting one is the answer."""
    return [dataclasses.replace(s, failed=True, detail=s.detail or f"not measured: {s.measured}")
            if s.severity == triggers.CRITICAL and not (s.evaluated or s.fired or s.failed)
            and s.runbook_trigger not in monitoring_signals.REPORTED_BY_PEOPLE else s
            for s in signals]
