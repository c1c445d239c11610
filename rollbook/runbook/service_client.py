"""Talking to a running service: its health and its maintenance mode, as evidence."""
from __future__ import annotations

from rollbook.measure.api_smoke import call, client_for
from rollbook.record.evidence import CheckResult

ON_OFF = {True: "on", False: "off", None: "not said"}


def read_health(base_url: str, *, timeout_s: float = 5.0) -> CheckResult:
    """GET /health: ok when it answers 200."""
    with client_for(base_url, timeout_s) as client:
        seen = call(client, "GET", "/health")
    body = seen.body if isinstance(seen.body, dict) else {}
    ok = seen.status == 200
    state = ", ".join(f"{k} {ON_OFF.get(body[k], body[k])}" for k in (
        "status", "alembic_revision", "id_mode", "maintenance") if k in body)
    summary = (f"health: {seen.outcome()}{f' ({state})' if state else ''} in "
               f"{seen.elapsed_ms:.0f} ms")
    return CheckResult("service health", ok, summary if ok else summary + ". Hint: read "
                       "the service log.", observed=seen.evidence())


def enable_maintenance(base_url: str, admin_token: str, *, timeout_s: float = 5.0
                       ) -> CheckResult:
    return _switch_maintenance(base_url, admin_token, True, timeout_s)


def disable_maintenance(base_url: str, admin_token: str, *, timeout_s: float = 5.0
                        ) -> CheckResult:
    return _switch_maintenance(base_url, admin_token, False, timeout_s)


def verify_maintenance(base_url: str, enabled: bool, *, probe_path: str = "/api/v1/journals",
                       timeout_s: float = 5.0) -> CheckResult:
    """/health reports the flag as expected, and a non-admin endpoint agrees: 503 with
    Retry-After while on, anything but 503 while off."""
    with client_for(base_url, timeout_s) as client:
        health, probe = call(client, "GET", "/health"), call(client, "GET", probe_path)
    flag = health.body.get("maintenance") if isinstance(health.body, dict) else None
    gated = probe.status == 503 and "retry-after" in probe.headers
    ok = health.status == 200 and flag is enabled and gated is enabled
    want = "on" if enabled else "off"
    said = {True: "on", False: "off"}.get(flag, "nothing")
    summary = (f"maintenance {want}: /health says {said} ({health.outcome()}), "
               f"{probe_path} answers {probe.outcome()}"
               f"{' with Retry-After ' + probe.headers['retry-after'] if gated else ''}")
    return CheckResult(f"maintenance mode {want}", ok, summary if ok else summary +
                       f". Hint: switch it {want} through /admin/maintenance.",
                       observed={"health": health.evidence(), "probe": probe.evidence()})


def _switch_maintenance(base_url: str, admin_token: str, enable: bool, timeout_s: float
                        ) -> CheckResult:
    verb = "enable" if enable else "disable"
    with client_for(base_url, timeout_s) as client:
        seen = call(client, "POST", f"/admin/maintenance/{verb}",
                    headers={"Authorization": f"Bearer {admin_token}"})
    ok = seen.status == 200 and isinstance(seen.body, dict) and seen.body.get(
        "maintenance") is enable
    summary = f"{verb} maintenance mode: {seen.outcome()} in {seen.elapsed_ms:.0f} ms"
    if not ok:
        summary += (". Hint: 401 means a wrong admin token, 403 a service without one."
                    if seen.status in (401, 403) else ". Hint: read the service log.")
    return CheckResult(f"{verb} maintenance mode", ok, summary, observed=seen.evidence())
