"""The application under rollback: start, stop and restart it, wait for its health, switch
maintenance mode; every step timed, every call kept as evidence.

Two ways to run it, one interface (start / stop / restart, base_url, log_tail):

    ServiceProcess(argv, port=..., env=...)    a child process rollbook starts and signals
    CommandService(start_argv, stop_argv, ...) the operator's own scripts (./scripts/start.sh)

Commands are argv lists, never shell strings; secrets travel in ``env`` and are masked in every
log tail this module shows. ``vibes_service`` builds the ServiceProcess of the reference API.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from rollbook.errors import RollbookError
from rollbook.measure.api_smoke import call, client_for
from rollbook.net import free_port, port_open
from rollbook.record.redact import redact_text
from rollbook.runbook.child import die_with_parent


class ServiceError(RollbookError):
    """The application could not be started, reached or stopped."""


@dataclass
class StepTiming:
    """One timed lifecycle step: start, stop, restart (with its parts), health wait."""

    step: str
    elapsed_s: float
    detail: str = ""
    observed: dict[str, Any] = field(default_factory=dict)
    parts: list[StepTiming] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "elapsed_s": round(self.elapsed_s, 3), "detail": self.detail,
                "observed": self.observed, "parts": [p.to_dict() for p in self.parts]}


def wait_for_health(url: str, *, timeout_s: float = 30.0, interval_s: float = 0.1,
                    exited: Callable[[], int | None] | None = None,
                    log_tail: Callable[[], str] | None = None) -> StepTiming:
    """Poll ``url`` until it answers 200; ServiceError with the last status seen otherwise."""
    started = time.perf_counter()
    last, attempts = "no answer yet", 0
    with client_for(url, timeout_s=min(2.0, timeout_s)) as client:
        while True:
            attempts += 1
            seen = call(client, "GET", url)
            if seen.status == 200:
                return StepTiming("health wait", time.perf_counter() - started,
                                  f"{url} answered 200 after {attempts} attempt(s)",
                                  {"attempts": attempts, "health": seen.evidence()})
            last = seen.error or f"HTTP {seen.status} {_short(seen.body)}"
            code = exited() if exited else None
            if code is not None:
                raise ServiceError(
                    f"the service exited with code {code} before {url} answered 200; "
                    f"last seen: {last}", context=_tail_context(log_tail),
                    hint="read the service log above: the first error line says why.")
            if time.perf_counter() - started >= timeout_s:
                raise ServiceError(
                    f"{url} did not answer 200 within {timeout_s:g} s ({attempts} attempts); "
                    f"last seen: {last}", context=_tail_context(log_tail),
                    hint="check the service log above and that it listens on this port.")
            time.sleep(interval_s)


class Service:
    """What both kinds share: the URLs, the health wait, restart, and the log tail."""

    def __init__(self, *, base_url: str, env: Mapping[str, str] | None, log_path: Path | None,
                 health_path: str, start_timeout_s: float, stop_grace_s: float,
                 secrets: Sequence[str]):
        self.base_url = base_url.rstrip("/")
        self.env = dict(os.environ if env is None else env)
        self.health_url = self.base_url + health_path
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.stop_grace_s = stop_grace_s
        self.secrets = tuple(s for s in secrets if s)

    @property
    def host_port(self) -> tuple[str, int]:
        hostport = self.base_url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        return host, int(port)

    def start(self, *, timeout_s: float | None = None) -> StepTiming:
        raise NotImplementedError

    def stop(self, *, grace_s: float | None = None) -> StepTiming:
        raise NotImplementedError

    def restart(self, *, timeout_s: float | None = None,
                env_update: Mapping[str, str] | None = None) -> StepTiming:
        """Stop, apply ``env_update`` (e.g. the integer id-mode flags), start again; the
        timing has both steps as parts."""
        stopped = self.stop()
        self.env.update(env_update or {})
        started = self.start(timeout_s=timeout_s)
        return StepTiming("restart", stopped.elapsed_s + started.elapsed_s,
                          f"stopped in {stopped.elapsed_s:.2f} s, healthy again in "
                          f"{started.elapsed_s:.2f} s",
                          {"env_update": sorted(env_update or {})}, parts=[stopped, started])

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the service's log, passwords and tokens masked."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return redact_text("\n".join(text), self.secrets)

    def _wait_port_closed(self, grace_s: float) -> bool:
        host, port = self.host_port
        deadline = time.perf_counter() + grace_s
        while port_open(host, port):
            if time.perf_counter() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ServiceProcess(Service):
    """The service as a child process: SIGTERM to stop, SIGKILL after the grace period."""

    def __init__(self, argv: Sequence[str], *, port: int, env: Mapping[str, str] | None = None,
                 host: str = "127.0.0.1", cwd: Path | None = None, log_path: Path | None = None,
                 health_path: str = "/health", start_timeout_s: float = 30.0,
                 stop_grace_s: float = 10.0, secrets: Sequence[str] = ()):
        if isinstance(argv, str):
            raise ServiceError("the service command must be an argv list, not a shell string.",
                               hint='write ["./scripts/start.sh"] or [python, "-m", "app"].')
        super().__init__(base_url=f"http://{host}:{port}", env=env, log_path=log_path,
                         health_path=health_path, start_timeout_s=start_timeout_s,
                         stop_grace_s=stop_grace_s, secrets=secrets)
        self.argv, self.port, self.cwd = list(argv), port, cwd
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, timeout_s: float | None = None) -> StepTiming:
        if self.running:
            raise ServiceError(f"the service already runs (pid {self.pid}).",
                               hint="stop it first, or use restart().")
        host, port = self.host_port
        if port_open(host, port):
            raise ServiceError(f"port {port} on {host} is already taken.",
                               hint="stop whatever listens there, or pick another port.")
        started = time.perf_counter()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True, preexec_fn=die_with_parent())
        except OSError as exc:
            raise ServiceError(f"cannot run {self.argv[0]}: {exc.strerror}.",
                               hint="check the command and the working directory.") from exc
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        try:
            health = wait_for_health(self.health_url, timeout_s=timeout_s or self.start_timeout_s,
                                     exited=self._proc.poll, log_tail=self.log_tail)
        except ServiceError:
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
            raise
        return StepTiming("start", time.perf_counter() - started,
                          f"pid {self.pid} healthy at {self.health_url}",
                          {"pid": self.pid, "port": self.port}, parts=[health])

    def stop(self, *, grace_s: float | None = None) -> StepTiming:
        grace = self.stop_grace_s if grace_s is None else grace_s
        started = time.perf_counter()
        if not self.running:
            code = self._proc.returncode if self._proc else None
            return StepTiming("stop", 0.0, "was not running", {"exit_code": code})
        pid, sent = self.pid, "SIGTERM"
        self._signal_group(signal.SIGTERM)
        try:
            self._proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            sent = "SIGKILL"
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
        closed = self._wait_port_closed(grace)
        elapsed = time.perf_counter() - started
        observed = {"pid": pid, "signal": sent, "exit_code": self._proc.returncode,
                    "port": self.port, "port_closed": closed}
        if not closed:
            raise ServiceError(f"port {self.port} still accepts connections after pid {pid} "
                               "exited.", hint="another process listens there: find it with "
                               f"`ss -ltnp 'sport = :{self.port}'`.")
        how = "on SIGTERM" if sent == "SIGTERM" else f"by SIGKILL after {grace:g} s grace"
        return StepTiming("stop", elapsed, f"pid {pid} stopped {how}; port {self.port} closed",
                          observed)

    def use_interpreter(self, python: Path, *, cwd: Path | None = None) -> None:
        """Run the same `python -m module` command from another interpreter (a release's
        virtualenv) on the next start, isolated (-I): neither the working directory nor
        PYTHONPATH can then put another copy of the module first on its path."""
        self.argv = [str(python), "-I", *(a for a in self.argv[1:] if a != "-I")]
        self.cwd = cwd

    def kill(self) -> int | None:
        """SIGKILL the service, as a crash does; returns its exit code."""
        if not self.running:
            return self._proc.returncode if self._proc else None
        self._signal_group(signal.SIGKILL)
        return self._proc.wait()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)  # its own session: the group is this child's
        except ProcessLookupError:
            pass


class CommandService(Service):
    """The service through the operator's start/stop commands, e.g. ./scripts/start.sh."""

    def __init__(self, start_argv: Sequence[str], stop_argv: Sequence[str], *, base_url: str,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 log_path: Path | None = None, health_path: str = "/health",
                 start_timeout_s: float = 30.0, stop_grace_s: float = 10.0,
                 command_timeout_s: float = 60.0, secrets: Sequence[str] = ()):
        if isinstance(start_argv, str) or isinstance(stop_argv, str):
            raise ServiceError("start and stop commands must be argv lists, not shell strings.",
                               hint='write ["./scripts/start.sh"].')
        super().__init__(base_url=base_url, env=env, log_path=log_path,
                         health_path=health_path, start_timeout_s=start_timeout_s,
                         stop_grace_s=stop_grace_s, secrets=secrets)
        self.start_argv, self.stop_argv = list(start_argv), list(stop_argv)
        self.cwd, self.command_timeout_s = cwd, command_timeout_s

    def start(self, *, timeout_s: float | None = None) -> StepTiming:
        started = time.perf_counter()
        ran = self._run(self.start_argv)
        health = wait_for_health(self.health_url, timeout_s=timeout_s or self.start_timeout_s,
                                 log_tail=self.log_tail)
        return StepTiming("start", time.perf_counter() - started,
                          f"{' '.join(self.start_argv)}; healthy at {self.health_url}",
                          {"command": ran}, parts=[health])

    def stop(self, *, grace_s: float | None = None) -> StepTiming:
        grace = self.stop_grace_s if grace_s is None else grace_s
        started = time.perf_counter()
        ran = self._run(self.stop_argv)
        if not self._wait_port_closed(grace):
            raise ServiceError(f"{self.base_url} still accepts connections {grace:g} s after "
                               f"{' '.join(self.stop_argv)}.",
                               context=_tail_context(self.log_tail),
                               hint="the stop command did not stop the service.")
        return StepTiming("stop", time.perf_counter() - started,
                          f"{' '.join(self.stop_argv)}; port closed",
                          {"command": ran, "port_closed": True})

    def _run(self, argv: list[str]) -> dict[str, Any]:
        try:
            done = subprocess.run(argv, env=self.env, cwd=self.cwd, capture_output=True,
                                  text=True, timeout=self.command_timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"{' '.join(argv)} could not run: {exc}.",
                               hint="check the command, its working directory and timeout."
                               ) from exc
        output = redact_text((done.stdout + done.stderr)[-2000:], self.secrets)
        if done.returncode != 0:
            raise ServiceError(f"{' '.join(argv)} exited with code {done.returncode}.",
                               context=[("output", output or "(none)")],
                               hint="run it by hand to see why.")
        return {"argv": argv, "exit_code": done.returncode, "output": output}


# -- the reference service -----------------------------------------------------------------
def id_mode_env(mode: str) -> dict[str, str]:
    """The runbook's flags for an id mode: integer (0001) or uuid (0002)."""
    if mode not in ("integer", "uuid"):
        raise ServiceError(f"unknown id mode {mode!r}.", hint="use integer or uuid.")
    uuid_on = mode == "uuid"
    return {"UUID_ENABLED": str(uuid_on).lower(), "USE_INTEGER_IDS": str(not uuid_on).lower()}


def vibes_service(dsn: str, *, id_mode: str = "integer", port: int | None = None,
                  admin_token: str | None = None, maintenance_file: Path | None = None,
                  log_path: Path | None = None, env: Mapping[str, str] | None = None,
                  python: str | None = None, app_log: Path | None = None,
                  **kwargs) -> ServiceProcess:
    """The Vibes API (``python -m rollbook_vibes.api``) on a free port; the DSN goes in env.
    Its structured log (JSON lines) goes to `app_log`, by default application.jsonl beside
    `log_path` (or in a temporary folder of its own, removed with the service object);
    `service.app_log` names it."""
    values = dict(os.environ if env is None else env, VIBES_DATABASE_URL=dsn,
                  **id_mode_env(id_mode))
    if admin_token:
        values["VIBES_ADMIN_TOKEN"] = admin_token
    if maintenance_file is not None:
        values["VIBES_MAINTENANCE_FILE"] = str(maintenance_file)
    port = port or free_port()
    private = None
    if app_log is None and log_path is None:
        # a folder of its own, not a name in /tmp: a port is free again once this service
        # stops, and another run's service on it must not write into this one's log
        private = Path(tempfile.mkdtemp(prefix="vibes-api-"))
    app_log = app_log or (log_path.with_name("application.jsonl") if log_path else
                          private / "application.jsonl")
    app_log.unlink(missing_ok=True)  # a file left by an earlier service at this path
    values["VIBES_LOG_FILE"] = str(app_log)
    argv = [python or sys.executable, "-m", "rollbook_vibes.api", "--dsn-env", "VIBES_DATABASE_URL",
            "--port", str(port)]
    password = conninfo_to_dict(dsn).get("password")
    service = ServiceProcess(argv, port=port, env=values, log_path=log_path,
                             secrets=(admin_token or "", password or ""), **kwargs)
    service.app_log = app_log
    if private is not None:  # gone with the service object, or when the run ends
        weakref.finalize(service, shutil.rmtree, private, True)
    return service


def _tail_context(log_tail: Callable[[], str] | None) -> list[tuple[str, str]]:
    return [("service log (last lines)", log_tail())] if log_tail else []


def _short(body: Any, limit: int = 200) -> str:
    text = body if isinstance(body, str) else str(body)
    return text if len(text) <= limit else text[:limit] + "…"
