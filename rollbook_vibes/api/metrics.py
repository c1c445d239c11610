"""The service's own counters in the Prometheus text format, at GET /metrics.

    vibes_http_requests_total{endpoint, method, status}   every answer, by route template
    vibes_http_errors_total{endpoint, method, status}     the 5xx among them
    vibes_http_request_duration_seconds{endpoint, method} latency histogram
    vibes_maintenance_refusals_total{endpoint, method}    the 503s maintenance mode answered on
                                                          purpose: not errors, not in the above
    process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds, ...
                                                          (prometheus-client's process collector)

Each application has its own registry, so two apps in one process (the tests) do not share
counts. The endpoint label is the route's template (/api/v1/users/{user_id}), never the raw
path, so ids do not multiply the series; paths no route serves count as "unmatched".
"""
from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
REFUSED_FOR_MAINTENANCE = "vibes.refused_for_maintenance"  # scope key the maintenance gate sets


class Metrics:
    """One application's registry: request and error counters, latencies, the process."""

    def __init__(self):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        labels = ("endpoint", "method", "status")
        self.requests = Counter("vibes_http_requests", "HTTP answers by endpoint, method and "
                                "status", labels, registry=self.registry)
        self.errors = Counter("vibes_http_errors", "HTTP 5xx answers by endpoint, method and "
                              "status", labels, registry=self.registry)
        self.latency = Histogram("vibes_http_request_duration_seconds", "time to answer",
                                 ("endpoint", "method"), registry=self.registry)
        self.refusals = Counter("vibes_maintenance_refusals", "requests answered 503 because "
                                "maintenance mode is on", ("endpoint", "method"),
                                registry=self.registry)

    def observe(self, endpoint: str, method: str, status: int, elapsed_s: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        if status >= 500:
            self.errors.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(elapsed_s)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class CountRequests:
    """ASGI middleware, outermost: counts every answer (the maintenance gate's 503s too, and a
    500 for an exception nobody handled); /metrics itself is not counted."""

    def __init__(self, app, metrics: Metrics, routes):
        self.app, self.metrics, self.routes = app, metrics, routes

    def _template(self, scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                return route.path
        return UNMATCHED

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started, seen = time.perf_counter(), {"status": 500}

        async def record_status(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            if scope.get(REFUSED_FOR_MAINTENANCE):
                self.metrics.refusals.labels(self._template(scope), scope["method"]).inc()
            else:
                self.metrics.observe(self._template(scope), scope["method"], seen["status"],
                                     time.perf_counter() - started)
