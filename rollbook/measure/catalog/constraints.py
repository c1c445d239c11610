"""Table constraints: primary and foreign keys, unique, check and exclusion constraints.

pg_get_constraintdef prints everything that tells two constraints apart: the columns, the
referenced table, ON DELETE/ON UPDATE actions, MATCH, DEFERRABLE/INITIALLY DEFERRED, NOT VALID.
"""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, display_name

# A constraint's columns, and its referenced schema, table and columns, in key order.
CONSTRAINT_ENDS_SQL = """\
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       rn.nspname, r.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord)"""

# Not-null constraints (contype 'n', PostgreSQL 18+) are left out: the column's not_null
# flag says the same thing on every server version.
CONSTRAINTS_SQL = f"""\
SELECT n.nspname, t.relname, con.conname, con.contype, pg_get_constraintdef(con.oid),
       con.convalidated,
{CONSTRAINT_ENDS_SQL}
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class r ON r.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE con.contype <> 'n' AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""

CONSTRAINT_TYPES = {"p": "primary key", "f": "foreign key", "u": "unique", "c": "check",
                    "x": "exclusion", "t": "trigger"}


@dataclass(frozen=True)
class Constraint:
    name: str
    table: str
    type: str  # "primary key", "foreign key", "unique", "check", ...
    definition: str
    validated: bool
    columns: tuple[str, ...]
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()


def _read(rows: list[tuple]) -> dict[str, Constraint]:
    found = {}
    for nsp, rel, name, kind, definition, validated, columns, rnsp, rrel, rcols in rows:
        table = display_name(nsp, rel)
        found[f"{table}.{name}"] = Constraint(
            name, table, CONSTRAINT_TYPES.get(kind, kind), definition, validated,
            tuple(columns), display_name(rnsp, rrel) if rrel else None, tuple(rcols))
    return found


# A constraint's column lists are left out of the comparison: the definition shows them.
CONSTRAINTS = Kind("constraint", "constraints", CONSTRAINTS_SQL, _read, Constraint,
                   ("type", "definition", "validated"), brief=lambda c: c.definition,
                   table_of=lambda name, c: c.table)
