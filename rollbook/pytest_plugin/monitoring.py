"""The post-rollback Observation the monitoring checks judge: the watch over the profile's
window and the error logs, taken once per session (after the API smoke, so the service's
counters hold its traffic), on a connection of its own while the other checks run."""
from __future__ import annotations

import threading

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


OBSERVATION_KEY = ("post-rollback observation",)
# what _observer takes, besides the request
OBSERVER_FIXTURES = ("pytestconfig", "checks_target", "api_report", "run_memo")


class _Watch(threading.Thread):
    """The observation taken on its own read-only connection, beside the other checks."""

    def __init__(self, observe):
        super().__init__(name="rollbook-watch", daemon=True)
        self._observe = observe
        self.result: observation.Observation | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._observe()
        except BaseException as exc:  # handed to the test that reads the observation
            self.error = exc


def _observer(pytestconfig, request, checks_target, api_report, run_memo):
    """What takes the session's Observation (observation_taker, with the API the checks call),
    once per run: under xdist the first worker's, the others wait and read it."""
    base_url = request.getfixturevalue("checks_api").base_url if api_report else None
    take = observation_taker(pytestconfig, checks_target, base_url)
    return lambda: run_memo.get(OBSERVATION_KEY, take)


def observation_taker(config, target, base_url: str | None):
    """What takes the session's Observation: the watch over the profile's window (the API's
    /health at `base_url`), then the error logs read up to its end, from the profile's paths,
    else the service and server this run started, else PostgreSQL's own log through SQL. A
    `stop` event set ends the watch early (rollbook/pytest_plugin/measure_ahead.py)."""
    limits = target.profile.monitoring
    service = config.stash.get(SERVICE, None)
    metrics_url = limits.metrics_url or (f"{base_url}/metrics" if service is not None
                                         else None)
    baseline = target.baseline

    def take(stop: threading.Event | None = None) -> observation.Observation:
        with target.connect() as conn:
            return observation.observe(
                conn, limits, health_url=f"{base_url}/health" if base_url else None,
                metrics_url=metrics_url, app_log=getattr(service, "app_log", None),
                postgres_log=target.server_log,
                baseline_at=observation.baseline_time(baseline.created_at
                                                      if baseline else None), stop=stop)
    return take


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The checks that read the post-rollback observation go last, in their order: the watch's
    window then passes while the other checks run, instead of being waited for mid-run."""
    waiting = [item for item in items if "post_rollback" in getattr(item, "fixturenames", ())]
    if waiting:
        later = {id(item) for item in waiting}
        items[:] = [item for item in items if id(item) not in later] + waiting


@pytest.fixture(scope="session", autouse=True)
def _watch_beside_the_checks(request):
    """When monitoring checks are to run, their watch starts with the session's first test
    (after the API smoke, so the counters hold its traffic) and runs its window beside the
    other checks instead of after them."""
    if not any("post_rollback" in getattr(item, "fixturenames", ())
               for item in request.session.items):
        yield None
        return
    values = {name: request.getfixturevalue(name) for name in OBSERVER_FIXTURES}
    watch = _Watch(_observer(request=request, **values))
    watch.start()
    yield watch
    watch.join()


@pytest.fixture(scope="session")
def post_rollback(request, _watch_beside_the_checks) -> observation.Observation:
    """The post-rollback Observation (the watch and the error logs), taken once per session."""
    watch = _watch_beside_the_checks
    if watch is None:  # requested outside a collected monitoring check
        watch = _Watch(_observer(request=request, **{
            name: request.getfixturevalue(name) for name in OBSERVER_FIXTURES}))
        watch.start()
    watch.join()
    if watch.error is not None:
        raise watch.error
    attach_json("post-rollback observation", watch.result.to_dict())
    return watch.result
