"""Everything the post-rollback monitoring reads, once per run: each error log counted over
the window after the rollback and over the same window before the baseline, and the watch
(health, /metrics and database activity sampled over its window).

Where each log comes from, in order: the profile's path ([monitoring] app_log, postgres_log);
the file of the service or server this run started itself; PostgreSQL's current log file
through SQL (pg_current_logfile() and pg_read_file) when [monitoring] postgres_log_sql allows.
When none can be read, the LogText says why.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psycopg

from rollbook.measure import logs, metrics, watch
from rollbook.settings.profile import Monitoring

APP, POSTGRES = "app", "postgres"


@dataclass
class LogReading:
    """One log: where it came from, its window after, and the baseline's window before."""

    text: logs.LogText
    after: logs.LogWindow | None = None
    before: logs.LogWindow | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.text.source, "read": self.text.text is not None,
                "why_not": self.text.why_not,
                "after": self.after.to_dict() if self.after else None,
                "before": self.before.to_dict() if self.before else None}


@dataclass
class Observation:
    logs: dict[str, LogReading] = field(default_factory=dict)  # APP, POSTGRES
    watch: watch.Watch | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"logs": {k: v.to_dict() for k, v in self.logs.items()},
                "watch": self.watch.to_dict() if self.watch else None}


def log_texts(conn: psycopg.Connection | None, limits: Monitoring, *,
              app_log: Path | None = None, postgres_log: Path | None = None
              ) -> dict[str, logs.LogText]:
    """The application's and PostgreSQL's log text, from the first source that has one."""
    app = logs.from_file(APP, "application log", limits.app_log or app_log)
    if app.text is None and limits.app_log is None and app_log is None:
        app.why_not = ("the profile names no application log. Hint: set [monitoring] app_log "
                       "to the service's log file (JSON lines or plain text)")
    path = limits.postgres_log or postgres_log
    if path is not None:
        pg = logs.from_file(POSTGRES, "PostgreSQL log", path)
    elif conn is not None and limits.postgres_log_sql:
        pg = logs.postgres_from_sql(conn)
    else:
        pg = logs.LogText(POSTGRES, "PostgreSQL log", why_not="no postgres_log in the profile "
                          "and postgres_log_sql = false. Hint: name the file, or allow SQL")
    return {APP: app, POSTGRES: pg}


def read_logs(texts: dict[str, logs.LogText], window_s: float, *, now: dt.datetime,
              baseline_at: dt.datetime | None, since: dt.datetime | None = None
              ) -> dict[str, LogReading]:
    """Each log's error lines over [now - window_s, now] (from the baseline, or `since`, on
    when either is more recent) and, with a baseline, over window_s up to the moment the
    baseline was taken."""
    span = dt.timedelta(seconds=window_s)
    start = max([now - span, *(t for t in (baseline_at, since) if t is not None and t < now)])
    found = {}
    for kind, text in texts.items():
        reading = LogReading(text)
        if text.text is not None:
            lines = logs.parse(text.text, kind)
            reading.after = logs.window(lines, text.source, start, now)
            if baseline_at is not None:
                reading.before = logs.window(lines, text.source, baseline_at - span,
                                             baseline_at)
        found[kind] = reading
    return found


def observe(conn: psycopg.Connection | None, limits: Monitoring, *, health_url: str | None,
            metrics_url: str | None, app_log: Path | None = None,
            postgres_log: Path | None = None, baseline_at: dt.datetime | None = None,
            since_watch: bool = False,
            on_sample: Callable[[watch.Sample], None] | None = None,
            stop: threading.Event | None = None) -> Observation:
    """Watch for the profile's window, then read the logs up to the watch's end (from the
    watch's start only, with `since_watch`: a drill's own faults before it are not the
    rolled-back system's)."""
    started = dt.datetime.now(dt.timezone.utc)
    watched = watch.run(health_url=health_url, metrics_url=metrics_url, conn=conn,
                        window_s=limits.window_s, interval_s=limits.interval_s,
                        on_sample=on_sample, stop=stop)
    texts = log_texts(conn, limits, app_log=app_log, postgres_log=postgres_log)
    return Observation(read_logs(texts, limits.log_window_s,
                                 now=dt.datetime.now(dt.timezone.utc), baseline_at=baseline_at,
                                 since=started if since_watch else None), watched)


def baseline_time(created_at: str | None) -> dt.datetime | None:
    """When a baseline manifest was taken (its created_at), or None."""
    if not created_at:
        return None
    try:
        at = dt.datetime.fromisoformat(created_at)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def observe_live(conn: psycopg.Connection, profile, *, api_url: str | None,
                 baseline=None) -> Observation:
    """`rollbook assess`'s observation of a live system: the profile's metrics and logs, the
    API's /health, the window before the baseline manifest's creation."""
    limits = profile.monitoring
    return observe(conn, limits, health_url=f"{api_url}/health" if api_url else None,
                   metrics_url=limits.metrics_url,
                   baseline_at=baseline_time(baseline.created_at if baseline else None))


def baseline_facts(conn: psycopg.Connection, limits: Monitoring) -> dict[str, Any]:
    """What the monitoring remembers of "before", for the baseline manifest: the service's
    5xx share and memory (one scrape of [monitoring] metrics_url), each error log's rate over
    log_window_s, and the database's deadlock count. Empty when nothing could be read."""
    facts: dict[str, Any] = {}
    if limits.metrics_url:
        scrape = metrics.scrape_once(limits.metrics_url)
        if scrape.error is None:
            seen = metrics.traffic(None, scrape)
            facts.update(error_pct=round(seen.error_pct, 3), requests=seen.requests,
                         rss_mb=scrape.to_dict()["rss_mb"])
    readings = read_logs(log_texts(conn, limits), limits.log_window_s,
                         now=dt.datetime.now(dt.timezone.utc), baseline_at=None)
    rates = {kind: round(r.after.errors_per_min, 3) for kind, r in readings.items() if r.after}
    if rates:
        facts["logs_errors_per_min"] = rates
    activity = watch.activity(conn)
    if "error" not in activity:
        facts["deadlocks"] = activity["deadlocks"]
    return facts


def describe(profile) -> str:
    """Where the monitoring of `profile` will look, in one line (for `rollbook profile`)."""
    limits, served = profile.monitoring, profile.api.service is not None
    app = limits.app_log or ("the started service's own" if served else "none named")
    pg = (limits.postgres_log or ("the embedded server's" if profile.database.embedded else
                                  "pg_current_logfile() via pg_read_file"
                                  if limits.postgres_log_sql else "none"))
    metrics_at = limits.metrics_url or ("the started service's /metrics" if served
                                        else "none named")
    return (f"watch {limits.window_s:g} s every {limits.interval_s:g} s; error logs over "
            f"{limits.log_window_s:g} s: application {app}, PostgreSQL {pg}; metrics "
            f"{metrics_at}")
