"""The post-rollback Observation the monitoring checks judge: the watch over the profile's
window and the error logs, taken once per session (after the API smoke, so the service's
counters hold its traffic)."""
from __future__ import annotations

import pytest

from rollbook.measure import observation
from rollbook.measure.api_smoke import SmokeReport
from rollbook.pytest_plugin.api import SERVICE
from rollbook.pytest_plugin.evidence import attach_json


@pytest.fixture(scope="session")
def api_report(request) -> SmokeReport | None:
    """The session's API smoke (so the watch sees its traffic in the counters), or None when
    the profile names no API."""
    try:
        return request.getfixturevalue("api_smoke")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def post_rollback(pytestconfig, request, checks_target, checks_conn, checks_profile,
                  checks_baseline, api_report) -> observation.Observation:
    """The watch over the profile's window, then the error logs read up to its end: from the
    profile's paths, else the service and server this run started, else PostgreSQL's own log
    through SQL. Taken once per session."""
    limits = checks_profile.monitoring
    base_url = request.getfixturevalue("checks_api").base_url if api_report else None
    service = pytestconfig.stash.get(SERVICE, None)
    metrics_url = limits.metrics_url or (f"{base_url}/metrics" if service is not None
                                         else None)
    observed = observation.observe(
        checks_conn, limits, health_url=f"{base_url}/health" if base_url else None,
        metrics_url=metrics_url, app_log=getattr(service, "app_log", None),
        postgres_log=checks_target.server_log,
        baseline_at=observation.baseline_time(checks_baseline.created_at
                                              if checks_baseline else None))
    attach_json("post-rollback observation", observed.to_dict())
    return observed
