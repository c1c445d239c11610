"""The Vibes database's state as the migration tests compare it: the public schema as sets of
catalog rows, each table's rows as an order-free fingerprint, the id sequences, orphans, column
types, and pg_dump --schema-only before and after a round trip through 0002."""
from __future__ import annotations

import difflib
import re
import subprocess

import psycopg
from alembic import command
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from rollbook_vibes.migrations_config import alembic_config as vibes_alembic_config
from rollbook_vibes.schema import FOREIGN_KEYS, ID_TABLES, TABLES, sequence_name
from rollbook_vibes.seed import seed
from rollbook_vibes.traffic import write_on_uuid

CATALOG = {
    "tables": """
        SELECT c.relname, c.relkind, c.relpersistence, coalesce(c.reloptions, '{}')::text
        FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm')""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
          AND a.attnum > 0 AND NOT a.attisdropped""",
    # Every kind, not-null constraints (PostgreSQL 18) included: their names must match too.
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.convalidated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = 'public'::regnamespace""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace""",
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmin,
               s.seqmax, s.seqcache, s.seqcycle,
               (SELECT t.relname || '.' || a.attname || ':' || d.deptype::text FROM pg_depend d
                JOIN pg_class t ON t.oid = d.refobjid
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i'))
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        WHERE c.relnamespace = 'public'::regnamespace""",
}


def catalog(dsn: str) -> dict[str, set[tuple]]:
    """The public schema as sets of catalog rows: by name, so column order does not count."""
    with psycopg.connect(dsn) as conn:
        return {kind: set(conn.execute(query).fetchall()) for kind, query in CATALOG.items()}


def assert_same_schema(expected: dict[str, set[tuple]], found: dict[str, set[tuple]]) -> None:
    problems = []
    for kind in CATALOG:
        missing, extra = expected[kind] - found[kind], found[kind] - expected[kind]
        problems += [f"{kind} missing: {row}" for row in sorted(missing, key=repr)]
        problems += [f"{kind} unexpected: {row}" for row in sorted(extra, key=repr)]
    assert not problems, "schema differs from the 0001 baseline:\n" + "\n".join(problems)


def fingerprints(dsn: str) -> dict[str, tuple[int, int]]:
    """Per table: row count and the sum of the rows' md5 (of the row as jsonb, so column
    order does not count), modulo 2^64. Order-free and computed in the server."""
    result = {}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for table in TABLES:
            result[table] = conn.execute(sql.SQL(
                "SELECT count(*), mod(coalesce(sum(('x' || left(md5(to_jsonb(t)::text), 16))"
                "::bit(64)::bigint::numeric), 0), 18446744073709551616) FROM {} t").format(
                sql.Identifier(table))).fetchone()
    return result


def assert_sequences_ahead(dsn: str) -> None:
    """nextval() of every id sequence returns an id above every id in use."""
    with psycopg.connect(dsn) as conn:
        for table in ID_TABLES:
            seq = sql.Identifier(sequence_name(table))
            last, called = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
                seq)).fetchone()
            top = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(
                sql.Identifier(table))).fetchone()[0]
            next_id = last + 1 if called else last
            assert top is None or next_id > top, f"{table}: next id {next_id} <= max(id) {top}"


def sequence_states(dsn: str) -> dict[str, tuple[int, bool]]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
            sql.Identifier(sequence_name(t)))).fetchone() for t in ID_TABLES}


def assert_no_orphans(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for (table, column), parent in FOREIGN_KEYS.items():
            orphans = conn.execute(sql.SQL(
                "SELECT count(*) FROM {t} c WHERE c.{col} IS NOT NULL AND NOT EXISTS"
                " (SELECT FROM {p} p WHERE p.id = c.{col})").format(
                t=sql.Identifier(table), col=sql.Identifier(column),
                p=sql.Identifier(parent))).fetchone()[0]
            assert orphans == 0, f"{table}.{column}: {orphans} rows point at no {parent}"


def column_types(dsn: str, column: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute(
            "SELECT table_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = %s AND table_name <> ALL(%s)",
            [column, ["alembic_version"]]).fetchall())


# pg_dump 18 (and 17.6, 16.10, ...) fences its script with \restrict / \unrestrict and a key
# drawn at random for every dump: the one line that differs between two dumps of one schema.
RESTRICT_KEY = re.compile(r"^(\\(?:un)?restrict) \S+$", re.MULTILINE)


def schema_dump(server, dsn: str) -> str:
    """pg_dump --schema-only of the database, with the client tools matched to the server."""
    argv = [str(server.installation.tool("pg_dump")), "--schema-only", "--no-password",
            f"--dbname={server.client_dsn(conninfo_to_dict(dsn)['dbname'])}"]
    result = subprocess.run(argv, capture_output=True, text=True, env=server.client_env(),
                            check=True)
    return RESTRICT_KEY.sub(r"\1 <random key>", result.stdout)


def assert_same_dump(expected: str, found: str) -> None:
    """Nothing else is normalised: the downgrade keeps column order, names, definitions."""
    diff = list(difflib.unified_diff(expected.splitlines(), found.splitlines(), "at 0001",
                                     "after 0002 and back", lineterm=""))
    if diff:  # raised, not asserted: the diff is the message, as it is, not an assert's repr
        raise AssertionError("pg_dump --schema-only differs from the one at 0001:\n"
                             + "\n".join(diff))


def dump_round_trip(server, dsn: str) -> tuple[str, str]:
    """Dumps of a seeded database at 0001, and after 0002, rows written on uuid, and back."""
    config = vibes_alembic_config(dsn)
    command.upgrade(config, "0001")
    seed(dsn, "tiny")
    before = schema_dump(server, dsn)
    command.upgrade(config, "0002")
    with psycopg.connect(dsn) as conn:
        write_on_uuid(conn)
    command.downgrade(config, "0001")
    return before, schema_dump(server, dsn)
