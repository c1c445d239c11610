"""Schema snapshots from pg_catalog, and the differences between two of them.

A snapshot holds what a rollback must restore: tables and their columns (by name, so column
order does not matter), constraints, indexes and sequences (their definition, never their
last_value, which is data). It round-trips through JSON for the baseline manifest.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from rollbook.record.evidence import CheckResult

# Every catalog query runs with an empty search_path, so names are printed schema-qualified
# and a snapshot does not depend on the search_path of the session that took it.
PIN_SEARCH_PATH = "SELECT set_config('search_path', '', true)"

COLUMNS_SQL = """\
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""

# Not-null constraints (contype 'n', PostgreSQL 18+) are left out: the column's not_null
# flag says the same thing on every server version.
# A constraint's columns, and its referenced schema, table and columns, in key order.
CONSTRAINT_ENDS_SQL = """\
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       rn.nspname, r.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord)"""

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

INDEXES_SQL = """\
SELECT n.nspname, i.relname, t.relname, pg_get_indexdef(ix.indexrelid), ix.indisvalid,
       ix.indisready, ix.indisprimary, ix.indisunique
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""

# A sequence is owned by a column through pg_depend: deptype 'a' for serial, 'i' for identity.
SEQUENCES_SQL = """\
SELECT n.nspname, s.relname, format_type(seq.seqtypid, NULL), seq.seqincrement,
       owner.nspname, owner.relname, owner.attname
FROM pg_sequence seq
JOIN pg_class s ON s.oid = seq.seqrelid
JOIN pg_namespace n ON n.oid = s.relnamespace
LEFT JOIN LATERAL (
    SELECT tn.nspname, t.relname, a.attname
    FROM pg_depend d
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      AND d.refobjsubid > 0
    LIMIT 1) owner ON true
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""

CONSTRAINT_TYPES = {"p": "primary key", "f": "foreign key", "u": "unique", "c": "check",
                    "x": "exclusion", "t": "trigger"}
IDENTITY_KINDS = {"a": "always", "d": "by default"}
GENERATED_KINDS = {"s": "stored", "v": "virtual"}


def display_name(schema: str, name: str) -> str:
    """How rollbook names a relation: bare in public, schema-qualified elsewhere."""
    return name if schema == "public" else f"{schema}.{name}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str | None  # "always", "by default" or None
    generated: str | None  # "stored", "virtual" or None


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


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    definition: str
    valid: bool
    ready: bool
    primary: bool
    unique: bool


@dataclass(frozen=True)
class Sequence:
    name: str
    data_type: str
    increment: int
    owned_by: str | None  # "table.column"


@dataclass
class Schema:
    """A snapshot of the schemas named in `schemas`; every mapping is keyed by display name."""

    schemas: tuple[str, ...]
    tables: dict[str, dict[str, Column]]  # table -> column name -> Column
    constraints: dict[str, Constraint]  # "table.constraint" -> Constraint
    indexes: dict[str, Index]
    sequences: dict[str, Sequence]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemas": list(self.schemas),
            "tables": {table: {name: asdict(column) for name, column in columns.items()}
                       for table, columns in self.tables.items()},
            "constraints": {key: asdict(c) for key, c in self.constraints.items()},
            "indexes": {key: asdict(i) for key, i in self.indexes.items()},
            "sequences": {key: asdict(s) for key, s in self.sequences.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(
            schemas=tuple(data["schemas"]),
            tables={table: {name: _load(Column, c) for name, c in columns.items()}
                    for table, columns in data["tables"].items()},
            constraints={k: _load(Constraint, c) for k, c in data["constraints"].items()},
            indexes={k: _load(Index, i) for k, i in data["indexes"].items()},
            sequences={k: _load(Sequence, s) for k, s in data["sequences"].items()},
        )

    def describe(self) -> str:
        columns = sum(len(c) for c in self.tables.values())
        return (f"{len(self.tables)} tables, {columns} columns, {len(self.constraints)}"
                f" constraints, {len(self.indexes)} indexes, {len(self.sequences)} sequences")


def _load(kind: type, data: dict[str, Any]):
    """Rebuild a frozen dataclass from JSON, turning lists back into tuples."""
    values = {f.name: data.get(f.name) for f in fields(kind)}
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def snapshot(conn: psycopg.Connection, schemas: tuple[str, ...] = ("public",)) -> Schema:
    """Read tables, columns, constraints, indexes and sequences of `schemas` from pg_catalog."""
    params = {"schemas": list(schemas)}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(PIN_SEARCH_PATH)
        tables: dict[str, dict[str, Column]] = {}
        for nsp, rel, col, typ, not_null, default, identity, generated in \
                cur.execute(COLUMNS_SQL, params).fetchall():
            columns = tables.setdefault(display_name(nsp, rel), {})
            if col is not None:
                columns[col] = Column(col, typ, not_null, default, IDENTITY_KINDS.get(identity),
                                      GENERATED_KINDS.get(generated))
        constraints = {}
        for nsp, rel, name, kind, definition, validated, columns, rnsp, rrel, rcols in \
                cur.execute(CONSTRAINTS_SQL, params).fetchall():
            table = display_name(nsp, rel)
            constraints[f"{table}.{name}"] = Constraint(
                name, table, CONSTRAINT_TYPES.get(kind, kind), definition, validated,
                tuple(columns), display_name(rnsp, rrel) if rrel else None, tuple(rcols))
        indexes = {}
        for nsp, name, rel, definition, valid, ready, primary, unique in \
                cur.execute(INDEXES_SQL, params).fetchall():
            indexes[display_name(nsp, name)] = Index(display_name(nsp, name),
                                                     display_name(nsp, rel), definition,
                                                     valid, ready, primary, unique)
        sequences = {}
        for nsp, name, data_type, increment, onsp, orel, ocol in \
                cur.execute(SEQUENCES_SQL, params).fetchall():
            owned_by = f"{display_name(onsp, orel)}.{ocol}" if orel else None
            sequences[display_name(nsp, name)] = Sequence(display_name(nsp, name), data_type,
                                                          increment, owned_by)
    return Schema(tuple(schemas), tables, constraints, indexes, sequences)


class Difference(NamedTuple):
    """One way `after` differs from `before`. For "changed", attribute names what changed."""

    kind: str  # "table", "column", "constraint", "index", "sequence"
    name: str
    change: str  # "missing", "extra", "changed"
    before: Any
    after: Any
    attribute: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    def __str__(self) -> str:
        if self.change == "changed":
            return (f"{self.kind} {self.name}: {self.attribute} {_show(self.before)}"
                    f" -> {_show(self.after)}")
        if self.change == "missing":
            return f"{self.kind} {self.name}: missing (expected {_brief(self.kind, self.before)})"
        return f"{self.kind} {self.name}: extra (not expected; {_brief(self.kind, self.after)})"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _brief(kind: str, value: dict[str, Any]) -> str:
    if kind == "table":
        return f"{len(value)} columns: {', '.join(value)}"
    key = {"column": "type", "sequence": "data_type"}.get(kind, "definition")
    return _show(value.get(key))


# What is compared, per kind; derived fields (a constraint's column lists) are left out
# because the definition already shows them.
COMPARED = {
    "column": ("type", "not_null", "default", "identity", "generated"),
    "constraint": ("type", "definition", "validated"),
    "index": ("table", "definition", "valid", "ready", "primary", "unique"),
    "sequence": ("data_type", "increment", "owned_by"),
}


def _compare(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
    found = [Difference(kind, name, "missing", _plain(before[name]), None)
             for name in before if name not in after]
    found += [Difference(kind, name, "extra", None, _plain(after[name]))
              for name in after if name not in before]
    for name in before.keys() & after.keys():
        old, new = _plain(before[name]), _plain(after[name])
        found += [Difference(kind, name, "changed", old[attr], new[attr], attr)
                  for attr in COMPARED.get(kind, ()) if old[attr] != new[attr]]
    return sorted(found, key=lambda d: (d.name, d.change, d.attribute or ""))


def _plain(value: Any) -> Any:
    """A snapshot object as a plain dict (a table's columns become {name: column dict})."""
    if isinstance(value, dict):
        return {name: asdict(column) for name, column in value.items()}
    return asdict(value)


def diff(before: Schema, after: Schema) -> list[Difference]:
    """Every difference from `before` (expected) to `after` (found).

    Columns, constraints and indexes of a table that is missing or extra as a whole are not
    listed again: the table's own line says it.
    """
    found = _compare("table", before.tables, after.tables)
    whole = {d.name for d in found}
    for table in sorted(before.tables.keys() & after.tables.keys()):
        found += [Difference(d.kind, f"{table}.{d.name}", *d[2:])
                  for d in _compare("column", before.tables[table], after.tables[table])]
    for kind, old, new in (("constraint", before.constraints, after.constraints),
                           ("index", before.indexes, after.indexes)):
        found += [d for d in _compare(kind, old, new)
                  if (old.get(d.name) or new[d.name]).table not in whole]
    found += _compare("sequence", before.sequences, after.sequences)
    order = {"table": 0, "column": 1, "constraint": 2, "index": 3, "sequence": 4}
    return sorted(found, key=lambda d: order[d.kind])


def format_diff(diffs: list[Difference]) -> str:
    """One readable line per difference, e.g. `column journals.user_id: type integer -> uuid`."""
    return "\n".join(str(d) for d in diffs)


def compare_schema(conn: psycopg.Connection, expected: Schema) -> CheckResult:
    """Snapshot the database now and compare it with `expected` (e.g. the baseline's schema)."""
    found = snapshot(conn, expected.schemas)
    diffs = diff(expected, found)
    sql = [PIN_SEARCH_PATH, COLUMNS_SQL, CONSTRAINTS_SQL, INDEXES_SQL, SEQUENCES_SQL]
    observed = {"schemas": list(expected.schemas), "found": found.describe(),
                "expected": expected.describe(), "differences": [d.to_dict() for d in diffs],
                "diff": format_diff(diffs)}
    if not diffs:
        return CheckResult("schema matches baseline", True,
                           f"schema matches baseline: {found.describe()}", sql, observed)
    plural = "difference" if len(diffs) == 1 else "differences"
    return CheckResult("schema matches baseline", False,
                       f"schema differs from baseline: {len(diffs)} {plural}; first: {diffs[0]}",
                       sql, observed)


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


def relation(name: str) -> sql.Identifier:
    """The schema-qualified identifier of a relation named as display_name() names it."""
    schema, _, table = name.rpartition(".")
    return sql.Identifier(schema or "public", table)
