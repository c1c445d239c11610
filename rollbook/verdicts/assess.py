"""`rollbook assess`: measure every rollback trigger of a live system and decide per the
runbook's matrix. Read-only: it runs over the checks' connection and calls the API's reads
(writes only with the profile's smoke account)."""
from __future__ import annotations

import psycopg

from rollbook.measure import inventory, plans
from rollbook.measure.api_smoke import SmokeReport
from rollbook.measure.baseline import Baseline
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile import Profile
from rollbook.verdicts import triggers
from rollbook.verdicts.measured import Measured


def slowdown_signals(conn: psycopg.Connection, profile: Profile,
                     baseline: Baseline | None) -> list[triggers.Signal]:
    """Each key query timed now against its time in the baseline (> ratio fires)."""
    if baseline is None:
        return []
    found = []
    for query in profile.queries:
        before = baseline.plans.get(query.name)
        if before is None:
            continue
        try:
            text = plans.bind(conn, query)
            if text is None:
                continue
            plan, _ = plans.measure(conn, text, profile.performance.repeats)
        except psycopg.Error as exc:
            ratio = profile.triggers.query_slowdown_ratio
            found.append(triggers.Signal(
                f"query slower than baseline: {query.name}", "Performance Degradation",
                triggers.CRITICAL, "the query fails", f"> {ratio:.2f}x", False,
                evaluated=False, detail=str(exc).strip().splitlines()[0]))
            continue
        signal = triggers.query_slowdown(query.name, plan.execution_ms, before["execution_ms"],
                                         profile.triggers.query_slowdown_ratio,
                                         profile.performance.noise_floor_ms)
        signal.evidence["plan"] = plan.facts()
        found.append(signal)
    return found


def measure(conn: psycopg.Connection, profile: Profile, migrations: Migrations | None,
            baseline: Baseline | None, api_report: SmokeReport | None = None,
            measured: Measured | None = None, foreign_keys=None) -> list[triggers.Signal]:
    """Every trigger the profile and its data allow: database, performance, API. The orphan
    trigger judges the orphan searches of `measured` (the checks' own, when they ran) over
    every foreign key the checks look at (the inventory's: the catalog's, the baseline's and
    the profile's soft ones)."""
    measured = measured if measured is not None else Measured(conn, baseline)
    keys = (foreign_keys if foreign_keys is not None
            else inventory.build(conn, profile, baseline).foreign_keys)
    signals = triggers.database_signals(
        conn, migrations, expected_revision=profile.alembic.expected_revision,
        expected_schema=baseline.schema if baseline else None,
        orphan_results=[measured.orphans(fk) for fk in keys])
    signals += slowdown_signals(conn, profile, baseline)
    if api_report is not None:
        signals += triggers.api_signals(
            api_report, 0.0, max_failing_pct=profile.triggers.failing_endpoints_pct,
            max_error_points=profile.triggers.error_rate_points)
    return signals
