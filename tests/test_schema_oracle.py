"""The schema verdict proved against pg_dump: for any mutation of the example shop the grammar
(tests/examples/schema_grammar.py) draws, the verdict fails naming the object if and only if
the normalized `pg_dump --schema-only --create` output changed.

The oracle dumps the pre-data and post-data sections, which are `--schema-only` plus one line
it leaves out: `REFRESH MATERIALIZED VIEW` of each populated materialized view (a schema-only
dump prints every materialized view `WITH NO DATA`). `--create` adds what belongs to the
database itself (its settings, its roles' settings in it, its grants and comment). Only what
carries no meaning is normalized: the random `\\restrict` key and the header's version lines.

One server per version (PostgreSQL 18 embedded, Debian's 15), one shop template each; every
example is a fresh `CREATE DATABASE ... TEMPLATE` under the same name, so the dump of the
untouched copy is the reference for all. The hypothesis seed is printed, and taken from
ROLLBOOK_ORACLE_SEED when set.
"""
from __future__ import annotations

import difflib
import os
import random
import subprocess

import psycopg
import pytest
from examples.checkrun import shop_template
from examples.schema_grammar import Mutation, mutations
from hypothesis import HealthCheck, given, seed, settings
from psycopg import sql

from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.pg.install import debian_installations
from rollbook.pg.server import Server, start_server
from rollbook.verdicts import schema

SEED = int(os.environ.get("ROLLBOOK_ORACLE_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES_PER_SERVER = int(os.environ.get("ROLLBOOK_ORACLE_EXAMPLES", "150"))
NOT_MEANINGFUL = ("\\restrict ", "\\unrestrict ", "-- Dumped from database version",
                  "-- Dumped by pg_dump version")


class Oracle:
    """A server, the shop as template, and the dump and snapshot of its untouched copy."""

    def __init__(self, server: Server):
        self.server = server
        self.template = shop_template(server)
        self.work = f"rb_oracle_{os.getpid()}"
        self.fresh()
        self.reference = self.dump()
        with connect(self.dsn, read_only=True) as conn:
            self.expected = catalog.snapshot(conn)

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.work)

    def fresh(self) -> None:
        with connect(self.server.dsn("postgres")) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.work)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(self.work), sql.Identifier(self.template)))

    def dump(self) -> list[str]:
        argv = [str(self.server.installation.tool("pg_dump")), "--create", "--section=pre-data",
                "--section=post-data", "--no-password", self.server.client_dsn(self.work)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                             env={**os.environ, **self.server.client_env()})
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if not line.startswith(NOT_MEANINGFUL)]

    def apply(self, mutation: Mutation) -> None:
        statement = mutation.sql.replace("{db}", sql.Identifier(self.work).as_string())
        with connect(self.dsn) as conn:
            conn.execute(statement)

    def verdict(self):
        with connect(self.dsn, read_only=True) as conn:
            return schema.schema_matches(conn, self.expected)


@pytest.fixture(scope="module", params=[
    "embedded", pytest.param("local", marks=[pytest.mark.local_pg, pytest.mark.skipif(
        not debian_installations(), reason="no Debian postgresql-NN installed")])])
def oracle(request):
    """The oracle on PostgreSQL 18 (the session's embedded server) or Debian's (a local one)."""
    print(f"schema oracle: hypothesis seed {SEED} (ROLLBOOK_ORACLE_SEED={SEED} repeats it)")
    if request.param == "embedded":
        yield Oracle(request.getfixturevalue("pg_server"))
        return
    with start_server("local") as server:
        yield Oracle(server)


def judged(oracle: Oracle, mutation: Mutation) -> tuple[list[str], object]:
    """pg_dump's diff from the reference and rollbook's verdict, after `mutation`."""
    oracle.fresh()
    try:
        oracle.apply(mutation)
    except psycopg.Error as exc:
        pytest.fail(f"the grammar made a mutation PostgreSQL refuses: {mutation.sql}\n{exc}")
    diff = [line for line in difflib.unified_diff(oracle.reference, oracle.dump(), "before",
                                                   "after", lineterm="", n=1)]
    return diff, oracle.verdict()


def explain(oracle: Oracle, mutation: Mutation, diff: list[str], verdict) -> str:
    lines = verdict.observed.get("diff", "") or "(no difference)"
    return (f"\nserver {oracle.server.version_num}; seed {SEED}\nmutation: {mutation.sql}"
            f"\npg_dump's diff:\n" + ("\n".join(diff) or "(unchanged)")
            + f"\nrollbook's verdict: {verdict.summary}\n{lines}")


@settings(max_examples=EXAMPLES_PER_SERVER, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@seed(SEED)
@given(mutation=mutations())
def test_schema_verdict_fails_naming_the_object_iff_pg_dump_changed(oracle, mutation):
    diff, verdict = judged(oracle, mutation)
    assert bool(diff or mutation.beyond_dump) == (not verdict.ok), explain(
        oracle, mutation, diff, verdict)
    if not verdict.ok:
        assert mutation.names in verdict.observed["diff"], explain(oracle, mutation, diff,
                                                                   verdict)
