"""What the operator checks check: tables, key columns, foreign keys, sequences, unique keys,
time columns and key queries, from the baseline (when given), the live catalog and the profile.

The baseline says what must be there; the live catalog adds what is there now (a new table is
counted, an extra foreign key is searched for orphans); the profile adds what the catalog cannot
know (soft foreign keys, unique and time columns, key queries). Everything is sorted, so every
xdist worker parametrizes the same tests in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import psycopg
from psycopg import sql

from rollbook.measure import catalog
from rollbook.measure.baseline import Baseline
from rollbook.runbook.migrations import is_version_table
from rollbook.settings.profile import KeyQuery, Profile
from rollbook.verdicts import orphans

TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")
DEFAULT_TIME_COLUMN = "created_at"


class UniqueKey(NamedTuple):
    table: str
    columns: tuple[str, ...]

    def label(self) -> str:
        return f"{self.table}({', '.join(self.columns)})"


class TimeColumn(NamedTuple):
    table: str
    column: str

    def label(self) -> str:
        return f"{self.table}.{self.column}"


class ExpectedKey(NamedTuple):
    key: catalog.KeyColumn
    types: tuple[str, ...]

    def label(self) -> str:
        return f"{self.key.table}.{self.key.column}"


@dataclass(frozen=True)
class Inventory:
    tables: tuple[str, ...]
    key_columns: tuple[ExpectedKey, ...]
    foreign_keys: tuple[orphans.ForeignKey, ...]
    sequences: tuple[orphans.OwnedSequence, ...]
    unique_keys: tuple[UniqueKey, ...]
    time_columns: tuple[TimeColumn, ...]
    queries: tuple[KeyQuery, ...]


def fk_label(fk: orphans.ForeignKey) -> str:
    return fk.describe().replace(" ", "")


def build(conn: psycopg.Connection, profile: Profile, baseline: Baseline | None) -> Inventory:
    live = catalog.snapshot(conn, profile.schemas, kinds=("tables", "constraints"))
    expected = baseline.schema_snapshot() if baseline is not None else live
    tables = sorted(set(expected.tables) | set(live.tables) | set(profile.tables))
    return Inventory(
        tables=tuple(tables),
        key_columns=tuple(_key_columns(expected, live, profile, baseline is not None)),
        foreign_keys=tuple(_foreign_keys(conn, expected, profile)),
        sequences=tuple(orphans.owned_sequences(conn)),
        unique_keys=tuple(_unique_keys(expected, profile)),
        time_columns=tuple(time_columns(expected, profile)),
        queries=(*profile.queries, *(_key_lookups(conn, expected)
                                     if profile.performance.key_lookups else ())))


def _key_columns(expected: catalog.Schema, live: catalog.Schema, profile: Profile,
                 from_baseline: bool) -> list[ExpectedKey]:
    """Key columns of the expected schema, plus live ones it lacks; each with its expected
    types: the baseline's type of that column, else the profile's (per table, then global);
    a column with neither is left out."""
    found: dict[tuple[str, str, str], ExpectedKey] = {}
    for source in (expected, live):
        for key in catalog.key_columns(source):
            if is_version_table(key.table) or (key.table, key.column, key.role) in found:
                continue
            table_type = profile.tables.get(key.table)
            declared = table_type.key_type if table_type and table_type.key_type else None
            if from_baseline and source is expected:
                types = (key.type,)
            else:
                types = (declared,) if declared else profile.key_types
            if types:  # nothing recorded nor declared: nothing to expect
                found[(key.table, key.column, key.role)] = ExpectedKey(key, tuple(types))
    merged: dict[tuple[str, str], ExpectedKey] = {}
    for (table, column, _role), item in sorted(found.items()):
        merged.setdefault((table, column), item)  # one test per column, first role wins
    return [merged[k] for k in sorted(merged)]


def _foreign_keys(conn: psycopg.Connection, expected: catalog.Schema,
                  profile: Profile) -> list[orphans.ForeignKey]:
    keys = {(fk.table, fk.columns, fk.ref_table, fk.ref_columns): fk
            for fk in orphans.foreign_keys(conn)}
    for c in expected.constraints.values():
        if c.type == "foreign key" and "." not in c.table:
            keys.setdefault((c.table, c.columns, c.ref_table, c.ref_columns),
                            orphans.ForeignKey(c.name, c.table, c.columns, c.ref_table,
                                                 c.ref_columns, c.validated))
    for soft in profile.soft_foreign_keys:
        fk = orphans.ForeignKey.soft_key(soft.table, soft.columns, soft.references,
                                           soft.ref_columns)
        keys.setdefault((fk.table, fk.columns, fk.ref_table, fk.ref_columns), fk)
    return [keys[k] for k in sorted(keys)]


def _unique_keys(expected: catalog.Schema, profile: Profile) -> list[UniqueKey]:
    keys = {UniqueKey(c.table, c.columns) for c in expected.constraints.values()
            if c.type == "unique"}
    for table, expectation in profile.tables.items():
        keys.update(UniqueKey(table, tuple(columns)) for columns in expectation.unique)
    return sorted(keys)


def time_columns(expected: catalog.Schema, profile: Profile) -> list[TimeColumn]:
    found = {TimeColumn(table, expectation.time_column)
             for table, expectation in profile.tables.items() if expectation.time_column}
    declared = {c.table for c in found}
    for table, columns in expected.tables.items():
        column = columns.get(DEFAULT_TIME_COLUMN)
        if table not in declared and column is not None and column.type in TIME_TYPES:
            found.add(TimeColumn(table, DEFAULT_TIME_COLUMN))
    return sorted(found)


def _key_lookups(conn: psycopg.Connection, expected: catalog.Schema) -> list[KeyQuery]:
    """A primary-key lookup per table with a single-column primary key: it must use that key's
    index (no Seq Scan on a table of any size)."""
    queries = []
    for c in sorted(expected.constraints.values(), key=lambda c: c.table):
        if c.type != "primary key" or len(c.columns) != 1 or is_version_table(c.table):
            continue
        table = catalog.relation(c.table)
        key = sql.Identifier(c.columns[0])
        lookup = sql.SQL("SELECT {k} FROM {t} WHERE {k} = %(key)s").format(k=key, t=table)
        first = sql.SQL("SELECT {k} AS key FROM {t} ORDER BY {k} LIMIT 1").format(k=key,
                                                                                   t=table)
        queries.append(KeyQuery(name=f"primary-key lookup on {c.table}",
                                sql=lookup.as_string(conn), params=first.as_string(conn),
                                expect_indexes=(c.name,), key_lookup=True))
    return queries


def id_column_types(profile: Profile, baseline: Baseline | None) -> tuple[str, ...]:
    """Types an `id` column may have: those the baseline's id columns had, else the profile's."""
    if baseline is None:
        return profile.key_types
    types = {c.type for columns in baseline.schema_snapshot().tables.values()
             for name, c in columns.items() if name == "id"}
    return tuple(sorted(types)) or profile.key_types
