"""The service's own counters: one scrape of its Prometheus /metrics, and the error rate and
resource use between two scrapes.

Read from the Vibes API's names (rollbook_vibes/api/metrics.py): vibes_http_requests_total and
vibes_http_errors_total by endpoint, method and status; and from prometheus-client's process
collector, which every Python service exporting metrics has: process_cpu_seconds_total,
process_resident_memory_bytes, process_start_time_seconds (a new value means a restart).
The monitors' own calls (/health, /metrics) are not traffic and are left out of the rates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rollbook.measure.api_smoke import client_for

if TYPE_CHECKING:
    import httpx

REQUESTS, ERRORS = "vibes_http_requests", "vibes_http_errors"
PROBES = ("/health", "/metrics")


@dataclass
class Scrape:
    """One read of /metrics: counters by (endpoint, method, status), the process's figures."""

    url: str
    at: float  # time.time()
    requests: dict[tuple[str, str, str], float] = field(default_factory=dict)
    cpu_s: float | None = None
    rss_bytes: float | None = None
    started_at: float | None = None  # process_start_time_seconds
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        traffic = {k: v for k, v in self.requests.items() if k[0] not in PROBES}
        return {"error": self.error, "requests": sum(traffic.values()),
                "errors": sum(v for k, v in traffic.items() if k[2].startswith("5")),
                "cpu_s": self.cpu_s, "rss_mb": _mb(self.rss_bytes),
                "started_at": self.started_at}


def parse(text: str, url: str, at: float) -> Scrape:
    from prometheus_client.parser import text_string_to_metric_families

    scrape = Scrape(url, at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{REQUESTS}_total":
                key = tuple(sample.labels.get(k, "") for k in ("endpoint", "method", "status"))
                scrape.requests[key] = sample.value
            elif sample.name == "process_cpu_seconds_total":
                scrape.cpu_s = sample.value
            elif sample.name == "process_resident_memory_bytes":
                scrape.rss_bytes = sample.value
            elif sample.name == "process_start_time_seconds":
                scrape.started_at = sample.value
    return scrape


def scrape(client: httpx.Client, url: str) -> Scrape:
    """GET url and parse it; a failed call or unparseable text is a Scrape with an error."""
    import httpx

    at = time.time()
    try:
        response = client.get(url)
        response.raise_for_status()
        return parse(response.text, url, at)
    except httpx.HTTPError as exc:
        return Scrape(url, at, error=f"{type(exc).__name__}: {exc}".strip())
    except ValueError as exc:
        return Scrape(url, at, error=f"not the Prometheus text format: {exc}")


def scrape_once(url: str, timeout_s: float = 5.0) -> Scrape:
    with client_for(url, timeout_s=timeout_s) as client:
        return scrape(client, url)


@dataclass
class Traffic:
    """Requests and 5xx between two scrapes (or since the service started), by endpoint."""

    requests: float
    errors: float
    by_endpoint: dict[str, dict[str, float]]
    since: str  # "the window" or "the service's start"

    @property
    def error_pct(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    def failing(self) -> list[str]:
        return sorted(e for e, n in self.by_endpoint.items() if n["errors"])

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors,
                "error_pct": round(self.error_pct, 2), "since": self.since,
                "by_endpoint": self.by_endpoint}


def traffic(first: Scrape | None, last: Scrape) -> Traffic:
    """The counters' growth from `first` to `last`; from zero when there is no first scrape,
    when the service restarted in between, or when nothing was asked in between (then the
    figures are since the service's start)."""
    restarted = first is not None and first.started_at != last.started_at
    before = {} if first is None or restarted else first.requests
    grew = {k: v - before.get(k, 0.0) for k, v in last.requests.items() if k[0] not in PROBES}
    since = "the window" if before else "the service's start"
    if not any(v > 0 for v in grew.values()):
        grew = {k: v for k, v in last.requests.items() if k[0] not in PROBES}
        since = "the service's start"
    by_endpoint: dict[str, dict[str, float]] = {}
    for (endpoint, _method, status), count in grew.items():
        entry = by_endpoint.setdefault(endpoint, {"requests": 0.0, "errors": 0.0})
        entry["requests"] += count
        entry["errors"] += count if status.startswith("5") else 0.0
    return Traffic(sum(e["requests"] for e in by_endpoint.values()),
                   sum(e["errors"] for e in by_endpoint.values()), by_endpoint, since)


def cpu_pct(first: Scrape, last: Scrape) -> float | None:
    """The process's CPU use between two scrapes, in % of one core."""
    if None in (first.cpu_s, last.cpu_s) or last.at <= first.at \
            or first.started_at != last.started_at:
        return None
    return 100.0 * (last.cpu_s - first.cpu_s) / (last.at - first.at)


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value / 1024 / 1024, 1)
