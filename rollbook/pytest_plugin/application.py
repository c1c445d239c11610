"""The runbook's application phases of a drill: maintenance mode, application rollback, service
restart, API smoke, and leaving maintenance mode. Each step calls the engine and records its
evidence on the runbook's checklist."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from rollbook.measure.api_smoke import LatencyBudget, SmokeAccount, run_smoke
from rollbook.record.clock import format_duration
from rollbook.runbook.releases import ReleaseRepo, health_reports_release
from rollbook.runbook.service import ServiceProcess, id_mode_env
from rollbook.runbook.service_client import (
    disable_maintenance,
    enable_maintenance,
    read_health,
    verify_maintenance,
)
from rollbook_vibes.migrations_config import REVISION_INTEGER
from rollbook_vibes.seed import SEED_PASSWORD

SMOKE_ACCOUNT = SmokeAccount("user1@example.com", SEED_PASSWORD)
SMOKE_REQUESTS = 10
# Generous ceilings for a loaded CI machine; a profile's budgets replace them for checks.
SMOKE_BUDGET = LatencyBudget(p95_ms=1000)


def check_live_service(drill, service: ServiceProcess, id_mode: str) -> None:
    with drill.step(f"The live service answers in {id_mode} mode") as step:
        health = drill.check(read_health(service.base_url))
        step.detail = health.summary


def enter_maintenance(drill, service: ServiceProcess) -> None:
    _switch_maintenance(drill, service, on=True)


def _switch_maintenance(drill, service: ServiceProcess, *, on: bool) -> None:
    """Switch maintenance mode, verify it through /health, and tick the checklist item."""
    switch, verb, item = ((enable_maintenance, "Enable", "Maintenance mode enabled") if on else
                          (disable_maintenance, "Disable", "Maintenance mode disabled"))
    with drill.step(f"{verb} maintenance mode and verify it through /health",
                    covers=(item,)) as step:
        drill.check(switch(service.base_url, service.admin_token))
        verified = drill.check(verify_maintenance(service.base_url, on))
        step.detail = verified.summary
        drill.checklist.done(item, verified.summary)


@contextmanager
def release_staged(releases: ReleaseRepo) -> Iterator[Future]:
    """The release paired with revision 0001 checked out and reinstalled into a fresh
    virtualenv in the background while the block runs (the database rollback: the install is
    pip's work on its own core, the rollback the server's), for application_rollback to
    switch to. A block that fails still waits for the install to end."""
    with ThreadPoolExecutor(1, thread_name_prefix="rollbook-release") as background:
        yield background.submit(releases.install, releases.release_for(REVISION_INTEGER),
                                releases.path.parent / "venvs")


def application_rollback(drill, service: ServiceProcess,
                         releases: ReleaseRepo | Future | None = None) -> None:
    """Stop the UUID build, restore the integer configuration, start it again. With `releases`
    as the runbook writes it: check out the release paired with revision 0001, reinstall it
    into a fresh virtualenv (or take the one release_staged installed), take its configuration,
    and start the service from it; without, the fast way: the same build's integer-id
    flags."""
    flags, installed = id_mode_env("integer"), None
    with drill.phase("Application Rollback") as step:
        stopped = service.stop()
        drill.attach_json("service stop", stopped.to_dict())
        code = ("the Vibes API runs its integer-id code path again "
                "(one build serves both id modes, chosen by its flags)")
        if releases is not None:
            staged = isinstance(releases, Future)
            installed = releases.result() if staged else releases.install(
                releases.release_for(REVISION_INTEGER), releases.path.parent / "venvs")
            flags = id_mode_env(installed.release.id_mode)
            service.use_interpreter(installed.python, cwd=installed.venv)
            drill.attach_json("release checked out and reinstalled", installed.to_dict())
            drill.kept.text("release install log.txt", installed.install_log)
            drill.kept.text("release pip freeze.txt", installed.freeze)
            code = installed.summary() + (", staged while the database rolled back"
                                          if staged else "")
            drill.fact("application_release", code)
        service.env.update(flags)
        step.detail = (f"service stopped in {format_duration(stopped.elapsed_s)}, port closed; "
                       + (f"{code}; " if installed else "")
                       + ", ".join(f"{k}={v}" for k, v in flags.items()))
        drill.checklist.done("Application code reverted", code)
        restored = ", ".join(f"{k}={v}" for k, v in flags.items())
        drill.checklist.done("Configuration restored", restored + (
            f" (from {installed.release.name}'s release.json)" if installed else ""))
    with drill.phase("Service Restart") as step:
        started = service.start()
        drill.attach_json("service start", started.to_dict())
        health = drill.check(read_health(service.base_url))
        step.detail = f"started in {format_duration(started.elapsed_s)}; {health.summary}"
        if installed:
            step.detail += "; " + drill.check(
                health_reports_release(health, installed.release.name)).summary
        drill.checklist.done("Services restarted", step.detail)


def api_smoke(drill, service: ServiceProcess) -> None:
    """The runbook's functional tests through the API, during maintenance (operator token)."""
    with drill.step(f"API smoke: {SMOKE_REQUESTS} calls per endpoint",
                    covers=("Functional testing completed", "Performance validated")) as step:
        report = run_smoke(service.base_url, requests=SMOKE_REQUESTS, allow_writes=True,
                           account=SMOKE_ACCOUNT, budgets=SMOKE_BUDGET,
                           admin_token=service.admin_token)
        drill.attach_json("latencies (ms)", report.latencies())
        drill.checks(report.results())
        p95 = {name: round(figures["p95"], 1) for name, figures in report.latencies().items()}
        step.detail = "p95 ms: " + ", ".join(f"{name} {ms}" for name, ms in p95.items())
        drill.fact("api_p95_ms", p95)
        drill.checklist.done("Functional testing completed",
                             "login, create journal, list journals, get user by integer id: "
                             f"{SMOKE_REQUESTS} calls each, no errors")
        drill.checklist.done("Performance validated", f"API p95 within "
                             f"{SMOKE_BUDGET.p95_ms:g} ms: {step.detail}")


def leave_maintenance(drill, service: ServiceProcess) -> None:
    _switch_maintenance(drill, service, on=False)
