"""Seed any schema from its catalog: every table, parents before children, `rows` rows each.

For a project whose profile names no seeder ([embedded] seed). Each table gets one
`INSERT ... SELECT ... FROM generate_series` (no row is built in Python): the row number `g`
makes every value, so the data is the same on every run and unique columns stay unique. A
foreign key takes the (g mod n)-th row of its parent (in key order), so children reference rows
that exist. Identity, generated and sequence-default columns are left to the database.

The writer (`write`) inserts a few rows more of the same kind, as an application would: only
the columns that have neither a default nor NULL to fall back on.
"""
from __future__ import annotations

import graphlib

import psycopg
from psycopg import sql

from rollbook.errors import RollbookError
from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.runbook.migrations import VERSION_TABLE

WRITER_ROWS = 5
SEED_HINT = "name a seeder for it in the profile ([embedded] seed = \"module:function\")."

# The base type of a column's type (through a domain), its category and whether it is an enum.
TYPE_SQL = """\
SELECT b.typname, b.typcategory, b.typtype = 'e'
FROM pg_type t
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE t.oid = %s::regtype"""

G = sql.SQL("s.g")
# rows this transaction inserted: their xmin is its transaction id (mod 2^32)
FRESH_ROWS = "WHERE xmin::text::bigint = txid_current() %% 4294967296"
EPOCH = sql.SQL("timestamp '2024-01-01 00:00:00'")


class SeedError(RollbookError):
    """A schema rollbook cannot seed by itself."""


def seed(dsn: str, scale: str, *, only_empty: bool = False) -> dict[str, int]:
    """Every table of the database at `dsn` (with `only_empty`, every table without rows),
    `scale` rows each (a scale name or a count, as --scale takes it); called as a profile's
    seeder is: seed(dsn, scale)."""
    from rollbook_vibes.seed import plan_for  # the scale names --scale accepts

    with connect(dsn) as conn:
        return seed_tables(conn, plan_for(scale).journals, only_empty=only_empty)


def write(conn: psycopg.Connection, revision: str) -> dict[str, int]:
    """Rows written on `revision` as an application would: WRITER_ROWS per table, required
    columns only; returns the rows written per table. Called as a profile's writer is."""
    return seed_tables(conn, WRITER_ROWS, required_only=True)


def seed_tables(conn: psycopg.Connection, rows: int, *, required_only: bool = False,
                only_empty: bool = False,
                schemas: tuple[str, ...] | None = None) -> dict[str, int]:
    """Insert `rows` rows into every table, in foreign-key order; the rows inserted per table
    (fewer where a unique key or a parent with no rows left some out)."""
    schema = catalog.snapshot(conn, schemas, kinds=("tables", "constraints", "table_options"))
    written = {}
    with conn.transaction():
        for table in load_order(schema):
            start = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                catalog.relation(table))).fetchone()[0]
            if only_empty and start:
                continue
            fresh = {t for t, n in written.items() if n} if required_only else set()
            statement = insert_statement(conn, schema, table, required_only, fresh)
            if statement is None:
                continue
            try:
                cur = conn.execute(statement, {"first": start + 1, "last": start + rows})
            except psycopg.errors.IntegrityError as exc:  # e.g. a CHECK the made values break
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise SeedError(f"seeding {table} failed: {first}.", hint=SEED_HINT) from None
            written[table] = cur.rowcount
    return written


def load_order(schema: catalog.Schema) -> list[str]:
    """Tables parents first (a partition is loaded through its parent)."""
    options = schema.objects.get("table_options", {})
    tables = [t for t in sorted(schema.tables) if t != VERSION_TABLE
              and getattr(options.get(t), "partition_of", None) is None]
    graph = {t: set() for t in tables}
    for c in schema.constraints.values():
        if c.type == "foreign key" and c.table in graph and c.ref_table != c.table:
            graph[c.table].add(c.ref_table)
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise SeedError(f"the foreign keys of {' -> '.join(exc.args[1])} form a cycle: no "
                        "table of it can be seeded first.", hint=SEED_HINT) from None


def insert_statement(conn: psycopg.Connection, schema: catalog.Schema, table: str,
                     required_only: bool, fresh: set[str] = frozenset()) -> sql.Composed | None:
    """INSERT ... SELECT over generate_series(%(first)s, %(last)s) for one table, or None
    when the database fills every column itself. A parent in `fresh` is referenced only by
    its rows inserted in this transaction (new rows hang off new rows, as an application's
    do, so they never land among a baseline's rows)."""
    keys = [c for c in schema.constraints.values()
            if c.table == table and c.type == "foreign key" and c.ref_table != table]
    from_key = {column: (index, key.ref_columns[position]) for index, key in enumerate(keys)
                for position, column in enumerate(key.columns)}
    targets, values = [], []
    for name, column in sorted(schema.tables[table].items()):
        if column.identity or column.generated or "nextval(" in (column.default or ""):
            continue
        if required_only and (not column.not_null or column.default is not None):
            continue
        if name in from_key:
            index, ref_column = from_key[name]
            value = sql.SQL("{}.{}").format(sql.Identifier(f"fk{index}"),
                                            sql.Identifier(ref_column))
        else:
            value = column_value(conn, table, column)
        targets.append(sql.Identifier(name))
        values.append(value)
    if not targets:
        return None
    joins = [parent_join(index, key, schema.tables[table], key.ref_table in fresh)
             for index, key in enumerate(keys)
             if any(column in from_key for column in key.columns)]
    # ON CONFLICT cannot use a deferrable constraint as its arbiter
    deferrable = any(c.table == table and c.type in ("primary key", "unique", "exclusion")
                     and "DEFERRABLE" in c.definition and "NOT DEFERRABLE" not in c.definition
                     for c in schema.constraints.values())
    return sql.SQL("INSERT INTO {table} ({targets}) SELECT {values} FROM generate_series("
                   "%(first)s::bigint, %(last)s::bigint) AS s(g) {joins} {conflict}").format(
        table=catalog.relation(table), targets=sql.SQL(", ").join(targets),
        values=sql.SQL(", ").join(values), joins=sql.SQL(" ").join(joins),
        conflict=sql.SQL("" if deferrable else "ON CONFLICT DO NOTHING"))


def parent_join(index: int, key: catalog.Constraint, columns: dict,
                fresh: bool = False) -> sql.Composed:
    """The parent row a child row references: the ((g + index * g/n) mod n)-th in key order,
    so two foreign keys of one table pair up differently. Inner when a column is required."""
    alias = sql.Identifier(f"fk{index}")
    refs = sql.SQL(", ").join(map(sql.Identifier, key.ref_columns))
    required = any(columns[c].not_null for c in key.columns if c in columns)
    return sql.SQL("{kind} JOIN (SELECT {refs}, row_number() OVER (ORDER BY {refs}) - 1 AS rn,"
                   " count(*) OVER () AS n FROM {parent} {where}) AS {alias} ON {alias}.rn = "
                   "(s.g + {index} * (s.g / {alias}.n)) %% {alias}.n").format(
        kind=sql.SQL("" if required else "LEFT"), refs=refs,
        parent=catalog.relation(key.ref_table), alias=alias, index=sql.Literal(index),
        where=sql.SQL(FRESH_ROWS if fresh else ""))


def column_value(conn: psycopg.Connection, table: str, column: catalog.Column) -> sql.Composable:
    """The value of `column` in row s.g, from its type's category; NULL for a type this does
    not know when the column allows it."""
    typename, category, is_enum = conn.execute(TYPE_SQL, (column.type,)).fetchone()
    # format_type() prints the type as SQL (quoted where needed): safe to compose as SQL text
    typ = sql.SQL(column.type)
    label = sql.Literal(f"{column.name}-")
    if is_enum:
        value = sql.SQL("(enum_range(NULL::{t}))[1 + s.g %% cardinality(enum_range(NULL::{t}))]"
                        ).format(t=typ)
    elif typename == "int2":
        value = sql.SQL("s.g %% 32000")
    elif category == "N":
        value = G
    elif category == "S":
        value = sql.SQL("{} || s.g").format(label)
    elif category == "B":
        value = sql.SQL("s.g %% 2 = 0")
    elif category == "D":
        value = sql.SQL("{} + s.g * interval '1 minute'").format(EPOCH)
    elif category == "T":
        value = sql.SQL("s.g * interval '1 second'")
    elif typename == "uuid":
        value = sql.SQL("md5({} || s.g)::uuid").format(sql.Literal(f"{table}.{column.name}"))
    elif typename in ("json", "jsonb"):
        value = sql.SQL("jsonb_build_object({}, s.g)").format(sql.Literal(column.name))
    elif typename == "bytea":
        value = sql.SQL("convert_to({} || s.g, 'UTF8')").format(label)
    elif category == "I":
        value = sql.SQL("'10.0.0.0'::inet + s.g")
    elif not column.not_null:
        value = sql.SQL("NULL")
    else:
        raise SeedError(f"column {table}.{column.name} of type {column.type} is required and "
                        "rollbook does not know how to make its values.", hint=SEED_HINT)
    return sql.SQL("({})::{}").format(value, typ)
