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
from collections.abc import Callable

import psycopg
from psycopg import sql

from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.runbook import seed_checks
from rollbook.runbook.migrations import is_version_table
from rollbook.runbook.seed_values import SEED_HINT, SeedError, column_value

WRITER_ROWS = 5

# rows this transaction inserted: their xmin is its transaction id (mod 2^32)
FRESH_ROWS = "WHERE xmin::text::bigint = txid_current() %% 4294967296"


def seed(dsn: str, scale: str, *, only_empty: bool = False,
         seeders: dict[str, Callable] | None = None) -> dict[str, int]:
    """Every table of the database at `dsn` (with `only_empty`, every table without rows),
    `scale` rows each (a scale name or a count, as --scale takes it), a table the profile
    names a seeder for by that seeder; called as a profile's seeder is: seed(dsn, scale)."""
    from rollbook_vibes.seed import plan_for  # the scale names --scale accepts

    with connect(dsn) as conn:
        return seed_tables(conn, plan_for(scale).journals, only_empty=only_empty,
                           seeders=seeders)


def write(conn: psycopg.Connection, revision: str) -> dict[str, int]:
    """Rows written on `revision` as an application would: WRITER_ROWS per table, required
    columns only; returns the rows written per table. Called as a profile's writer is."""
    return seed_tables(conn, WRITER_ROWS, required_only=True)


def seed_tables(conn: psycopg.Connection, rows: int, *, required_only: bool = False,
                only_empty: bool = False, schemas: tuple[str, ...] | None = None,
                seeders: dict[str, Callable] | None = None) -> dict[str, int]:
    """Insert `rows` rows into every table, in foreign-key order; the rows inserted per table
    (fewer where a unique key or a parent with no rows left some out). A table in `seeders`
    is seeded by its own, called as seeder(conn, table, rows) -> rows written."""
    schema = catalog.snapshot(conn, schemas, kinds=("tables", "constraints", "table_options"))
    written = {}
    with conn.transaction():
        order, left_null = load_order(schema)
        for table in order:
            start = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                catalog.relation(table))).fetchone()[0]
            if only_empty and start:
                continue
            if table in (seeders or {}):
                written[table] = _seed_with(seeders[table], conn, table, rows)
                continue
            fresh = {t for t, n in written.items() if n} if required_only else set()
            statement = insert_statement(conn, schema, table, required_only, fresh, left_null)
            if statement is None:
                continue
            try:
                cur = conn.execute(statement, {"first": start + 1, "last": start + rows})
            except psycopg.Error as exc:  # e.g. a CHECK the made values break
                raise seed_failure(schema, table, exc) from None
            written[table] = cur.rowcount
    return written


def _seed_with(seeder: Callable, conn: psycopg.Connection, table: str, rows: int) -> int:
    """A table seeded by the profile's seeder of it; whatever it raises, one line."""
    try:
        with conn.transaction():
            return seeder(conn, table, rows) or 0
    except Exception as exc:  # the profile's code: its failure is the finding
        first = (str(exc).strip().splitlines() or [""])[0]
        name = f"{seeder.__module__}:{getattr(seeder, '__name__', seeder)}"
        raise SeedError(f"seeding {table} with the profile's seeder {name} failed: "
                        f"{type(exc).__name__}: {first}", hint="fix the seeder, or drop it "
                        "from the profile and let rollbook seed the table.") from None


def seed_failure(schema: catalog.Schema, table: str, exc: psycopg.Error) -> SeedError:
    """One line naming the table, the column(s) and the constraint the made values broke."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    diag = exc.diag
    constraint = next((c for c in schema.constraints.values()
                       if c.table == table and c.name == diag.constraint_name), None)
    columns = (diag.column_name,) if diag.column_name else (
        constraint.columns if constraint is not None else ())
    where = f"{table}.{', '.join(columns)}" if columns else table
    what = (f" break constraint {constraint.name} ({constraint.definition})"
            if constraint is not None else " were refused")
    return SeedError(f"seeding {where} failed: the values made{what}: {first}.",
                     hint=SEED_HINT)


def load_order(schema: catalog.Schema) -> tuple[list[str], frozenset[str]]:
    """Tables parents first (a partition is loaded through its parent), and the foreign keys
    left NULL to get there: a cycle is broken at a key whose columns may all be NULL."""
    options = schema.objects.get("table_options", {})
    tables = [t for t in sorted(schema.tables) if not is_version_table(t)
              and getattr(options.get(t), "partition_of", None) is None]
    keys = [c for c in sorted(schema.constraints.values(), key=lambda c: (c.table, c.name))
            if c.type == "foreign key" and c.table in tables and c.ref_table != c.table]
    left_null: set[str] = set()
    while True:
        graph = {t: set() for t in tables}
        for c in keys:
            if c.name not in left_null:
                graph[c.table].add(c.ref_table)
        try:
            return list(graphlib.TopologicalSorter(graph).static_order()), frozenset(left_null)
        except graphlib.CycleError as exc:
            cycle = exc.args[1]
            steps = list(zip(cycle, cycle[1:], strict=False))
            edges = {*steps, *((b, a) for a, b in steps)}
            breakable = [c for c in keys if (c.table, c.ref_table) in edges
                         and c.name not in left_null and _nullable(schema, c)]
            if not breakable:
                raise SeedError(f"the foreign keys of {' -> '.join(cycle)} form a cycle with "
                                "no key that may be NULL: no table of it can be seeded first.",
                                hint=SEED_HINT) from None
            left_null.add(breakable[0].name)


def _nullable(schema: catalog.Schema, key: catalog.Constraint) -> bool:
    columns = schema.tables.get(key.table, {})
    return all(c in columns and not columns[c].not_null for c in key.columns)


def insert_statement(conn: psycopg.Connection, schema: catalog.Schema, table: str,
                     required_only: bool, fresh: set[str] = frozenset(),
                     left_null: frozenset[str] = frozenset()) -> sql.Composed | None:
    """INSERT ... SELECT over generate_series(%(first)s, %(last)s) for one table, or None
    when the database fills every column itself. A parent in `fresh` is referenced only by
    its rows inserted in this transaction (new rows hang off new rows, as an application's
    do, so they never land among a baseline's rows). The foreign keys in `left_null` (a cycle
    broken there) and a nullable reference of the table to itself are left NULL; a required
    one references the row itself."""
    own = [c for c in schema.constraints.values() if c.table == table and c.type == "foreign key"]
    keys = [c for c in own if c.ref_table != table and c.name not in left_null]
    nulled = {column for c in own if c.name in left_null or (c.ref_table == table and
                                                             _nullable(schema, c))
              for column in c.columns}
    itself = {column: ref for c in own if c.ref_table == table and not _nullable(schema, c)
              for column, ref in zip(c.columns, c.ref_columns, strict=True)}
    from_key = {column: (index, key.ref_columns[position]) for index, key in enumerate(keys)
                for position, column in enumerate(key.columns)}
    rules = seed_checks.read([(c.name, c.definition) for c in schema.constraints.values()
                              if c.table == table and c.type == "check"])
    made: dict[str, sql.Composable] = {}
    for name, column in sorted(schema.tables[table].items()):
        if column.identity or column.generated or "nextval(" in (column.default or ""):
            continue
        if required_only and (not column.not_null or column.default is not None):
            continue
        if name in from_key:
            index, ref_column = from_key[name]
            made[name] = sql.SQL("{}.{}").format(sql.Identifier(f"fk{index}"),
                                                 sql.Identifier(ref_column))
        elif name in nulled or (name in rules and rules[name].unread and not column.not_null):
            made[name] = sql.SQL("NULL")  # a CHECK this cannot read holds on NULL
        elif name not in itself:
            made[name] = column_value(conn, table, column, rules.get(name))
    for name, ref in itself.items():
        if ref not in made:
            raise SeedError(f"{table}.{name} references {table}.{ref}, which the database "
                            "fills itself, and may not be NULL: rollbook cannot make a row "
                            "that references itself.", hint=SEED_HINT)
        made[name] = made[ref]
    targets = [sql.Identifier(name) for name in made]
    values = list(made.values())
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
