"""Post-rollback monitoring: active connections, blocking locks, long transactions, the top
statements of pg_stat_statements (PostgreSQL 12 names total_time/mean_time; 13+ names
total_exec_time/mean_exec_time; the columns the view actually has decide); and, from the run's
Observation (rollbook/measure/observation.py), the error logs against the baseline's window,
the service's own error rate from /metrics, and the watch over its window.

Sessions of the checks themselves are left out (rollbook.pg.connect.OTHER_CLIENTS: not this
connection, nor another with its application_name); query texts are cut to 200 characters.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure import metrics
from rollbook.measure.observation import LogReading
from rollbook.measure.watch import Watch
from rollbook.pg.connect import OTHER_CLIENTS
from rollbook.record.evidence import CheckResult, as_text
from rollbook.record.redact import redact_text

ACTIVE_SQL = f"""\
SELECT pid, usename, application_name, state, wait_event_type,
       round(extract(epoch FROM now() - query_start)::numeric, 3) AS running_s,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE state = 'active' AND {OTHER_CLIENTS}
ORDER BY query_start"""

BLOCKED_SQL = """\
SELECT pid, pg_blocking_pids(pid) AS blocked_by, wait_event_type, wait_event,
       round(extract(epoch FROM now() - coalesce(state_change, query_start))::numeric, 3)
         AS waiting_s,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE cardinality(pg_blocking_pids(pid)) > 0
ORDER BY waiting_s DESC"""

LONG_TRANSACTIONS_SQL = f"""\
SELECT pid, usename, application_name, state,
       round(extract(epoch FROM now() - xact_start)::numeric, 3) AS age_s,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND {OTHER_CLIENTS}
  AND now() - xact_start > make_interval(secs => %(limit_s)s)
ORDER BY xact_start"""

EXTENSION_SQL = """\
SELECT n.nspname, e.extversion FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"""

VIEW_COLUMNS_SQL = """\
SELECT a.attname::text FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(view)s) AND a.attnum > 0 AND NOT a.attisdropped"""

# (total, mean) column names by the version of pg_stat_statements that named them
TIME_COLUMNS = (("total_exec_time", "mean_exec_time"),  # 1.8+, PostgreSQL 13+
                ("total_time", "mean_time"))  # up to 1.7, PostgreSQL 12


def _plain(key: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if key == "query" and isinstance(value, str):  # another session's text may hold a secret
        return redact_text(value)
    return value


def _rows(cur: psycopg.Cursor) -> list[dict[str, Any]]:
    names = [c.name for c in cur.description]
    return [{k: _plain(k, v) for k, v in zip(names, row, strict=True)}
            for row in cur.fetchall()]


def active_connections(conn: psycopg.Connection, maximum: int) -> CheckResult:
    sessions = _rows(conn.execute(ACTIVE_SQL))
    observed = {"active": len(sessions), "maximum": maximum, "sessions": sessions[:20]}
    if len(sessions) > maximum:
        return CheckResult("active connections", False, f"{len(sessions)} active connections, "
                           f"more than {maximum}. Hint: see observed.sessions for what they run",
                           [ACTIVE_SQL], observed)
    return CheckResult("active connections", True, f"{len(sessions)} active connections besides"
                       f" this one (at most {maximum})", [ACTIVE_SQL], observed)


def blocking_locks(conn: psycopg.Connection, max_wait_s: float) -> CheckResult:
    blocked = _rows(conn.execute(BLOCKED_SQL))
    waiting = [s for s in blocked if (s["waiting_s"] or 0) > max_wait_s]
    observed = {"blocked": blocked[:20], "max_wait_s": max_wait_s}
    if waiting:
        first = waiting[0]
        return CheckResult("blocking locks", False, f"{len(waiting)} sessions blocked longer "
                           f"than {max_wait_s:g} s; pid {first['pid']} has waited "
                           f"{first['waiting_s']:g} s on pid(s) {first['blocked_by']}. Hint: "
                           "look at what those pids hold (pg_locks)", [BLOCKED_SQL], observed)
    note = f" ({len(blocked)} waiting briefly)" if blocked else ""
    return CheckResult("blocking locks", True, f"no session blocked longer than {max_wait_s:g} s"
                       f"{note}", [BLOCKED_SQL], observed)


def long_transactions(conn: psycopg.Connection, max_age_s: float) -> CheckResult:
    found = _rows(conn.execute(LONG_TRANSACTIONS_SQL, {"limit_s": max_age_s}))
    observed = {"transactions": found[:20], "max_age_s": max_age_s}
    if found:
        first = found[0]
        return CheckResult("long transactions", False, f"{len(found)} transactions open longer "
                           f"than {max_age_s:g} s; the oldest, pid {first['pid']} "
                           f"({first['application_name'] or 'no application_name'}, "
                           f"{first['state']}), for {first['age_s']:g} s. Hint: it holds locks "
                           "and blocks vacuum; end it or find its owner", [LONG_TRANSACTIONS_SQL],
                           observed)
    return CheckResult("long transactions", True, f"no transaction open longer than "
                       f"{max_age_s:g} s", [LONG_TRANSACTIONS_SQL], observed)


def statements_view(conn: psycopg.Connection) -> tuple[str, str] | None:
    """(schema, version) of pg_stat_statements in this database, or None when absent."""
    return conn.execute(EXTENSION_SQL).fetchone()


def top_statements(conn: psycopg.Connection, limit: int, max_mean_ms: float, *,
                   min_calls: int = 10, schema: str | None = None) -> CheckResult:
    """The runbook's `SELECT query, calls, total_time, mean_time FROM pg_stat_statements ORDER
    BY total_time DESC LIMIT 10`, in this database, with whichever column names the installed
    version has. Fails when a statement called at least `min_calls` times (traffic, not a
    one-off migration, restore or seed) averages over max_mean_ms. EXPLAIN statements (the
    checks' own) are left out. `schema` names where the view lives when it is not found through
    pg_extension."""
    statements = [EXTENSION_SQL]
    version = None
    if schema is None:
        found = statements_view(conn)
        if found is None:
            return CheckResult("top statements", True, "pg_stat_statements is not installed in "
                               "this database: nothing to rank", statements, {"present": False})
        schema, version = found
    view = sql.Identifier(schema, "pg_stat_statements")
    columns = {r[0] for r in conn.execute(VIEW_COLUMNS_SQL,
                                          {"view": as_text(view, conn)}).fetchall()}
    statements.append(VIEW_COLUMNS_SQL)
    names = next((pair for pair in TIME_COLUMNS if set(pair) <= columns), None)
    if names is None:
        return CheckResult("top statements", False, f"{as_text(view, conn)} has neither "
                           "total_exec_time nor total_time", statements,
                           {"present": True, "columns": sorted(columns)})
    total, mean = (sql.Identifier(n) for n in names)
    query = as_text(sql.SQL(
        "SELECT left(query, 200) AS query, calls, round({total}::numeric, 3) AS total_ms,"
        " round({mean}::numeric, 3) AS mean_ms FROM {view}"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query !~* '^\\s*explain\\M'"
        " ORDER BY {total} DESC LIMIT {n}").format(total=total, mean=mean, view=view,
                                                  n=sql.Literal(limit)), conn)
    statements.append(query)
    top = _rows(conn.execute(query))
    slow = sorted((s for s in top if s["calls"] >= min_calls
                   and (s["mean_ms"] or 0) > max_mean_ms), key=lambda s: -s["mean_ms"])
    observed = {"present": True, "version": version, "columns": list(names), "top": top,
                "max_mean_ms": max_mean_ms, "min_calls": min_calls}
    if slow:
        return CheckResult("top statements", False, f"{len(slow)} of the top {len(top)} "
                           f"statements (called {min_calls}+ times) average over "
                           f"{max_mean_ms:g} ms; the slowest: "
                           f"{slow[0]['mean_ms']:g} ms mean over {slow[0]['calls']} calls: "
                           f"{' '.join(str(slow[0]['query']).split())[:80]}. Hint: EXPLAIN it "
                           "and compare with the baseline", statements, observed)
    return CheckResult("top statements", True, f"top {len(top)} statements by {names[0]}: none "
                       f"called {min_calls}+ times averages over {max_mean_ms:g} ms",
                       statements, observed)


# -- error logs, the service's error rate, the watch ------------------------------------------
def log_errors(reading: LogReading, *, allowance_per_min: float, points: float,
               recorded_per_min: float | None = None) -> CheckResult:
    """ERROR/FATAL/PANIC (and the application's error level) per minute in the window after,
    against the same window before the baseline (read from the log; else the rate the baseline
    manifest recorded, `recorded_per_min`): fails above baseline x (1 + points %) plus the
    allowance. Passes, saying why, when the log could not be read."""
    text, after, before = reading.text, reading.after, reading.before
    name = f"error log: {text.kind}"
    if after is None:
        return CheckResult(name, True, f"{text.source} not read: {text.why_not}",
                           observed=reading.to_dict())
    if before is not None and (before.lines or recorded_per_min is None):
        base, against = before.errors_per_min, (f"{before.errors_per_min:.2f}/min in the "
                                                "baseline's window")
    elif recorded_per_min is not None:
        base, against = recorded_per_min, (f"{recorded_per_min:.2f}/min recorded in the "
                                           "baseline manifest")
    else:
        base, against = 0.0, "no baseline window (compared with none)"
    limit = base * (1 + points / 100) + allowance_per_min
    observed = {**reading.to_dict(), "limit_per_min": round(limit, 3)}
    if after.errors_per_min > limit:
        top = "; ".join(f"{m['count']}x {m['message'][:100]}" for m in after.top[:3])
        return CheckResult(name, False, f"{text.source}: {after.errors} error lines in the "
                           f"last {after.minutes:.1f} min ({after.errors_per_min:.2f}/min; "
                           f"{_limit(limit)}) against {against}; top: {top}. Hint: read "
                           "observed.after.top and the log around those minutes", [],
                           observed)
    return CheckResult(name, True, f"{text.source}: {after.errors} error lines in the last "
                       f"{after.minutes:.1f} min ({after.errors_per_min:.2f}/min; "
                       f"{_limit(limit)}) against {against}", [], observed)


def _limit(per_min: float) -> str:
    """The error-rate limit in words: none at all is "no error line allowed", not 0.00/min."""
    return f"limit {per_min:.2f}/min" if per_min > 0 else "no error line allowed"


def service_error_rate(watch: Watch, baseline_pct: float | None, max_points: float
                       ) -> CheckResult:
    """5xx share of the service's own traffic (its /metrics counters; the monitors' /health and
    /metrics calls left out) over the watch, against the baseline's share."""
    scrapes = watch.scrapes()
    name = "service error rate (/metrics)"
    if not scrapes:
        errors = [s.scrape.error for s in watch.samples if s.scrape and s.scrape.error]
        why = errors[0] if errors else "no metrics URL: set [monitoring] metrics_url"
        return CheckResult(name, not errors, f"{watch.metrics_url or 'no /metrics'} not read: "
                           f"{why}", observed={"read": False, "errors": errors[:5]})
    seen = metrics.traffic(scrapes[0], scrapes[-1])
    base = baseline_pct or 0.0
    observed = {"read": True, "source": watch.metrics_url, "traffic": seen.to_dict(),
                "baseline_pct": baseline_pct, "max_points": max_points}
    against = (f"against {base:.1f} % at baseline" if baseline_pct is not None
               else "no baseline rate recorded, so against 0 %")
    figures = (f"{seen.errors:g} of {seen.requests:g} requests answered 5xx since "
               f"{seen.since} ({seen.error_pct:.1f} %; {against})")
    if seen.error_pct - base > max_points:
        failing = ", ".join(f"{e} {seen.by_endpoint[e]['errors']:g}/"
                            f"{seen.by_endpoint[e]['requests']:g}" for e in seen.failing())
        return CheckResult(name, False, f"{watch.metrics_url}: {figures}; failing: {failing}. "
                           "Hint: read the application log for those endpoints", [],
                           observed)
    return CheckResult(name, True, f"{watch.metrics_url}: {figures}", [], observed)


def watch_steady(watch: Watch, max_active_connections: int) -> CheckResult:
    """"Monitoring restored": every sample of the window healthy (HTTP 200, status ok or
    maintenance), the metrics and the database readable, active sessions within the limit."""
    bad = []
    for sample in watch.samples:
        problems = []
        if sample.healthy is False:
            h = sample.health
            problems.append(f"health {h['error'] or h['status']} {h['state'] or ''}".strip())
        if sample.scrape is not None and sample.scrape.error:
            problems.append(f"/metrics: {sample.scrape.error}")
        if sample.database is not None and "error" in sample.database:
            problems.append(f"database: {sample.database['error']}")
        elif sample.database and sample.database["active"] > max_active_connections:
            problems.append(f"{sample.database['active']} active sessions")
        if problems:
            bad.append(f"+{sample.elapsed_s:.1f} s: {', '.join(problems)}")
    observed = {**watch.to_dict(), "bad_samples": bad}
    what = f"{len(watch.samples)} samples every {watch.interval_s:g} s over {watch.window_s:g} s"
    maintenance = sum(1 for s in watch.samples if s.health and s.health["state"] == "maintenance")
    if maintenance:
        what += f" ({maintenance} in maintenance mode)"
    if bad:
        return CheckResult("watch", False, f"{len(bad)} of {what} out of bounds; first: "
                           f"{bad[0]}. Hint: see observed.samples", [], observed)
    return CheckResult("watch", True, f"{what}: all healthy, readable and within limits", [],
                       observed)
