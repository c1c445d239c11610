"""Every crash point of one downgrade: the migration process killed (SIGKILL) just before each
of its statements in turn, each time on a fresh copy of the same database.

After each kill: which revision the database says it is at, and whether it is wholly there
(its schema and content as the database was at that revision: all old or all new, no half
state); then a second downgrade, and whether it converged to what an uninterrupted downgrade
leaves; and how long recovery took (the server ending the orphaned backend, and the second
downgrade). Every verdict is the engine's own (schema, counts, content, invalid indexes).
"""
from __future__ import annotations

import json
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rollbook.errors import MigrationError
from rollbook.measure import baseline
from rollbook.measure.baseline import Baseline
from rollbook.measure.catalog import Schema
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.record.clock import format_duration
from rollbook.record.evidence import CheckResult, difference_lines
from rollbook.record.redact import redact_text
from rollbook.runbook import crash_child
from rollbook.runbook.alembic_process import AlembicProcess, wait_for_backend_gone
from rollbook.runbook.migrations import Migrations, current_revisions
from rollbook.runbook.revisions import BASE
from rollbook.settings.profile import Alembic
from rollbook.settings.target import project_config
from rollbook.verdicts import content, counts, orphans, schema
from rollbook.verdicts.measured import Measured

CHILD_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Sent:
    """One statement the migration sent (or was about to send when it was killed)."""

    number: int
    backend_pid: int | None
    sql: str  # its first words


@dataclass(frozen=True)
class Expected:
    """A database wholly at `revision`: this schema, and these rows (the baseline's rows, by
    fingerprint, plus exactly `added` rows per table)."""

    revision: str
    schema: Schema
    baseline: Baseline
    added: dict[str, int] = field(default_factory=dict)


@dataclass
class CrashPoint:
    """One crash point: killed before statement `killed_at`, what was left, what recovered."""

    killed_at: Sent
    revision_after: str
    left: list[CheckResult]          # the state after the kill, against its revision
    second_downgrade: str            # "0002 -> 0001 in 0.4 s", or why it failed
    converged: list[CheckResult]     # the state after the second downgrade
    cleanup_s: float                 # until the server ended the killed migration's backend
    recovery_s: float                # cleanup plus the second downgrade
    # every row (not only the baseline's) against the uninterrupted downgrade's: told, not
    # judged, since a killed attempt's nextval() is never given back
    unlike_uninterrupted: list[CheckResult] = field(default_factory=list)

    @property
    def wholly_at_one_revision(self) -> bool:
        return all(r.ok for r in self.left)

    @property
    def has_converged(self) -> bool:
        return bool(self.converged) and all(r.ok for r in self.converged)

    def problems(self) -> list[str]:
        """One line per thing that is not as it must be, naming the crash point."""
        where = f"killed before statement {self.killed_at.number} ({self.killed_at.sql})"
        lines = [f"{where}: alembic_version says {self.revision_after} but the database is not "
                 f"wholly there: {line}" for line in difference_lines(self.left)]
        if not self.converged:
            lines.append(f"{where}: the second downgrade failed: {self.second_downgrade}")
        lines += [f"{where}: the second downgrade did not converge: {line}"
                  for line in difference_lines(self.converged)]
        return lines

    def row(self) -> dict[str, str]:
        left = difference_lines(self.left)
        return {"killed at": f"{self.killed_at.number}: {self.killed_at.sql}",
                "revision after the kill": self.revision_after,
                "wholly at one revision": "yes" if self.wholly_at_one_revision else "NO",
                "state left": f"as at {self.revision_after}" if not left else "; ".join(left),
                "converged": "yes" if self.has_converged else "NO",
                "rows as the uninterrupted downgrade": (
                    "—" if not self.converged else "same" if not self.unlike_uninterrupted else
                    "differ: " + ", ".join(r.name.removeprefix("content: ")
                                           for r in self.unlike_uninterrupted)),
                "server cleanup": format_duration(self.cleanup_s),
                "recovery time": format_duration(self.recovery_s)}


def judge(dsn: str, expected: dict[str, Expected],
          schemas: tuple[str, ...] | None = None) -> tuple[str, list[CheckResult]]:
    """The revision the database says it is at, and whether it is wholly that revision."""
    with connect(dsn, read_only=True) as conn:
        revision = ",".join(current_revisions(conn)) or BASE
        at = expected.get(revision)
        if at is None:
            return revision, [CheckResult(
                "revision", False, f"alembic_version says {revision}, not "
                f"{' or '.join(expected)}", [], {"revision": revision})]
        measured = Measured(conn, at.baseline)
        results = [schema.schema_matches(conn, at.schema)]
        for table in sorted(at.baseline.tables):
            results += [counts.row_count(measured, table, added=at.added.get(table, 0)),
                        content.compare_table(measured, table)]
        results += orphans.invalid_indexes(conn, schemas or tuple(at.schema.schemas))
        return revision, results


def unlike(dsn: str, uninterrupted: Baseline) -> list[CheckResult]:
    """The tables whose rows (all of them) differ from what the uninterrupted downgrade left."""
    with connect(dsn, read_only=True) as conn:
        measured = Measured(conn, uninterrupted)
        found = [content.compare_table(measured, table) for table in sorted(uninterrupted.tables)]
    return [r for r in found if not r.ok]


class Rehearsal:
    """The downgrade to `target` of copies of the database `template` (at the revision whose
    downgrade is rehearsed), run by crash_child in a process of its own. `project` is the
    profile's [alembic] (its script_location honoured by the child and by the second
    downgrade alike), or an ini path alone."""

    def __init__(self, server: Server, template: str, project: Alembic | Path, target: str,
                 workdir: Path, schemas: tuple[str, ...] | None = None):
        self.server, self.template, self.target = server, template, target
        self.project = project if isinstance(project, Alembic) else Alembic(ini=Path(project))
        self.workdir, self.schemas = workdir, schemas  # workdir: the children's statement logs
        self.uninterrupted_rows: Baseline | None = None  # what uninterrupted() left, captured
        self._child_ini: Path | None = None

    def child_ini(self) -> Path:
        """The ini the crash child reads: the project's own, or, when the profile overrides
        its script_location, a copy in `workdir` naming that folder (its other options as the
        project's ini has them, %(here)s still that ini's folder; no sqlalchemy.url: the child
        takes the database's from its environment)."""
        assert self.project.ini is not None, "the profile names no Alembic project"
        if self.project.script_location is None:
            return self.project.ini
        if self._child_ini is None:
            config = project_config(self.project)
            config.file_config.remove_option(config.config_ini_section, "sqlalchemy.url")
            self._child_ini = self.workdir / "alembic-crash-child.ini"
            with self._child_ini.open("w", encoding="utf-8") as out:
                config.file_config.write(out)
        return self._child_ini

    def copy(self) -> str:
        name = f"rb_crash_{uuid.uuid4().hex[:10]}"
        self.server.copy_database(self.template, name)
        return name

    def run(self, database: str, crash_at: int | None) -> tuple[int, str, list[Sent]]:
        """The child's exit code and output, and the statements it sent (or was about to)."""
        dsn = self.server.dsn(database)
        log = self.workdir / f"{database}.jsonl"
        env = {crash_child.LOG_ENV: str(log)}
        if crash_at is not None:
            env[crash_child.AT_ENV] = str(crash_at)
        url = project_config(self.project, dsn).get_main_option("sqlalchemy.url")
        child = AlembicProcess(self.child_ini(), "downgrade", self.target,
                               url_env=crash_child.URL_ENV, url=url,
                               module="rollbook.runbook.crash_child", env=env).start()
        code, output = child.ended(CHILD_TIMEOUT_S)
        sent = [_sent(line) for line in log.read_text().splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        return code, output, sent

    def uninterrupted(self, database: str) -> tuple[list[Sent], float]:
        """The downgrade run to its end: every statement it sends, and how long it took."""
        started = time.perf_counter()
        code, output, sent = self.run(database, None)
        elapsed = time.perf_counter() - started
        if code != 0:
            raise MigrationError(f"the uninterrupted downgrade to {self.target} exited with "
                                 f"{code}", context=[("output", output)])
        with connect(self.server.dsn(database), read_only=True) as conn:
            self.uninterrupted_rows = baseline.capture(conn, current_revisions(conn),
                                                       self.schemas)
        return sent, elapsed

    def crash_at(self, number: int, expected: dict[str, Expected]) -> CrashPoint:
        """A copy killed before statement `number`, judged, downgraded again, judged."""
        database = self.copy()
        try:
            code, output, sent = self.run(database, number)
            if code != -signal.SIGKILL or len(sent) != number:
                raise MigrationError(
                    f"the downgrade was to be killed before statement {number} but exited with "
                    f"{code} after {len(sent)} statements", context=[("output", output)])
            dsn = self.server.dsn(database)
            killed = sent[-1]
            with connect(dsn, read_only=True) as conn:
                cleanup_s = (wait_for_backend_gone(conn, killed.backend_pid)
                             if killed.backend_pid else 0.0)
            revision, left = judge(dsn, expected, self.schemas)
            migrations = Migrations(project_config(self.project, dsn), dsn)
            started = time.perf_counter()
            try:
                run = migrations.downgrade(self.target)
                second = (f"{run.from_revision or BASE} -> {run.to_revision or BASE} in "
                          f"{format_duration(run.elapsed_s)}")
            except Exception as exc:  # whatever the script raises is the finding
                run = None
                second = redact_text(f"{type(exc).__name__}: "
                                     f"{(str(exc).strip().splitlines() or [''])[0]}")
            recovery_s = cleanup_s + time.perf_counter() - started
            at_target = {self.target: expected[self.target]}  # nowhere else will do now
            converged = judge(dsn, at_target, self.schemas)[1] if run is not None else []
            differing = (unlike(dsn, self.uninterrupted_rows)
                         if run is not None and self.uninterrupted_rows is not None else [])
            return CrashPoint(killed, revision, left, second, converged, cleanup_s, recovery_s,
                              differing)
        finally:
            self.server.drop_database(database)


def _sent(line: str) -> Sent:
    """One line of crash_child's log, its statement redacted."""
    body = json.loads(line)
    return Sent(body["number"], body["backend_pid"], redact_text(body["sql"]))
