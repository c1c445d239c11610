"""A watch over a window instead of one sample: the runbook's
`watch -n 30 'curl -s http://localhost:8000/health | jq'`, with the service's /metrics and the
database's activity read at the same moments.

Every `interval_s` for `window_s` seconds (the first sample at once, the last at the window's
end) one Sample is taken: the health call (status, body's status, time), a scrape of /metrics
when there is one, and one statement of database activity (active sessions, sessions waiting
on a lock, pg_stat_database's deadlocks and rolled-back transactions). Every sample is kept.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg

from rollbook.measure import metrics
from rollbook.measure.api_smoke import call, client_for
from rollbook.pg.connect import OTHER_CLIENTS

ACTIVITY_SQL = f"""\
SELECT (SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND {OTHER_CLIENTS})
         AS active,
       (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock') AS lock_waits,
       d.numbackends AS connections, d.deadlocks, d.xact_commit, d.xact_rollback
FROM pg_stat_database d WHERE d.datname = current_database()"""


@dataclass
class Sample:
    at: str  # UTC, ISO 8601
    elapsed_s: float
    health: dict[str, Any] | None = None  # {"status", "state", "ms", "error"}
    scrape: metrics.Scrape | None = None
    database: dict[str, Any] | None = None

    @property
    def healthy(self) -> bool | None:
        if self.health is None:
            return None
        # maintenance mode answers 200 too: the service and its database are up, and whether
        # it should still be on is the maintenance step's to judge
        return self.health["status"] == 200 and self.health["state"] in ("ok", "maintenance",
                                                                         None)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "elapsed_s": round(self.elapsed_s, 2), "health": self.health,
                "metrics": self.scrape.to_dict() if self.scrape else None,
                "database": self.database}


@dataclass
class Watch:
    window_s: float
    interval_s: float
    health_url: str | None
    metrics_url: str | None
    samples: list[Sample] = field(default_factory=list)

    def scrapes(self) -> list[metrics.Scrape]:
        return [s.scrape for s in self.samples if s.scrape is not None and not s.scrape.error]

    def database_samples(self) -> list[dict[str, Any]]:
        return [s.database for s in self.samples if s.database and "error" not in s.database]

    def to_dict(self) -> dict[str, Any]:
        return {"window_s": self.window_s, "interval_s": self.interval_s,
                "health_url": self.health_url, "metrics_url": self.metrics_url,
                "samples": [s.to_dict() for s in self.samples]}


def _health(client, url: str) -> dict[str, Any]:
    seen = call(client, "GET", url)
    state = seen.body.get("status") if isinstance(seen.body, dict) else None
    return {"status": seen.status, "state": state, "ms": round(seen.elapsed_ms, 1),
            "error": seen.error}


def activity(conn: psycopg.Connection) -> dict[str, Any]:
    """One row of database activity, or {"error": ...}."""
    try:
        cur = conn.execute(ACTIVITY_SQL)
        row = cur.fetchone()
    except psycopg.Error as exc:
        return {"error": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}
    return dict(zip([c.name for c in cur.description], row, strict=True))


def run(*, health_url: str | None, metrics_url: str | None, conn: psycopg.Connection | None,
        window_s: float, interval_s: float, timeout_s: float = 5.0,
        on_sample: Callable[[Sample], None] | None = None,
        stop: threading.Event | None = None) -> Watch:
    """Sample health, metrics and database activity every interval_s over window_s (until
    `stop` is set: then the window is cut short)."""
    watch = Watch(window_s, interval_s, health_url, metrics_url)
    started = time.monotonic()
    with client_for(health_url or metrics_url or "http://127.0.0.1",
                    timeout_s=min(timeout_s, max(interval_s, 2.0))) as client:
        while True:
            elapsed = time.monotonic() - started
            sample = Sample(dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                            elapsed)
            if health_url:
                sample.health = _health(client, health_url)
            if metrics_url:
                sample.scrape = metrics.scrape(client, metrics_url)
            if conn is not None:
                sample.database = activity(conn)
            watch.samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
            next_at = len(watch.samples) * interval_s
            if next_at > window_s + 1e-9:
                return watch
            left = max(0.0, next_at - (time.monotonic() - started))
            if stop is None:
                time.sleep(left)
            elif stop.wait(left):
                return watch
