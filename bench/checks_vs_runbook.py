"""Wall time of `pytest checks/` against the runbook's own psql commands, on one database.

    .venv/bin/python bench/checks_vs_runbook.py --scale 1m

Starts an embedded PostgreSQL, migrates Vibes to 0001, seeds `--scale`, then in one run:
`rollbook snapshot`, `pytest checks/` (serial and -n 2) against that snapshot, and every psql
and alembic command of the runbook's assessment and validation sections, each as the runbook
writes it (a new psql process per command). Prints a table, the ratio of the serial checks to
the runbook's commands and where the checks' time goes (`--durations`), and writes it all as
JSON to `--output` (default: bench/results/checks_vs_runbook-SCALE.json).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rollbook.pg.connect import connect  # noqa: E402
from rollbook.pg.server import start_server  # noqa: E402
from rollbook.runbook.migrations import Migrations  # noqa: E402
from rollbook.runbook.service import vibes_service  # noqa: E402
from rollbook_vibes.migrations_config import alembic_config, sqlalchemy_url  # noqa: E402
from rollbook_vibes.seed import seed  # noqa: E402

# The runbook's commands in its order: pre-rollback assessment, schema validation, data
# integrity, validation after restore, database query and performance tests, monitoring.
RUNBOOK_SQL = {
    "version": "SELECT version();",
    "total users": "SELECT COUNT(*) as total_users FROM users;",
    "journals, users with journals": "SELECT COUNT(*) as total_journals, COUNT(DISTINCT "
                                     "user_id) as users_with_journals FROM journals;",
    "active connections": "SELECT COUNT(*) as active_connections FROM pg_stat_activity WHERE "
                          "state = 'active';",
    "\\d users": "\\d users",
    "\\d journals": "\\d journals",
    "id column types": "SELECT table_name, column_name, data_type, is_nullable FROM "
                       "information_schema.columns WHERE table_name IN ('users', 'journals', "
                       "'tags') AND column_name = 'id';",
    "record counts": "SELECT 'users' as table_name, COUNT(*) as record_count FROM users UNION "
                     "ALL SELECT 'journals', COUNT(*) FROM journals UNION ALL SELECT 'tags', "
                     "COUNT(*) FROM tags;",
    "foreign key join": "SELECT j.id as journal_id, j.user_id, u.id as user_id_check FROM "
                        "journals j JOIN users u ON j.user_id = u.id LIMIT 10;",
    "pg_typeof": "SELECT id, pg_typeof(id) as id_type, email FROM users LIMIT 5;",
    "user data": "SELECT COUNT(*) as total_users, COUNT(DISTINCT email) as unique_emails, "
                 "MIN(created_at) as oldest_user, MAX(created_at) as newest_user FROM users;",
    "journal data": "SELECT COUNT(*) as total_journals, COUNT(DISTINCT user_id) as "
                    "users_with_journals, MIN(created_at) as oldest_journal, MAX(created_at) "
                    "as newest_journal FROM journals;",
    "orphaned journals": "SELECT COUNT(*) as orphaned_journals FROM journals j LEFT JOIN users "
                         "u ON j.user_id = u.id WHERE u.id IS NULL;",
    "integer id query": "SELECT id, email, created_at FROM users WHERE id = 1;",
    "join query": "SELECT u.email, j.title, j.created_at FROM users u JOIN journals j ON u.id "
                  "= j.user_id WHERE u.id = 1;",
    "explain user by id": "EXPLAIN ANALYZE SELECT * FROM users WHERE id = 1;",
    "explain journal count per user": "EXPLAIN ANALYZE SELECT u.email, COUNT(j.id) as "
                                      "journal_count FROM users u LEFT JOIN journals j ON u.id"
                                      " = j.user_id GROUP BY u.id, u.email;",
    # as written in the runbook: PostgreSQL 13+ renamed total_time/mean_time, so this fails
    "pg_stat_statements (runbook's columns)": "SELECT query, calls, total_time, mean_time FROM "
                                              "pg_stat_statements ORDER BY total_time DESC "
                                              "LIMIT 10;",
}


DURATIONS = 15  # the slowest checks listed by `pytest --durations`
DURATION_LINE = re.compile(r"\s*\d+\.\d+s (setup|call|teardown) ")
SUMMARY = re.compile(r"\b(\d+) (passed|failed)\b")


@dataclass(frozen=True)
class Outcome:
    """One child process: its wall time, exit status, one line (the last of stdout or the first
    error), its stdout and its peak resident set size (KiB, from wait4's rusage of the child)."""

    seconds: float
    code: int
    note: str
    stdout: str
    peak_rss_kib: int


def run(argv: list[str], env: dict[str, str]) -> Outcome:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        errors = [line for line in stderr.splitlines() if "ERROR" in line.upper()]
        first = (errors or stderr.strip().splitlines() or
                 stdout.strip().splitlines()[-1:] or [""])[0]
    else:
        first = (stdout.strip().splitlines() or [""])[-1]
    return Outcome(elapsed, code, first, stdout, usage.ru_maxrss)


def run_pytest(argv: list[str], env: dict[str, str]) -> tuple[Outcome, int | None]:
    """`run` of a pytest command line, and the pytest process's own peak RSS (KiB, None when
    it did not get to write it): Outcome.peak_rss_kib is the largest of the process and the
    children it waited for (a service, pg_dump), this one pytest alone."""
    with tempfile.TemporaryDirectory() as work:
        written = Path(work) / "own_rss"
        path = os.pathsep.join(filter(None, (str(ROOT / "bench"), env.get("PYTHONPATH"))))
        outcome = run([*argv, "-p", "own_rss"],
                      dict(env, PYTHONPATH=path, ROLLBOOK_BENCH_OWN_RSS=str(written)))
        own = int(written.read_text()) if written.is_file() else None
    return outcome, own


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    outcome = run(argv, env)
    return outcome.seconds, outcome.code, outcome.note


# the pytest plugins of rollbook's test and bench extras, which an operator's `pip install
# rollbook` does not bring (hypothesis's costs each process 0.15 s to import, pytest-benchmark's
# runs git six times)
DEV_PLUGINS = ("hypothesispytest", "benchmark")


def checks_command(dsn: str, baseline: Path, api_url: str, reports: Path) -> list[str]:
    """`pytest checks/` against `dsn` and its snapshot, as an operator runs it: with the
    plugins rollbook installs, not those of its own test tools."""
    dev = [arg for name in DEV_PLUGINS for arg in ("-p", f"no:{name}")]
    return [sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:randomly", *dev, "--env",
            "prod.example", "--dsn", dsn, "--baseline", str(baseline), "--api-url", api_url,
            "--reports-dir", str(reports)]


def runbook_commands(server, env: dict[str, str]) -> list[tuple[str, list[str], dict]]:
    """(name, argv, environment) of every alembic and psql command of the runbook, in its
    order, each as the runbook writes it (a new process per command)."""
    alembic_ini = str(ROOT / "rollbook_vibes" / "alembic.ini")
    psql = str(server.installation.tool("psql"))
    commands = [(f"python -m alembic {verb}",
                 [sys.executable, "-m", "alembic", "-c", alembic_ini, verb], env)
                for verb in ("current", "history")]
    commands += [(name, [psql, "-X", "-d", server.client_dsn("vibes"), "-c", command],
                  server.client_env()) for name, command in RUNBOOK_SQL.items()]
    return commands


def runbook_monitoring(api_url: str, window_s: float, interval_s: float
                       ) -> tuple[str, list[str], dict]:
    """The runbook's post-rollback monitoring, `watch -n 30 'curl -s .../health | jq'`, over the
    window and at the interval the checks' watch keeps (their profile's [monitoring] window_s
    and interval_s: the first sample at once, the last at the window's end): a person watches
    until they have seen enough, the checks stop at the window, so this does too. The
    runbook's log tails (`tail -f ... | grep -i error`) run in other terminals over the same
    minutes, adding no time. (name, argv, environment), as runbook_commands gives them."""
    health = f"curl -s {api_url}/health | jq -c ."
    script = (f"{health}; for i in $(seq {round(window_s / interval_s)}); do "
              f"sleep {interval_s:g}; {health}; done")
    return (f"watch -n {interval_s:g} 'curl -s .../health | jq' for {window_s:g} s",
            ["sh", "-c", script], dict(os.environ))


def prepare(server, scale: str | int, database: str = "vibes") -> tuple[str, dict[str, int]]:
    """`database` at revision 0001 (where a rollback of the UUID migration lands), seeded at
    `scale`, vacuumed and analyzed, with the extensions the runbook's commands use: (its DSN,
    rows seeded per table)."""
    server.create_database(database)
    dsn = server.dsn(database)
    Migrations(alembic_config(dsn), dsn).upgrade("0001")
    seeded = seed(dsn, scale)
    with connect(dsn) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        conn.execute("VACUUM ANALYZE")
    return dsn, seeded


def child_env() -> dict[str, str]:
    """This environment for a timed child process, bytecode caching on as on a default Python:
    with PYTHONDONTWRITEBYTECODE (set on some sandboxes) every process recompiles rollbook and
    pytest rewrites its plugin's modules again, seconds an operator's second run never pays."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def service_env(dsn: str) -> dict[str, str]:
    return dict(child_env(), PGCONNECT_TIMEOUT="10",
                VIBES_DATABASE_URL=sqlalchemy_url(dsn).render_as_string(hide_password=False))


@contextmanager
def operator_checks(dsn: str, work: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The checks' command line against `dsn` (a snapshot of it taken first, the Vibes service
    running on it until the block ends) and its environment."""
    env = service_env(dsn)
    baseline = work / "baseline.json"
    seconds, code, note = snapshot(dsn, baseline, env)
    if code != 0:
        raise RuntimeError(f"rollbook snapshot failed after {seconds:.1f} s: {note}")
    with vibes_service(dsn, id_mode="integer") as api:
        yield checks_command(dsn, baseline, api.base_url, work / "reports"), env


def snapshot(dsn: str, baseline: Path, env: dict[str, str]) -> tuple[float, int, str]:
    return timed([sys.executable, "-m", "rollbook.cli", "snapshot", "--env", "prod.example",
                  "--dsn", dsn, "-o", str(baseline)], env)


def items_judged(stdout: str) -> int:
    """Passed plus failed items, from pytest's last summary line."""
    lines = [line for line in stdout.splitlines() if SUMMARY.search(line)]
    return sum(int(n) for n, _ in SUMMARY.findall(lines[-1])) if lines else 0


def durations(stdout: str) -> list[str]:
    """The lines of pytest's "slowest N durations" section."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "slowest" in line and "durations" in line),
                 None)
    if start is None:
        return []
    found = []
    for line in lines[start + 1:]:
        if not DURATION_LINE.match(line):
            break
        found.append(line.strip())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    output = args.output or ROOT / "bench" / "results" / f"checks_vs_runbook-{args.scale}.json"
    rows: list[dict] = []

    def record(what: str, seconds: float, code: int, note: str = "") -> None:
        rows.append({"what": what, "seconds": round(seconds, 3), "exit": code, "note": note})
        print(f"{seconds:9.3f} s  exit {code}  {what}  {note[:90]}", flush=True)

    with start_server("embedded") as server, tempfile.TemporaryDirectory() as work, \
            ExitStack() as stack:
        started = time.perf_counter()
        dsn, seeded = prepare(server, args.scale)
        record(f"seed {args.scale} ({sum(seeded.values()):,} rows)",
               time.perf_counter() - started, 0)
        api = stack.enter_context(vibes_service(dsn, id_mode="integer"))
        env = service_env(dsn)
        baseline = Path(work) / "baseline.json"
        record("rollbook snapshot", *snapshot(dsn, baseline, env))
        checks = checks_command(dsn, baseline, api.base_url, Path(work) / "reports")
        run([*checks, "--collect-only"], env)  # untimed warm-up: bytecode caches written
        outcome = run([*checks, f"--durations={DURATIONS}"], env)
        record("pytest checks/", outcome.seconds, outcome.code, outcome.note)
        checks_s, slowest = outcome.seconds, durations(outcome.stdout)
        record("pytest checks/ -n 2", *timed([*checks, "-n", "2"], env))

        runbook_total = 0.0
        for _, argv, command_env in runbook_commands(server, env):
            run(argv, command_env)  # untimed warm-up, as for pytest: caches written
        for name, argv, command_env in runbook_commands(server, env):
            seconds, code, note = timed(argv, command_env)
            runbook_total += seconds
            record(f"runbook: {name}", seconds, code, note)
        record("runbook: all of the above, one after the other", runbook_total, 0)

    ratio = checks_s / runbook_total
    print(f"pytest checks/ took {ratio:.1f}x the runbook's commands; slowest checks:")
    print("\n".join(f"  {line}" for line in slowest))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"scale": args.scale, "rows": rows,
                                  "checks_vs_runbook": round(ratio, 2),
                                  "slowest_checks": slowest}, indent=2) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
