"""The schema verdict proved against pg_dump: for any mutation of the example shop the grammar
(tests/examples/schema_grammar.py) draws, the verdict fails naming the object if and only if
the normalized `pg_dump --schema-only --create` output changed.

The oracle dumps the pre-data and post-data sections, which are `--schema-only` plus one line
it leaves out: `REFRESH MATERIALIZED VIEW` of each populated materialized view (a schema-only
dump prints every materialized view `WITH NO DATA`). `--create` adds what belongs to the
database itself (its settings, its roles' settings in it, its grants and comment). Only what
carries no meaning is normalized: the random `\\restrict` key and the header's version lines.

One thing rollbook compares that pg_dump does not print: an extension's version (a dump
restores the default one). The grammar marks that mutation `beyond_dump`: the verdict must fail
although the dump is the same.

One server per version (PostgreSQL 18 embedded, Debian's 15), one shop template each; every
example is a fresh `CREATE DATABASE ... TEMPLATE` renamed to the same name, so the dump of the
untouched copy is the reference for all (the next copy is made while an example is judged).
The hypothesis seed is printed, and taken from ROLLBOOK_ORACLE_SEED when set;
ROLLBOOK_ORACLE_EXAMPLES sets the examples per server (150: 300 per run).
"""
from __future__ import annotations

import difflib
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from examples.checkrun import shop_template
from examples.schema_grammar import DROP_SUBSCRIPTIONS, INDEPENDENT, Mutation, mutations
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from psycopg import sql

from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.pg.install import debian_installations
from rollbook.pg.server import Server, start_server
from rollbook.verdicts import schema

SEED = int(os.environ.get("ROLLBOOK_ORACLE_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES_PER_SERVER = int(os.environ.get("ROLLBOOK_ORACLE_EXAMPLES", "150"))
REORDERINGS = 15
NOT_MEANINGFUL = ("\\restrict ", "\\unrestrict ", "-- Dumped from database version",
                  "-- Dumped by pg_dump version")


class Oracle:
    """A server, the shop as template, and the dump and snapshot of its untouched copy."""

    def __init__(self, server: Server):
        self.server = server
        self.template = shop_template(server)
        self.work = f"rb_oracle_{os.getpid()}"
        self.next = f"{self.work}_next"
        self.copier = ThreadPoolExecutor(1)
        self.copying = self.copier.submit(self.copy)
        self.reference: list[str] | None = None
        self.fresh()
        self.reference = self.dump()
        self.expected = self.snapshot()

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.work)

    def copy(self) -> None:
        with connect(self.server.dsn("postgres")) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(self.next), sql.Identifier(self.template)))

    def fresh(self) -> None:
        """The work database a fresh copy of the shop; the next copy on its way."""
        self.copying.result()
        if self.reference is not None:
            with connect(self.dsn) as conn:
                conn.execute(DROP_SUBSCRIPTIONS)
        with connect(self.server.dsn("postgres")) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.work)))
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(self.next), sql.Identifier(self.work)))
        self.copying = self.copier.submit(self.copy)

    def close(self) -> None:
        self.copier.shutdown()
        for name in (self.work, self.next):
            self.server.drop_database(name)

    def start_dump(self) -> subprocess.Popen:
        argv = [str(self.server.installation.tool("pg_dump")), "--create", "--section=pre-data",
                "--section=post-data", "--no-password", self.server.client_dsn(self.work)]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **self.server.client_env()})

    def dump(self, running: subprocess.Popen | None = None) -> list[str]:
        """The normalized dump of the work database (of `running`, a dump started before)."""
        running = running or self.start_dump()
        out, err = running.communicate(timeout=120)
        assert running.returncode == 0, err
        return [line for line in out.splitlines() if not line.startswith(NOT_MEANINGFUL)]

    def apply(self, mutation: Mutation) -> None:
        statement = mutation.sql.replace("{db}", sql.Identifier(self.work).as_string())
        with connect(self.dsn) as conn:
            conn.execute(statement)

    def snapshot(self) -> catalog.Schema:
        with connect(self.dsn, read_only=True) as conn:
            return catalog.snapshot(conn)

    def verdict(self, expected: catalog.Schema | None = None):
        with connect(self.dsn, read_only=True) as conn:
            return schema.schema_matches(conn, expected or self.expected)


@pytest.fixture(scope="module", params=[
    "embedded", pytest.param("local", marks=[pytest.mark.local_pg, pytest.mark.skipif(
        not debian_installations(), reason="no Debian postgresql-NN installed")])])
def oracle(request):
    """The oracle on PostgreSQL 18 (the session's embedded server) or Debian's (a local one)."""
    print(f"schema oracle: hypothesis seed {SEED} (ROLLBOOK_ORACLE_SEED={SEED} repeats it)")
    if request.param == "embedded":
        oracle = Oracle(request.getfixturevalue("pg_server"))
        yield oracle
        oracle.close()
        return
    with start_server("local") as server:
        yield Oracle(server)


def judged(oracle: Oracle, mutation: Mutation, expected: catalog.Schema | None = None,
           reference: list[str] | None = None) -> tuple[list[str], object]:
    """pg_dump's diff from the reference dump and rollbook's verdict against `expected` (by
    default, both of the untouched shop), after `mutation`."""
    oracle.fresh()
    try:
        oracle.apply(mutation)
    except psycopg.Error as exc:
        pytest.fail(f"the grammar made a mutation PostgreSQL refuses: {mutation.sql}\n{exc}")
    running = oracle.start_dump()  # pg_dump and rollbook read the database side by side
    verdict = oracle.verdict(expected)
    diff = list(difflib.unified_diff(reference or oracle.reference, oracle.dump(running),
                                     "before", "after",
                                     lineterm="", n=1))
    return diff, verdict


def disagreement(oracle: Oracle, mutation: Mutation, expected: catalog.Schema | None = None,
                 reference: list[str] | None = None) -> str | None:
    """What is wrong with rollbook's verdict on `mutation`, by pg_dump's judgement; None if
    nothing: it fails, naming the object, if and only if the dump changed."""
    diff, verdict = judged(oracle, mutation, expected, reference)
    if bool(diff or mutation.beyond_dump) != (not verdict.ok):
        problem = "missed" if diff else "a false difference"
    elif not verdict.ok and mutation.names not in verdict.observed["diff"]:
        problem = f"the verdict does not name {mutation.names!r}"
    else:
        return None
    lines = verdict.observed.get("diff", "") or "(no difference)"
    return (f"{problem}\nserver {oracle.server.version_num}; seed {SEED}\nmutation: "
            f"{mutation.sql}\npg_dump's diff:\n" + ("\n".join(diff) or "(unchanged)")
            + f"\nrollbook's verdict: {verdict.summary}\n{lines}")


@settings(max_examples=EXAMPLES_PER_SERVER, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@seed(SEED)
@given(mutation=mutations())
def test_schema_verdict_fails_naming_the_object_iff_pg_dump_changed(oracle, mutation):
    problem = disagreement(oracle, mutation)
    assert problem is None, problem


@settings(max_examples=REORDERINGS, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@seed(SEED)
@given(statements=st.lists(st.sampled_from(INDEPENDENT), min_size=2, max_size=4, unique=True))
def test_statements_in_another_order_differ_iff_pg_dump_says_so(oracle, statements):
    """The same statements run in the opposite order: pg_dump orders most objects itself (the
    verdict must stay green), not a table's columns (it must fail)."""
    oracle.fresh()
    oracle.apply(Mutation("; ".join(statements), ""))
    first, expected = oracle.dump(), oracle.snapshot()
    reordered = Mutation("; ".join(reversed(statements)), "")
    problem = disagreement(oracle, reordered, expected, first)
    assert problem is None, problem


def test_the_oracle_finds_what_rollbook_would_not_compare(oracle):
    """The property fails when rollbook misses a kind, and when it does not name the object."""
    blind = catalog.Schema(oracle.expected.schemas, {
        key: records for key, records in oracle.expected.objects.items()
        if key not in ("publications", "publication_tables")}, oracle.expected.selection)
    missed = disagreement(oracle, Mutation("DROP PUBLICATION shop_orders", "shop_orders"), blind)
    assert missed.startswith("missed\n")
    assert "-CREATE PUBLICATION shop_orders" in missed

    unnamed = disagreement(oracle, Mutation("DROP PUBLICATION shop_orders", "shop_elsewhere"))
    assert unnamed.startswith("the verdict does not name 'shop_elsewhere'")
    assert "publication shop_orders: missing" in unnamed
