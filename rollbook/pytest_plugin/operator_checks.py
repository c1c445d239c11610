"""The operator's own `pytest checks/`, run by a drill as a child process against the
rolled-back system, and its reports kept with the drill's evidence."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from rollbook.pytest_plugin.options import START_FD
from rollbook.record.clock import format_duration
from rollbook.record.model import utc_now
from rollbook.runbook.child import die_with_parent

if TYPE_CHECKING:
    from rollbook.pytest_plugin.baseline_steps import Baselined

OPERATOR_CHECKS_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parents[2]


class Ahead:
    """The checks' child, started ahead: `start()` lets it begin."""

    def __init__(self, write_end: int):
        self._write_end: int | None = write_end
        self.started: float | None = None
        self.started_utc = ""

    def start(self) -> None:
        if self._write_end is None:
            return
        self.started, self.started_utc = time.perf_counter(), utc_now()
        os.write(self._write_end, b"g")
        self.close()

    def close(self) -> None:
        """Without start(): the child ends, having done nothing."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None


@contextmanager
def operator_checks(drill, prepared: Baselined, api_url: str) -> Iterator[Ahead]:
    """The operator's `pytest checks/` against the rolled-back database and its API, with the
    drill's baseline: the runbook's full test suite after a rollback. Its process starts when
    the block starts and loads Python, pytest and rollbook, then waits (ROLLBOOK_START_FD);
    it begins when the block calls `start()`, and the block's steps after that (ones that only
    read, e.g. the post-rollback watch) run beside it; its own step, after them, waits for it
    and judges it. A block that fails, or never calls `start()`, stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    env["ROLLBOOK_DSN"] = prepared.dsn  # the environment, not argv: argv shows in `ps`
    read_end, write_end = os.pipe()
    env[START_FD] = str(read_end)
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks"), "-q", "-p",
            "no:cacheprovider", "--env", "prod.example", "--baseline",
            str(drill.workspace / "baseline.json"), "--api-url", api_url,
            "--reports-dir", str(drill.workspace / "checks-reports")]
    out, err = drill.workspace / "pytest-checks.out", drill.workspace / "pytest-checks.err"
    spawned = time.perf_counter()
    ahead = Ahead(write_end)
    try:
        with out.open("w") as stdout, err.open("w") as stderr:
            # files, not pipes: a full pipe would stall the checks while the block runs
            child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                     text=True, pass_fds=(read_end,),
                                     preexec_fn=die_with_parent())
    except BaseException:
        ahead.close()
        raise
    finally:
        os.close(read_end)
    try:
        yield ahead
        assert ahead.started is not None, "operator_checks: the block never called start()"
        beside = time.perf_counter() - ahead.started
        with drill.step("Integration tests: pytest checks/ against the rolled-back system",
                        covers=("Integration tests successful",)) as step:
            try:
                child.wait(timeout=max(0.0, OPERATOR_CHECKS_TIMEOUT_S
                                       - (time.perf_counter() - ahead.started)))
            except subprocess.TimeoutExpired:
                step.detail = (f"pytest checks/ still running after "
                               f"{format_duration(OPERATOR_CHECKS_TIMEOUT_S)}: stopped")
                raise
            ran = time.perf_counter() - ahead.started
            stdout_text, stderr_text = out.read_text(), err.read_text()
            drill.attach_text("pytest checks/", stdout_text[-20_000:] + stderr_text[-5_000:])
            keep_checks_report(drill, drill.workspace / "checks-reports")
            lines = stdout_text.strip().splitlines()
            summary = lines[-1].strip("= ") if lines else stderr_text.strip()[-300:]
            step.detail = (f"{summary}; started {ahead.started_utc[11:19]} UTC (its process "
                           f"{format_duration(ahead.started - spawned)} before, loaded and "
                           f"waiting), {format_duration(beside)} of its {format_duration(ran)} "
                           "beside the steps before this one")
            assert child.returncode == 0, f"pytest checks/ exited {child.returncode}: {summary}"
            drill.checklist.done("Integration tests successful", f"pytest checks/: {summary}")
    finally:
        ahead.close()
        if child.poll() is None:
            child.kill()
        child.wait()


def keep_checks_report(drill, reports_dir: Path) -> None:
    """The operator checks' own report, record and JUnit file, kept with the drill's
    evidence."""
    for kept_as, name in (("checks-report.md", "checks.md"), ("checks-junit.xml", "junit.xml"),
                          ("checks-record.md", "checks-record.md"),
                          ("checks-record.html", "checks-record.html")):
        found = sorted(reports_dir.glob(f"*/{name}"))
        if found:
            drill.kept.file(kept_as, found[-1])


