"""The schema surface from pg_catalog: snapshots, their JSON form, and their differences.

One module per kind of object (the database, tables, column order, constraints, indexes,
sequences, views, triggers, routines, policies, types, extensions, schemas, collations,
operators, casts, text search objects, foreign data, publications, subscriptions, owners,
grants, comments), each with its SQL, its reader and what it compares, registered in
`registry.KINDS`. This package's public names are the ones other code imports.
"""
from rollbook.measure.catalog.base import (
    PIN_SEARCH_PATH,
    UNRECORDED,
    Difference,
    Kind,
    display_name,
    relation,
)
from rollbook.measure.catalog.constraints import (
    CONSTRAINT_ENDS_SQL,
    CONSTRAINT_TYPES,
    CONSTRAINTS_SQL,
    Constraint,
)
from rollbook.measure.catalog.indexes import INDEXES_SQL, Index
from rollbook.measure.catalog.keys import KeyColumn, key_columns, whole_keys
from rollbook.measure.catalog.registry import DIFFERENCE_KINDS, KINDS
from rollbook.measure.catalog.sequences import SEQUENCES_SQL, Sequence
from rollbook.measure.catalog.snapshot import (
    Schema,
    diff,
    format_diff,
    snapshot,
    statements,
    user_schemas,
)
from rollbook.measure.catalog.tables import COLUMNS_SQL, Column

__all__ = [
    "COLUMNS_SQL", "CONSTRAINTS_SQL", "CONSTRAINT_ENDS_SQL", "CONSTRAINT_TYPES",
    "DIFFERENCE_KINDS", "INDEXES_SQL", "KINDS", "PIN_SEARCH_PATH", "SEQUENCES_SQL",
    "UNRECORDED", "Column", "Constraint", "Difference", "Index", "KeyColumn", "Kind", "Schema",
    "Sequence", "diff", "display_name", "format_diff", "key_columns", "relation", "snapshot",
    "statements", "user_schemas", "whole_keys",
]
