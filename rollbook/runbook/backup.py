"""pg_dump / pg_restore: custom-format archives, verified, with the tools matched to the server."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from rollbook.errors import BackupError
from rollbook.pg.cpu_priority import lowest_for_child
from rollbook.pg.server import Server
from rollbook.record.evidence import CheckResult
from rollbook.record.manifest import hashed_once, sha256_file
from rollbook.record.redact import redact_text

# zlib's fastest level: at 1M journals pg_dump -Fc -Z1 takes 0.46x the default level's (6)
# time for an archive 1.2x its size; the compression is pg_dump's own work on one core
COMPRESS_LEVEL = 1
# the backup taken inside the maintenance window, where users wait on it: uncompressed, about
# 0.5x -Z1's time at 1M journals for 2.65x its size (pg_dump 18 as the wheel builds it has
# no lz4 or zstd, the cheap compressions)
IN_WINDOW_COMPRESS_LEVEL = 0


@dataclass
class Backup:
    """A pg_dump -Fc archive and what is known about it."""

    path: Path
    sha256: str
    size_bytes: int
    elapsed_s: float
    tool: str
    command: list[str]
    toc_entries: int = 0

    def to_dict(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "size_bytes": self.size_bytes,
                "elapsed_s": round(self.elapsed_s, 3), "tool": self.tool,
                "command": " ".join(self.command), "toc_entries": self.toc_entries}


@dataclass
class ToolRun:
    command: list[str]
    elapsed_s: float
    stderr: str


def dump(server: Server, dbname: str, path: Path, *, tables: tuple[str, ...] = (),
         compress: int = COMPRESS_LEVEL, lowest_priority: bool = False) -> Backup:
    """pg_dump -Fc -Z`compress` of dbname into path (parents created), then verify it and hash
    it. `lowest_priority`: pg_dump runs at the lowest CPU priority (beside a timed step)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(server.installation.tool("pg_dump")), "--format=custom",
            f"--compress={compress}", "--no-password",
            f"--file={path}", f"--dbname={server.client_dsn(dbname)}"]
    argv += [f"--table={table}" for table in tables]
    run = _run(server, argv, preexec_fn=lowest_for_child if lowest_priority else None)
    backup = Backup(path=path, sha256=hashed_once(path), size_bytes=path.stat().st_size,
                    elapsed_s=run.elapsed_s, tool=server.installation.describe(),
                    command=run.command)
    verdict = verify(server, backup, sha256_now=backup.sha256)  # hashed a moment ago: once
    if not verdict.ok:
        raise BackupError(verdict.summary)
    backup.toc_entries = verdict.observed["toc_entries"]
    return backup


def verify(server: Server, backup: Backup, *, sha256_now: str | None = None) -> CheckResult:
    """The archive is readable by pg_restore --list and still has the sha256 it was made with;
    `sha256_now`: the file's hash when the caller has just read it whole (a dump of hundreds
    of MB is not read twice in a row)."""
    name = f"backup verified: {backup.path.name}"
    actual = sha256_now or sha256_file(backup.path)
    if actual != backup.sha256:
        return CheckResult(name, False, f"{backup.path} changed since it was written: sha256 "
                           f"{actual} is not {backup.sha256}",
                           observed={"expected_sha256": backup.sha256, "sha256": actual})
    argv = [str(server.installation.tool("pg_restore")), "--list", str(backup.path)]
    result = subprocess.run(argv, capture_output=True, text=True, env=server.client_env())
    if result.returncode != 0:
        return CheckResult(name, False, f"pg_restore --list cannot read {backup.path}: "
                           f"{result.stderr.strip().splitlines()[0] if result.stderr else ''}",
                           observed={"stderr": result.stderr})
    entries = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
    return CheckResult(name, True, f"{len(entries)} archive entries, sha256 {actual}",
                       observed={"toc_entries": len(entries), "sha256": actual,
                                 "listing": result.stdout})


def restore(server: Server, dbname: str, backup: Backup, *, clean: bool = False,
            jobs: int | None = None, tables: tuple[str, ...] = ()) -> ToolRun:
    """pg_restore the archive into dbname (-c to drop objects first, -j for parallel, -t),
    then ANALYZE what was restored: pg_restore brings no planner statistics, and without them
    the first queries after a restore run on guesses."""
    argv = [str(server.installation.tool("pg_restore")), "--no-password", "--no-owner",
            "--exit-on-error", f"--dbname={server.client_dsn(dbname)}"]
    if clean:
        argv += ["--clean", "--if-exists"]
    if jobs:
        argv.append(f"--jobs={jobs}")
    argv += [f"--table={table}" for table in tables]
    argv.append(str(backup.path))
    run = _run(server, argv)
    started = time.perf_counter()
    with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
        targets = [sql.Identifier(table) for table in tables]
        statement = sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(targets)) if targets \
            else sql.SQL("ANALYZE")
        conn.execute(statement)
    run.command.append(f"&& {statement.as_string(None)}")
    run.elapsed_s += time.perf_counter() - started
    return run


def _run(server: Server, argv: list[str],
         preexec_fn: Callable[[], None] | None = None) -> ToolRun:
    shown = [redact_text(arg) for arg in argv]
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=server.client_env(),
                            preexec_fn=preexec_fn)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tool = Path(argv[0]).name
        raise BackupError(
            f"{tool} failed with exit code {result.returncode}: "
            f"{(result.stderr.strip().splitlines() or [''])[-1]}",
            context=[("command", " ".join(shown)), ("stderr", redact_text(result.stderr))],
            hint=f"{tool} came from {server.installation.describe()}; it must be as new as "
                 f"the server ({server.version}).")
    return ToolRun(command=shown, elapsed_s=elapsed, stderr=redact_text(result.stderr))
