"""Per-table row counts and content fingerprints, each computed by one SQL statement.

A row's hash is the first 64 bits of md5 over the row's text, its columns taken in name order;
the table's digest is the sum of its row hashes modulo 2^64. A sum does not depend on the
physical order of the rows, and unlike XOR a duplicated row does not cancel itself out. The row
count travels beside the digest. Python receives two or four numbers per table, never rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollbook.errors import RollbookError
from rollbook.measure.catalog import display_name
from rollbook.record.evidence import CheckResult, as_text

# Row text must not depend on the session: pin every setting that changes how values print.
PIN_OUTPUT_SETTINGS = """\
SELECT set_config('search_path', '', true), set_config('TimeZone', 'UTC', true),
       set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
       set_config('extra_float_digits', '1', true), set_config('bytea_output', 'hex', true)"""

TABLE_COLUMNS_SQL = """\
SELECT to_regclass(%(relation)s) IS NOT NULL,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = to_regclass(%(relation)s) AND a.attnum > 0
               AND NOT a.attisdropped),
       ARRAY(SELECT a.attname::text FROM pg_index ix
             JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ANY(ix.indkey)
             WHERE ix.indrelid = to_regclass(%(relation)s) AND ix.indisprimary)"""

SUM_OF_ROW_HASHES = "coalesce(sum(('x' || left(md5({row}::text), 16))::bit(64)::bigint), 0)"
MODULUS = 2 ** 64


@dataclass(frozen=True)
class TableFingerprint:
    """Row count and content digest of a table, or of the rows with key in key_range.

    When a key is given without a range, the key's min and max at that moment are recorded as
    key_range, so the same rows can be fingerprinted again later (rows added since are left out).
    """

    table: str
    rows: int
    digest: str  # 16 hex digits
    schema: str = "public"
    key: str | None = None
    key_range: tuple[Any, Any] | None = None
    sql: str = field(default="", compare=False)  # the statement as sent, for the evidence

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["sql"]
        if self.key_range is not None:
            data["key_range"] = [_json_value(v) for v in self.key_range]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableFingerprint:
        key_range = data.get("key_range")
        return cls(data["table"], data["rows"], data["digest"], data.get("schema", "public"),
                   data.get("key"), tuple(key_range) if key_range is not None else None)

    @property
    def name(self) -> str:
        return display_name(self.schema, self.table)


def _json_value(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def _measure(conn: psycopg.Connection, table: str, schema: str, key: str | None,
             key_range: tuple[Any, Any] | None) -> TableFingerprint:
    relation = sql.Identifier(schema, table)
    with conn.transaction():
        conn.execute(PIN_OUTPUT_SETTINGS)
        exists, columns, primary_key = conn.execute(
            TABLE_COLUMNS_SQL, {"relation": as_text(relation, conn)}).fetchone()
        if not exists:
            raise RollbookError(f"table {display_name(schema, table)} does not exist.",
                                hint="check the table name and schema.")
        if key_range is not None and key is None:
            if len(primary_key) != 1:
                raise RollbookError(f"table {display_name(schema, table)} has no single-column"
                                    " primary key to restrict by key_range.",
                                    hint="pass key= explicitly.")
            key = primary_key[0]
        selected = [sql.SQL("count(*)"), digest_expression(columns)]
        where, params = sql.SQL(""), None
        if key is not None and key_range is None:
            selected.append(sql.SQL("min({k}), max({k})").format(k=sql.Identifier("t", key)))
        elif key is not None:
            where, params = _key_range_condition(sql.Identifier("t", key), key_range)
        statement = sql.SQL("SELECT {selected} FROM {relation} AS t{where}").format(
            selected=sql.SQL(", ").join(selected), relation=relation, where=where)
        result = conn.execute(statement, params or None).fetchone()
        # the evidence shows the statement with its bound values, so it can be run again
        statement_text = psycopg.ClientCursor(conn).mogrify(statement, params or None)
    if key is not None and key_range is None:
        key_range = (result[2], result[3])
    digest = format(int(result[1]) % MODULUS, "016x")
    return TableFingerprint(table, result[0], digest, schema, key, key_range, statement_text)


def digest_expression(columns: Iterable[str], alias: str = "t") -> sql.Composed:
    """The aggregate that digests rows of `alias`: their columns in name order, hashed, summed.

    Shared by every digest so that they all add up: the digests of disjoint key ranges sum
    (modulo 2^64) to the digest of their union.
    """
    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(
        sql.Identifier(alias, name) for name in sorted(columns)))
    return sql.SQL(SUM_OF_ROW_HASHES).format(row=row)


def _key_range_condition(key: sql.Identifier,
                         key_range: tuple[Any, Any]) -> tuple[sql.Composed, list[Any]]:
    """lo <= key <= hi; a None bound is open on that side, and (None, None), the range of a
    table that was empty, matches no rows."""
    lo, hi = key_range
    if lo is None and hi is None:
        return sql.SQL(" WHERE false"), []
    if lo is None:
        return sql.SQL(" WHERE {} <= %s").format(key), [hi]
    if hi is None:
        return sql.SQL(" WHERE {} >= %s").format(key), [lo]
    return sql.SQL(" WHERE {} BETWEEN %s AND %s").format(key), [lo, hi]


def fingerprint_table(conn: psycopg.Connection, table: str, *, schema: str = "public",
                      key: str | None = None,
                      key_range: tuple[Any, Any] | None = None) -> TableFingerprint:
    """Count and digest `table` in one statement; with key_range, only rows lo <= key <= hi.

    Without key, key_range restricts by the table's single-column primary key. With key and no
    key_range, the key's current min and max are recorded as the fingerprint's key_range.
    """
    return _measure(conn, table, schema, key, key_range)


def fingerprint_tables(conn: psycopg.Connection, tables: Iterable[str], *,
                       schema: str = "public",
                       keys: dict[str, str] | None = None) -> dict[str, TableFingerprint]:
    """Fingerprint each table (one statement each); keys maps table -> key column to record."""
    keys = keys or {}
    return {display_name(schema, t): fingerprint_table(conn, t, schema=schema, key=keys.get(t))
            for t in tables}


def compare_fingerprints(conn: psycopg.Connection,
                         expected: dict[str, TableFingerprint]) -> list[CheckResult]:
    """One result per table: do its rows (within the recorded key_range) match `expected`?"""
    return [_compare_one(conn, fp) for fp in expected.values()]


def _compare_one(conn: psycopg.Connection, expected: TableFingerprint) -> CheckResult:
    name = f"content of {expected.name}"
    scope = (f" with {expected.key} in [{expected.key_range[0]}, {expected.key_range[1]}]"
             if expected.key_range is not None else "")
    observed: dict[str, Any] = {"expected": expected.to_dict()}
    try:
        found = _measure(conn, expected.table, expected.schema, expected.key,
                                    expected.key_range)
    except (RollbookError, psycopg.ProgrammingError, psycopg.DataError) as exc:
        first = str(exc).strip().splitlines()[0]
        return CheckResult(name, False, f"{expected.name}: cannot fingerprint: {first}",
                           [PIN_OUTPUT_SETTINGS], observed)
    observed["found"] = found.to_dict()
    sql_text = [PIN_OUTPUT_SETTINGS, TABLE_COLUMNS_SQL, found.sql]
    if (found.rows, found.digest) == (expected.rows, expected.digest):
        return CheckResult(name, True, f"{expected.name}: {found.rows} rows{scope} match the"
                           f" baseline (digest {found.digest})", sql_text, observed)
    if found.rows != expected.rows:
        what = f"row count {expected.rows} -> {found.rows}"
    else:
        what = f"same row count ({found.rows}) but the content of at least one row changed"
    return CheckResult(name, False, f"{expected.name}: rows{scope} differ from the baseline:"
                       f" {what}, digest {expected.digest} -> {found.digest}. Hint: fingerprint"
                       " each half of the key range to narrow down the rows", sql_text, observed)
