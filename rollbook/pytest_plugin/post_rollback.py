"""The drills' post-rollback monitoring: the watch over the profile's [monitoring] window
(health, /metrics, database activity every interval_s), the application's and PostgreSQL's
error logs against the baseline's window, and the error rates before and after by source, all
in the rollback record. "Monitoring restored" is done only when the whole window stayed within
its thresholds."""
from __future__ import annotations

from typing import Any

from rollbook.measure import metrics, observation
from rollbook.measure.watch import Sample
from rollbook.pg.connect import connect
from rollbook.verdicts import monitoring


def watch_after_rollback(drill, prepared, service=None) -> observation.Observation:
    """Watch the rolled-back system and judge its error logs and error rates; `service` is
    the drill's API (None: the database and its log only)."""
    limits = drill.profile.monitoring
    points = drill.profile.triggers.error_rate_points
    title = (f"Monitoring: watch {limits.window_s:g} s (health, /metrics, database activity "
             f"every {limits.interval_s:g} s), error logs and error rates against the baseline")
    with drill.step(title, covers=("Monitoring restored",)) as step:
        with connect(prepared.dsn, read_only=True) as conn:
            observed = observation.observe(
                conn, limits, health_url=service.health_url if service else None,
                metrics_url=f"{service.base_url}/metrics" if service else None,
                app_log=getattr(service, "app_log", None),
                postgres_log=getattr(prepared.server, "log_path", None),
                baseline_at=observation.baseline_time(prepared.baseline.created_at),
                since_watch=True)
        drill.attach_json("post-rollback watch and error logs", observed.to_dict())
        facts = prepared.baseline.facts.get("monitoring", {})
        drill.fact("error_rates", error_rates_by_source(observed, facts))
        drill.fact("watch_samples", {f"+{s.elapsed_s:.1f} s": describe(s)
                                     for s in observed.watch.samples})
        results = [monitoring.watch_steady(observed.watch, limits.max_active_connections)]
        if service is not None:
            results.append(monitoring.service_error_rate(observed.watch,
                                                         facts.get("error_pct"), points))
        recorded = facts.get("logs_errors_per_min", {})
        results += [monitoring.log_errors(r, allowance_per_min=limits.log_errors_per_min,
                                          points=points, recorded_per_min=recorded.get(kind))
                    for kind, r in observed.logs.items() if r.after is not None]
        step.detail = "; ".join(r.summary for r in results)
        drill.checks(results)
    return observed


def error_rates_by_source(observed: observation.Observation,
                          facts: dict[str, Any]) -> dict[str, str]:
    """Each source's error rate before (the baseline's window, or what the baseline manifest
    recorded in `facts`) and after (the watch)."""
    rates = {}
    scrapes = observed.watch.scrapes() if observed.watch else []
    if scrapes:
        seen = metrics.traffic(scrapes[0], scrapes[-1])
        before = (f"{facts['error_pct']:.1f} % 5xx of {facts['requests']:g} requests"
                  if "error_pct" in facts else "not recorded (the service did not run when "
                  "the baseline was taken)")
        rates[observed.watch.metrics_url] = (
            f"before: {before}; after: {seen.error_pct:.1f} % 5xx of {seen.requests:g} "
            f"requests since {seen.since}")
    for reading in observed.logs.values():
        if reading.after is None:
            rates[reading.text.source] = f"not read: {reading.text.why_not}"
            continue
        recorded = facts.get("logs_errors_per_min", {}).get(reading.text.kind)
        before = (f"{reading.before.errors_per_min:.2f}/min ({reading.before.errors} errors)"
                  if reading.before and (reading.before.lines or recorded is None) else
                  f"{recorded:.2f}/min recorded in the baseline" if recorded is not None
                  else "no baseline window")
        rates[reading.text.source] = (f"before: {before}; after: "
                                      f"{reading.after.errors_per_min:.2f}/min "
                                      f"({reading.after.errors} errors)")
    return rates


def describe(sample: Sample) -> str:
    """One sample of the watch on one line."""
    parts: list[str] = []
    if sample.health is not None:
        h: dict[str, Any] = sample.health
        parts.append(f"health {h['error'] or h['status']} {h['state'] or ''} {h['ms']:g} ms"
                     .replace("  ", " "))
    if sample.scrape is not None:
        s = sample.scrape.to_dict()
        parts.append(f"/metrics {s['error']}" if s["error"] else
                     f"5xx {s['errors']:g}/{s['requests']:g}, cpu {s['cpu_s']:g} s, "
                     f"rss {s['rss_mb']:g} MB")
    if sample.database is not None:
        d = sample.database
        parts.append(f"database {d['error']}" if "error" in d else
                     f"active {d['active']}, lock waits {d['lock_waits']}, deadlocks "
                     f"{d['deadlocks']}")
    return "; ".join(parts)
