"""The drill harness: Allure steps, recovery-time phases, evidence, and the drill's record."""
from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import allure
import pytest

from rollbook.pytest_plugin.evidence import attach_file, attach_json, attach_result, attach_text
from rollbook.pytest_plugin.kept import KEEP_DUMPS, KeptEvidence
from rollbook.pytest_plugin.profile import settings_for
from rollbook.pytest_plugin.reporting import REPORTS
from rollbook.pytest_plugin.run_record import run_reason
from rollbook.pytest_plugin.service import SERVICE_FOLDERS
from rollbook.record.allure_meta import family_failure, rto_table
from rollbook.record.checklist import COULD_NOT_VERIFY, DONE, NOT_DONE, PHASE_COVERS
from rollbook.record.clock import RecoveryClock, format_duration
from rollbook.record.evidence import CheckResult, difference_lines
from rollbook.record.markdown import table as markdown_table
from rollbook.record.model import DecisionLog, DrillRecord, StepLog, utc_now
from rollbook.record.redact import redact_text
from rollbook.settings.profile import Profile
from rollbook.verdicts.triggers import Decision


class DrillFailure(AssertionError):
    """A drill step found the system not as the runbook requires."""


HEARTBEAT_S = 10.0
_TERMINAL = threading.RLock()  # progress lines come from the test and from heartbeats


class Heartbeat:
    """While a step runs, a line at least every HEARTBEAT_S seconds: the innermost running
    step and how long it has run, so a long seed, migration or digest never looks hung."""

    def __init__(self, say):
        self._say = say
        self._running: list[tuple[str, float]] = []
        self._last_line = time.monotonic()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def enter(self, title: str, started: float) -> None:
        with self._lock:
            self._running.append((title, started))
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, daemon=True,
                                                name="rollbook-heartbeat")
                self._thread.start()

    def leave(self) -> None:
        with self._lock:
            self._running.pop()

    def spoke(self) -> None:
        self._last_line = time.monotonic()

    def _beat(self) -> None:
        while True:
            # wake at the next line's deadline (at most 1 s on, to see the step end): a fixed
            # 1 s tick let up to HEARTBEAT_S + 1 s pass in silence
            time.sleep(min(1.0, max(0.0, self._last_line + HEARTBEAT_S - time.monotonic())))
            with self._lock:
                if not self._running:
                    self._thread = None
                    return
                title, started = self._running[-1]
            if time.monotonic() - self._last_line >= HEARTBEAT_S:
                self._say(f"… {title}: running for "
                          f"{format_duration(time.perf_counter() - started)}")
                self.spoke()


NO_ACTION = "none: the matrix calls for no rollback"


class Drill:
    """Runs a drill's steps in runbook order and keeps what the record needs."""

    def __init__(self, record: DrillRecord, workspace: Path, config=None,
                 profile: Profile | None = None, kept: KeptEvidence | None = None):
        self.record = record
        self.profile = profile  # the session's resolved profile: key queries, limits, [rto]
        self.workspace = workspace
        self.kept = kept or KeptEvidence(workspace / "kept")  # evidence kept with the run
        self.checklist = record.checklist
        self._config = config
        self._heartbeat = Heartbeat(self.progress)

    def progress(self, message: str) -> None:
        """A progress line on the terminal, shown live even while output is captured."""
        plugins = self._config.pluginmanager if self._config else None
        terminal = plugins.get_plugin("terminalreporter") if plugins else None
        if terminal is None:
            return
        capture = plugins.get_plugin("capturemanager")
        with _TERMINAL, capture.global_and_fixture_disabled():
            terminal.write_line(f"[rollbook] {message}")
            # pytest starts its progress line afresh (file name first) after ours
            terminal.currentfspath = None
        self._heartbeat.spoke()

    @contextmanager
    def step(self, title: str, covers: tuple[str, ...] = ()) -> Iterator[StepLog]:
        """One runbook step; `covers` names the checklist items it performs, which its
        outcome decides (see rollbook.record.checklist)."""
        log = StepLog(title=title, outcome="passed", elapsed_s=0.0, started_utc=utc_now())
        self.record.steps.append(log)
        self.checklist.step_started(covers, title)
        started = time.perf_counter()
        self._heartbeat.enter(title, started)
        try:
            with allure.step(title):
                yield log
        except pytest.skip.Exception as exc:
            log.outcome = "skipped"
            log.detail = log.detail or redact_text(exc.msg)
            self.checklist.step_ended(covers, status=COULD_NOT_VERIFY,
                                      evidence=f"step {title!r} was skipped: {log.detail}")
            raise
        except BaseException as exc:
            log.outcome = "failed"
            log.detail = log.detail or redact_text(str(exc).splitlines()[0] if str(exc) else
                                                   type(exc).__name__)
            self.checklist.step_ended(covers, status=NOT_DONE,
                                      evidence=f"step {title!r} failed: {log.detail}")
            raise
        else:
            self.checklist.step_ended(covers, status=DONE,
                                      evidence=log.detail or f"step {title!r} passed")
            if not log.detail and covers:  # what the step marked is what it did
                log.detail = self.checklist.items[covers[0]].evidence
        finally:
            log.elapsed_s = time.perf_counter() - started
            log.ended_utc = utc_now()
            self._heartbeat.leave()
            self.progress(f"{title}: {log.outcome} in {format_duration(log.elapsed_s)}")

    @contextmanager
    def phase(self, name: str) -> Iterator[StepLog]:
        """A runbook phase with a recovery-time objective, timed by the record's clock."""
        allure.dynamic.feature(name)  # Allure's Behaviors: epic = runbook section, feature = phase
        with self.step(name, PHASE_COVERS.get(name, ())) as log, self.record.clock.phase(name):
            yield log

    @property
    def reason(self) -> str:
        """Why this run happens (--reason, or how it was started): a drill's trigger."""
        return run_reason(self._config)

    def fact(self, key: str, value) -> None:
        self.record.facts[key] = value

    def table(self, title: str, rows: list[dict[str, str]]) -> None:
        """A titled table in the drill's record, attached to Allure as Markdown too."""
        self.record.tables[title] = rows
        self.attach_text(title, "\n".join(markdown_table(title, rows)))

    attach_text = staticmethod(attach_text)
    attach_json = staticmethod(attach_json)
    attach_file = staticmethod(attach_file)

    def check(self, result: CheckResult) -> CheckResult:
        """Attach a check's evidence and fail the step when its verdict is not ok."""
        self.checks([result])
        return result

    def checks_by_family(self, families: dict[str, list[CheckResult]]) -> list[CheckResult]:
        """Like checks(), one Allure step per family; a failure names its families."""
        self.found(families)
        for family, results in families.items():
            failed = sum(not r.ok for r in results)
            with allure.step(f"{family}: {len(results) - failed} of {len(results)} ok"):
                for result in results:
                    attach_result(result)
        results = [r for found in families.values() for r in found]
        failed = {family: [r for r in found if not r.ok] for family, found in families.items()}
        failed = {family: found for family, found in failed.items() if found}
        if failed:
            raise DrillFailure(
                f"{family_failure(list(failed))}: {sum(map(len, failed.values()))} of "
                f"{len(results)} checks failed: " + "; ".join(
                    f"{r.name}: {r.summary}" for found in failed.values() for r in found))
        return results

    def checks(self, results: Iterable[CheckResult]) -> list[CheckResult]:
        """Evaluate every result (never stop at the first), attach each, fail if any failed."""
        results = list(results)
        for result in results:
            attach_result(result)
        failed = [r for r in results if not r.ok]
        self.found({"checks": failed})
        if failed:
            raise DrillFailure(f"{len(failed)} of {len(results)} checks failed: "
                               + "; ".join(f"{r.name}: {r.summary}" for r in failed))
        return results

    def found(self, families: dict[str, list[CheckResult]]) -> None:
        """Every difference the failed results found goes into the record, by kind."""
        for family, results in families.items():
            lines = difference_lines(results)
            if lines:
                self.record.findings.setdefault(family, []).extend(redact_text(line)
                                                                   for line in lines)

    def decide(self, decision: Decision, *, action_taken: str | None,
               started: float) -> Decision:
        """Record a trigger evaluation in the decision trail; `started` is perf_counter() at
        the moment the signals began to be measured. No action (e.g. `triggers.rollback_path`
        when no rollback is due) is recorded as NO_ACTION."""
        elapsed = time.perf_counter() - started
        impact, response, action = decision.row
        self.record.decisions.append(DecisionLog(
            severity=decision.severity, impact=impact, response_time=response,
            matrix_action=action, action_taken=action_taken or NO_ACTION,
            time_to_decide_s=elapsed,
            signals=[s.line() for s in decision.signals]))
        self.attach_text("rollback triggers", decision.report())
        self.attach_json("decision", decision.to_dict())
        return decision

    def assert_within_objectives(self) -> None:
        with self.step("Recovery-time objectives met") as log:
            self.attach_text("Recovery-time objectives", rto_table(self.record.clock))
            over = self.record.clock.overruns()
            if over:
                raise DrillFailure("over the recovery-time objective: " + ", ".join(
                    f"{p.name} took {format_duration(p.elapsed_s)} "
                    f"(objective {format_duration(p.objective_s)})" for p in over))
            total = self.record.clock.total()
            log.detail = (f"every phase within its objective; total "
                          f"{format_duration(total.elapsed_s)} of "
                          f"{format_duration(total.objective_s)}")


def pytest_collection_modifyitems(items):
    """In Allure, a drill is titled by its docstring's first line (as in the record), its
    parameters after it; allure-pytest reads the title from the function."""
    for item in items:
        function = getattr(item, "function", None)
        if "drill" not in getattr(item, "fixturenames", ()) or function is None:
            continue
        if getattr(function, "__allure_display_name__", None) is None and function.__doc__:
            title = function.__doc__.strip().splitlines()[0].rstrip(".")
            title = title.replace("{", "{{").replace("}", "}}")
            parametrized = getattr(item, "callspec", None) is not None
            function.__allure_display_name__ = title + (" ({param_id})" if parametrized else "")


@pytest.fixture
def drill(request, run_dir: Path, tmp_path_factory) -> Drill:
    """The drill harness for one drill test: steps, phases, checks, and its rollback record.

    The record (checklist, recovery-time table, steps) is written to the run folder when the
    drill ends, pass or fail, and rendered into reports/<run>/rollback-record.md.
    """
    doc = (request.node.function.__doc__ or request.node.name).strip().splitlines()[0]
    profile = settings_for(request.config).profile
    callspec = getattr(request.node, "callspec", None)  # a parametrized drill names its case
    title = doc.rstrip(".") + (f" ({callspec.id})" if callspec is not None else "")
    record = DrillRecord(title=title, test_id=request.node.nodeid,
                         clock=RecoveryClock.from_objectives(profile.rto_s))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    kept = KeptEvidence(run_dir / "evidence" / slug, request.config.stash.get(KEEP_DUMPS, True))
    harness = Drill(record, tmp_path_factory.mktemp("rollback_workspace"), request.config,
                    profile, kept)
    yield harness
    reports = request.node.stash.get(REPORTS, {})
    failed = [r for r in reports.values() if r.failed]
    unverified = record.checklist.with_status(COULD_NOT_VERIFY)
    record.verdict = "failed" if failed else "not verified" if unverified else "passed"
    if failed:
        record.failure = redact_text(_one_line(failed[0]))
    elif unverified:
        record.failure = "could not verify: " + "; ".join(
            f"{item.text} ({item.evidence})" for item in unverified)
    record.ended_utc = utc_now()
    _keep_server_log(request, kept, record, run_dir, attach=bool(failed))
    _keep_service_logs(request, kept, record, run_dir)
    if record.findings:
        kept.json("findings.json", record.findings)
        kept.text("findings.txt", "".join(
            f"{kind} ({len(lines)})\n" + "".join(f"  {line}\n" for line in lines)
            for kind, lines in record.findings.items()))
    record.evidence = kept.listing(run_dir)
    record.save(run_dir / "records" / f"{slug}.json")
    if unverified and not failed:
        pytest.fail(f"not a pass: {record.failure}", pytrace=False)


def _keep_server_log(request, kept: KeptEvidence, record: DrillRecord, run_dir: Path, *,
                     attach: bool) -> None:
    """The server's log is kept with the drill's evidence, and the record cites the copy; on
    failure it is attached too."""
    if "pg_server" not in request.fixturenames:
        return
    server = request.getfixturevalue("pg_server")
    text = server.read_log() if hasattr(server, "read_log") else ""
    if not text:
        return
    copy = kept.text("postgresql.log", text)
    if getattr(server, "log_path", None) is not None:
        record.cite(str(server.log_path), copy.relative_to(run_dir).as_posix())
    if attach:
        attach_text("PostgreSQL server log", text[-200_000:])


def _keep_service_logs(request, kept: KeptEvidence, record: DrillRecord, run_dir: Path) -> None:
    """Each log of a service the drill started (its output, its application log) is kept,
    and the record cites the copy."""
    for folder in request.node.stash.get(SERVICE_FOLDERS, []):
        for log in sorted(folder.glob("*.log")) + sorted(folder.glob("*.jsonl")):
            copy = kept.text(f"{folder.name}-{log.name}", log.read_text(errors="replace"))
            record.cite(str(log), copy.relative_to(run_dir).as_posix())


def _one_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message.splitlines()[0] if crash is not None else str(report.longrepr)[:300]
