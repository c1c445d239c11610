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

from rollbook.record.clock import format_duration
from rollbook.record.model import utc_now
from rollbook.runbook.child import die_with_parent

if TYPE_CHECKING:
    from rollbook.pytest_plugin.baseline_steps import Baselined

OPERATOR_CHECKS_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def operator_checks(drill, prepared: Baselined, api_url: str) -> Iterator[None]:
    """The operator's `pytest checks/` against the rolled-back database and its API, with the
    drill's baseline: the runbook's full test suite after a rollback. It starts when the block
    starts; the block's steps (ones that only read, e.g. the steady state) run beside it, and
    its own step, after them, waits for it and judges it. A block that fails stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    env["ROLLBOOK_DSN"] = prepared.dsn  # the environment, not argv: argv shows in `ps`
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks"), "-q", "-p",
            "no:cacheprovider", "--env", "prod.example", "--baseline",
            str(drill.workspace / "baseline.json"), "--api-url", api_url,
            "--reports-dir", str(drill.workspace / "checks-reports")]
    out, err = drill.workspace / "pytest-checks.out", drill.workspace / "pytest-checks.err"
    started, started_utc = time.perf_counter(), utc_now()
    with out.open("w") as stdout, err.open("w") as stderr:
        # files, not pipes: a full pipe would stall the checks while the block runs
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                 text=True, preexec_fn=die_with_parent())
    try:
        beside = time.perf_counter()
        yield
        beside = time.perf_counter() - beside
        with drill.step("Integration tests: pytest checks/ against the rolled-back system",
                        covers=("Integration tests successful",)) as step:
            try:
                child.wait(timeout=max(0.0, OPERATOR_CHECKS_TIMEOUT_S
                                       - (time.perf_counter() - started)))
            except subprocess.TimeoutExpired:
                step.detail = (f"pytest checks/ still running after "
                               f"{format_duration(OPERATOR_CHECKS_TIMEOUT_S)}: stopped")
                raise
            ran = time.perf_counter() - started
            stdout_text, stderr_text = out.read_text(), err.read_text()
            drill.attach_text("pytest checks/", stdout_text[-20_000:] + stderr_text[-5_000:])
            keep_checks_report(drill, drill.workspace / "checks-reports")
            lines = stdout_text.strip().splitlines()
            summary = lines[-1].strip("= ") if lines else stderr_text.strip()[-300:]
            step.detail = (f"{summary}; started {started_utc[11:19]} UTC, "
                           f"{format_duration(beside)} of its {format_duration(ran)} beside "
                           "the steps before this one")
            assert child.returncode == 0, f"pytest checks/ exited {child.returncode}: {summary}"
            drill.checklist.done("Integration tests successful", f"pytest checks/: {summary}")
    finally:
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


