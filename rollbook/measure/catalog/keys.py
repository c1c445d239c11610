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
