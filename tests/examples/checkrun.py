"""Helpers for tests of the operator checks: Vibes databases to plant defects in, baselines
taken with `rollbook snapshot`, and `pytest checks/` run in a subprocess with per-test outcomes.
"""
from __future__ import annotations

import os
import time
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from psycopg import sql

from rollbook import cli
from rollbook.measure import catalog, fingerprint
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile_files import BUILTIN_ENVS
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.seed import seed

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "checks"
EXAMPLES = Path(__file__).resolve().parent
ROLLBOOK_VARS = ("ROLLBOOK_ENV", "ROLLBOOK_DSN", "ROLLBOOK_BASELINE", "ROLLBOOK_SCALE")
_templates: dict[tuple[str, int], str] = {}

STATS_SQL = """\
SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd FROM pg_stat_user_tables
ORDER BY relname"""
SEQ_SCANS_SQL = "SELECT relname, seq_scan FROM pg_stat_user_tables ORDER BY relname"
INDEX_SCANS_SQL = ("SELECT relname, coalesce(idx_scan, 0) FROM pg_stat_user_tables"
                   " ORDER BY relname")


def vibes_template(pg_server) -> str:
    """A Vibes database at 0001 with tiny seed data and pg_stat_statements, made once per
    server, to copy from."""
    key = ("vibes", id(pg_server))
    if key not in _templates:
        name = f"rb_checks_template_{os.getpid()}"
        pg_server.create_database(name, drop_existing=True)
        dsn = pg_server.dsn(name)
        Migrations(alembic_config(dsn), dsn).upgrade("0001")
        seed(dsn, "tiny")
        with connect(dsn) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        _templates[key] = name
    return _templates[key]


def shop_template(pg_server) -> str:
    """The example shop database (tests/examples/shop), made once per server, to copy from."""
    key = ("shop", id(pg_server))
    if key not in _templates:
        name = f"rb_shop_template_{os.getpid()}"
        pg_server.create_database(name, drop_existing=True)
        with connect(pg_server.dsn(name)) as conn:
            conn.execute((EXAMPLES / "shop" / "schema.sql").read_text())
            conn.execute("VACUUM ANALYZE")
        _templates[key] = name
    return _templates[key]


def copy_of(pg_server, template: str) -> tuple[str, str]:
    """(name, dsn) of a fresh copy of a template database."""
    name = f"rb_chk_{uuid.uuid4().hex[:10]}"
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    return name, pg_server.dsn(name)


@contextmanager
def copied(pg_server, template: str) -> Iterator[str]:
    """The DSN of a fresh copy of a template database, dropped afterwards."""
    name, dsn = copy_of(pg_server, template)
    try:
        yield dsn
    finally:
        pg_server.drop_database(name)


def vibes_copy(pg_server) -> tuple[str, str]:
    """(name, dsn) of a fresh copy of the Vibes template."""
    return copy_of(pg_server, vibes_template(pg_server))


@contextmanager
def vibes_database(pg_server) -> Iterator[str]:
    """The DSN of a fresh copy of the Vibes template, dropped afterwards."""
    name, dsn = vibes_copy(pg_server)
    try:
        yield dsn
    finally:
        pg_server.drop_database(name)


def snapshot(dsn: str, path: Path, env: str = "prod.example") -> Path:
    """`rollbook snapshot --env ENV --dsn DSN --output PATH`, which must succeed."""
    code = cli.main(["snapshot", "--env", env, "--dsn", dsn, "--output", str(path),
                     "--envs-dir", str(ROOT / "envs")])
    assert code == 0, f"rollbook snapshot exited {code}"
    return path


def with_smoke_account(folder: Path, *, p95_ms: float | None = None) -> Path:
    """prod.example with a dedicated smoke account, a seeded user (its password in
    VIBES_SMOKE_PASSWORD); optionally a looser p95 budget for a busy machine."""
    text = (BUILTIN_ENVS / "prod.example.toml").read_text()
    text = text.replace('# smoke_email = "rollbook-smoke@vibes.example.com"',
                        'smoke_email = "user1@example.com"')
    text = text.replace('# smoke_password_env', 'smoke_password_env')
    if p95_ms is not None:
        text = text.replace("default_p95_ms = 300", f"default_p95_ms = {p95_ms}")
        text = text.replace("login = 800", f"login = {p95_ms}")
    path = folder / "with_smoke_account.toml"
    path.write_text(text)
    return path


def run_checks(pytester, monkeypatch, *args: str, modules: tuple[str, ...] = ()):
    """`pytest checks/[modules] ARGS` in a subprocess; returns (result, {test id: outcome})."""
    for var in ROLLBOOK_VARS:
        monkeypatch.delenv(var, raising=False)
    junit = pytester.path / f"junit-{uuid.uuid4().hex[:6]}.xml"
    paths = [str(CHECKS / m) for m in modules] or [str(CHECKS)]
    result = pytester.runpytest_subprocess(
        *paths, "--reports-dir", str(pytester.path / "reports"), f"--junitxml={junit}",
        *args, timeout=300)
    return result, outcomes(junit)


def outcomes(junit: Path) -> dict[str, str]:
    """test id (module::name[param]) -> passed / failed / skipped / error, from JUnit XML."""
    if not junit.exists():
        return {}
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        found[f"{module}::{case.get('name')}"] = outcome
    return found


def failed(found: dict[str, str]) -> set[str]:
    return {test for test, outcome in found.items() if outcome in ("failed", "error")}


def database_state(dsn: str) -> dict:
    """Everything a read-only run must leave as it was: schema, per-table count and digest,
    sequence values, and the write counters of pg_stat_user_tables."""
    _wait_for_other_sessions(dsn)
    with connect(dsn, read_only=True) as conn:
        schema = catalog.snapshot(conn)
        algorithm = fingerprint.algorithm_for(conn)
        prints = {t: fingerprint.measure_table(conn, t, algorithm=algorithm).selected
                  for t in sorted(schema.tables)}
        sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences"
                                 " ORDER BY 1").fetchall()
        stats = conn.execute(STATS_SQL).fetchall()
    return {"schema": schema.to_dict(), "sequences": sequences, "write_counters": stats,
            "tables": prints}


def table_scans(dsn: str) -> dict[str, int]:
    """Sequential scans each table has had, once every other session has reported them."""
    _wait_for_other_sessions(dsn)
    with connect(dsn, read_only=True) as conn:
        return dict(conn.execute(SEQ_SCANS_SQL).fetchall())


def index_scans(dsn: str) -> dict[str, int]:
    """Index scans each table has had, once every other session has reported them."""
    _wait_for_other_sessions(dsn)
    with connect(dsn, read_only=True) as conn:
        return dict(conn.execute(INDEX_SCANS_SQL).fetchall())


def _wait_for_other_sessions(dsn: str, timeout_s: float = 10.0) -> None:
    """Statistics of a session reach pg_stat_* when it ends; wait until only we are left."""
    deadline = time.monotonic() + timeout_s
    with connect(dsn) as conn:
        while time.monotonic() < deadline:
            others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                  " current_database() AND pid <> pg_backend_pid()").fetchone()[0]
            if others == 0:
                return
            time.sleep(0.1)
