"""Key columns of a snapshot: every primary-key and foreign-key column with its type."""
from __future__ import annotations

from typing import NamedTuple

from rollbook.measure.catalog.snapshot import Schema


class KeyColumn(NamedTuple):
    table: str
    column: str
    type: str
    role: str  # "primary key" or "foreign key -> table.column"


def key_columns(schema: Schema) -> list[KeyColumn]:
    """Every primary-key and foreign-key column with its type, for id-type checks."""
    keys = []
    for constraint in sorted(schema.constraints.values(), key=lambda c: (c.table, c.name)):
        columns = schema.tables.get(constraint.table, {})
        if constraint.type == "primary key":
            roles = ["primary key"] * len(constraint.columns)
        elif constraint.type == "foreign key":
            roles = [f"foreign key -> {constraint.ref_table}.{ref}"
                     for ref in constraint.ref_columns]
        else:
            continue
        for column, role in zip(constraint.columns, roles, strict=True):
            keys.append(KeyColumn(constraint.table, column, columns[column].type, role))
    return keys


def whole_keys(schema: Schema) -> dict[str, tuple[str, ...]]:
    """What tells each table's rows apart, whole: its primary key's columns, else those of a
    unique constraint on NOT NULL columns (the first by name), else () for a table without a
    key, whose rows are told apart by every column."""
    keys: dict[str, tuple[str, ...]] = {table: () for table in schema.tables}
    for constraint in sorted(schema.constraints.values(),
                             key=lambda c: (c.type != "primary key", c.name)):
        columns = schema.tables.get(constraint.table)
        if columns is None or keys.get(constraint.table):
            continue
        if constraint.type == "primary key" or (constraint.type == "unique" and all(
                c in columns and columns[c].not_null for c in constraint.columns)):
            keys[constraint.table] = tuple(constraint.columns)
    return keys
