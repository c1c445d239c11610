"""PostgreSQL's parallel workers on rollbook's big scans: one table's digest, the orphan search
of journals.user_id and `pytest checks/`, each with the server's default
max_parallel_workers_per_gather and with 0 (no parallel workers), on the same database.

The digest and orphan search SET it on the checks' own read-only connection (a SET is allowed
in a READ ONLY transaction); the checks' child process gets it in PGOPTIONS for every session it
opens (a database default, ALTER DATABASE ... SET, would be a schema difference the checks
report against the baseline)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from checks_vs_runbook import run
from psycopg import sql

from rollbook.measure import fingerprint
from rollbook.pg.connect import connect
from rollbook.verdicts import orphans

SETTING = "max_parallel_workers_per_gather"
TABLE, KEY = "journals", "id"  # the largest table
OFF = 0


def _workers_planned(plan: Any) -> int:
    """The most workers any Gather node of an EXPLAIN (FORMAT JSON) plan planned."""
    if isinstance(plan, dict):
        return max([plan.get("Workers Planned", 0), *map(_workers_planned, plan.values())])
    if isinstance(plan, list):
        return max(map(_workers_planned, plan), default=0)
    return 0


@contextmanager
def _checks_connection(dsn: str, workers: int | None) -> Iterator:
    """The checks' read-only connection, its SETTING the server's default (None) or workers."""
    with connect(dsn, read_only=True) as conn:
        if workers is not None:
            conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(SETTING),
                                                       sql.Literal(workers)))
        yield conn


def _plan(conn, statement: str) -> list:
    """The plan of a statement rollbook composed and ran (its text, as kept in its evidence)."""
    return conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(sql.SQL(statement))
                        ).fetchone()[0]


def _digest(dsn: str, workers: int | None) -> tuple[fingerprint.TableMeasurement, int]:
    with _checks_connection(dsn, workers) as conn:
        measured = fingerprint.measure_table(conn, TABLE, algorithm=fingerprint.HASH_RECORD,
                                             key=KEY)
        plan = _plan(conn, measured.sql[-1])
    return measured, _workers_planned(plan)


def _orphans(dsn: str, workers: int | None) -> tuple[bool, int]:
    with _checks_connection(dsn, workers) as conn:
        fk = next(fk for fk in orphans.foreign_keys(conn) if fk.table == TABLE)
        result = orphans.find_orphans(conn, fk)
        plan = _plan(conn, result.sql[0])
    return result.ok, _workers_planned(plan)


def _default(pair) -> str:
    with connect(pair.dsn) as conn:
        return conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(SETTING))).fetchone()[0]


def _label(pair, workers: int | None) -> str:
    return f"{SETTING} = {_default(pair) + ' (server default)' if workers is None else workers}"


@pytest.mark.parametrize("workers", [None, OFF], ids=["default", "off"])
def test_parallel_digest(benchmark, repeats, pair, workers):
    measured, planned = benchmark.pedantic(_digest, args=(pair.dsn, workers), rounds=repeats,
                                           iterations=1)
    assert measured.selected[0] == pair.seeded[TABLE]
    assert workers is None or planned == 0  # the SET took effect
    benchmark.extra_info.update(figure=f"one table's digest, {_label(pair, workers)}",
                                note=f"workers planned: {planned}")


@pytest.mark.parametrize("workers", [None, OFF], ids=["default", "off"])
def test_parallel_orphans(benchmark, repeats, pair, workers):
    passed, planned = benchmark.pedantic(_orphans, args=(pair.dsn, workers), rounds=repeats,
                                         iterations=1)
    assert passed
    assert workers is None or planned == 0
    benchmark.extra_info.update(figure=f"orphan search of {TABLE}, {_label(pair, workers)}",
                                note=f"workers planned: {planned}")


def _with_workers(env: dict[str, str], workers: int | None) -> dict[str, str]:
    """The checks' environment with SETTING given to every session they open (PGOPTIONS)."""
    if workers is None:
        return env
    options = " ".join(filter(None, (env.get("PGOPTIONS"), f"-c {SETTING}={workers}")))
    return dict(env, PGOPTIONS=options)


@pytest.mark.parametrize("workers", [None, OFF], ids=["default", "off"])
def test_parallel_checks(benchmark, repeats, pair, operator, workers):
    argv, env = operator
    env = _with_workers(env, workers)

    def once():
        outcome = run(argv, env)
        assert outcome.code == 0, outcome.stdout[-2000:]

    benchmark.pedantic(once, rounds=repeats, iterations=1)
    benchmark.extra_info["figure"] = f"pytest checks/ (-n 0), {_label(pair, workers)}"
