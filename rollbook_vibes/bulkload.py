"""Bulk loading: take a set of tables' keys and indexes off for a load, put them back after.

Building an index once over loaded rows is much cheaper than maintaining it row by row, and
a foreign key validated once by one anti-join is much cheaper than a trigger firing per row.
The definitions are read from pg_catalog before they are dropped and replayed verbatim
(pg_get_constraintdef, pg_get_indexdef), so the schema after the load is the one before it.
Run inside a transaction: if the load fails, the rollback restores everything.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

CONSTRAINTS = """
SELECT n.nspname, r.relname, c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_class r ON r.oid = c.conrelid
JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype IN ('p', 'u', 'x', 'f')
ORDER BY c.contype = 'f', r.relname, c.conname
"""

# Indexes of their own, not the ones behind a primary-key, unique or exclusion constraint.
INDEXES = """
SELECT n.nspname, x.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class x ON x.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = x.relnamespace
WHERE i.indrelid = ANY(%(tables)s::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY x.relname
"""


@dataclass(frozen=True)
class Definition:
    drop: sql.Composed
    create: sql.Composed
    is_foreign_key: bool = False


def key_definitions(conn: psycopg.Connection, tables: Sequence[str]) -> list[Definition]:
    """Constraints (keys before foreign keys) and indexes of ``tables``, to drop and recreate."""
    params = {"tables": list(tables)}
    found = []
    for schema, table, name, contype, definition in conn.execute(CONSTRAINTS, params):
        target = sql.Identifier(schema, table)
        found.append(Definition(
            drop=sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)),
            create=sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                target, sql.Identifier(name), sql.SQL(definition)),
            is_foreign_key=contype == "f"))
    for schema, name, definition in conn.execute(INDEXES, params):
        found.append(Definition(drop=sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)),
                                create=sql.SQL(definition)))
    return found


@contextmanager
def without_keys(conn: psycopg.Connection, tables: Sequence[str], *,
                 progress: Callable[[str], None] | None = None) -> Iterator[None]:
    """Drop the keys, foreign keys and indexes of ``tables``; recreate them on success."""
    say = progress or (lambda _line: None)
    definitions = key_definitions(conn, tables)
    foreign = [d for d in definitions if d.is_foreign_key]
    others = [d for d in definitions if not d.is_foreign_key]
    for definition in foreign + others:
        conn.execute(definition.drop)
    say(f"dropped {len(definitions)} keys and indexes for the load")
    yield
    t0 = time.perf_counter()
    for definition in others:
        conn.execute(definition.create)
    say(f"keys and indexes rebuilt in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    for definition in foreign:
        conn.execute(definition.create)
    say(f"{len(foreign)} foreign keys validated in {time.perf_counter() - t0:.1f}s")
