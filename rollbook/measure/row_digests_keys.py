"""How row digests hold a table's whole key: its form, the SQL that orders rows by it and writes
it as one line of a block, and that line read back as the value Python compares.

- "integer": one integer column; the key is its number.
- "integers": a composite key of integer columns; the key is a tuple of numbers, written
  "a,b". Python orders tuples as PostgreSQL orders the rows (a, b), negatives and bigints alike.
- "text": any other key, as its row text (fingerprint.key_text), ordered in the "C" collation,
  which orders as Python orders the strings' code points, whatever the columns' collation;
  written with the backslash, tab and newline escaped.

A key of either integer form with a unique btree index on exactly its columns, in key order,
ascending, is read along that index a block at a time, nothing sorted (read_form).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint
from rollbook.measure.catalog import relation
from rollbook.record.evidence import as_text

FORMS = ("integer", "integers", "text")

# a key's text with the backslash, tab and newline escaped, as one line of a block holds it
ESCAPED = sql.SQL(r"""replace(replace(replace({}, '\', '\\'), E'\t', '\t'), E'\n', '\n')""")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


@dataclass(frozen=True)
class KeyForm:
    form: str
    columns: tuple[str, ...]

    @classmethod
    def of(cls, columns: dict[str, str], key: tuple[str, ...]) -> "KeyForm":
        """The form of `key` over a table of `columns` (name -> type)."""
        if key and all(columns.get(c) in fingerprint.INTEGER_TYPES for c in key):
            return cls("integer" if len(key) == 1 else "integers", tuple(key))
        return cls("text", tuple(key))

    @property
    def numeric(self) -> bool:
        return self.form != "text"

    def order(self, alias: str = "t") -> list[sql.Composable]:
        """The expressions rows are ordered by, in order."""
        if self.form == "text":
            return [sql.SQL('{} COLLATE "C"').format(fingerprint.key_text(self.columns, alias))]
        return [sql.Identifier(alias, c) for c in self.columns]

    def line(self, ordered: list[sql.Composable]) -> sql.Composable:
        """A key's line, from its `ordered` expressions (order()'s, or columns holding them)."""
        if self.form == "text":
            return ESCAPED.format(ordered[0])
        return sql.SQL(" || ',' || ").join(sql.SQL("{}::text").format(o) for o in ordered)

    def parse(self, line: str) -> Any:
        if self.form == "integer":
            return int(line)
        if self.form == "integers":
            return tuple(map(int, line.split(",")))
        return unescape(line)

    def from_json(self, value: Any) -> Any:
        return tuple(value) if self.form == "integers" else value

    def compared(self, operator: str, key: Any, alias: str = "t") -> sql.Composed:
        """Rows whose key is `operator` (<, <=, =, >=, >) `key`: a row comparison for a
        composite key, which a btree index on it answers."""
        ordered = self.order(alias)
        values = key if self.form == "integers" else (key,)
        return sql.SQL("({}) {} ({})").format(
            sql.SQL(", ").join(ordered), sql.SQL(operator),
            sql.SQL(", ").join(sql.Literal(v) for v in values))

    def first_within(self, lo: int | None, hi: int | None, alias: str = "t"
                     ) -> tuple[list[sql.Composable], Any, Any]:
        """(the SQL conditions, and the bounds of keys as Python compares them) of the rows
        whose key's first column, of integers, is within lo..hi (None: unbounded): a key
        range of content's bisection."""
        column = sql.Identifier(alias, self.columns[0])
        conditions = [sql.SQL("{} {} {}").format(column, sql.SQL(op), sql.Literal(bound))
                      for op, bound in ((">=", lo), ("<=", hi)) if bound is not None]
        if self.form == "integers":  # (lo, -inf) <= (lo, b, ...) and (hi, b, ...) <= (hi, inf)
            lo = None if lo is None else (lo, -math.inf)
            hi = None if hi is None else (hi, math.inf)
        return conditions, lo, hi

    def among(self, keys: list[Any], alias: str = "t") -> sql.Composed:
        """Rows whose key is one of `keys`."""
        ordered = self.order(alias)
        if self.form != "integers":
            return sql.SQL("{} = ANY({})").format(ordered[0], sql.Literal(list(keys)))
        rows = sql.SQL(", ").join(
            sql.SQL("({})").format(sql.SQL(", ").join(sql.Literal(v) for v in key))
            for key in keys)
        return sql.SQL("({}) IN (VALUES {})").format(sql.SQL(", ").join(ordered), rows)


def unescape(text: str) -> str:
    """A key's text as ESCAPED wrote it, as its value."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def read_form(conn: psycopg.Connection, table: str, columns: dict[str, str],
              key: tuple[str, ...]) -> tuple[KeyForm, bool]:
    """(how `table`'s rows are kept by `key`, whether they are read along an index): a key of
    integers only when its columns are NOT NULL (a table without a key is told apart by every
    column, which may be NULL: kept as row text), read along an index when the table has a
    unique btree index on exactly its columns, in key order and ascending (then the rows after a
    key, in key order, are its next entries: none is skipped or seen twice block after block)."""
    form = KeyForm.of(columns, key)
    if not form.numeric:
        return form, False
    not_null, indexed = conn.execute(as_text(sql.SQL(
        "SELECT (SELECT count(*) FILTER (WHERE a.attnotnull) = {n} FROM pg_attribute a"
        " WHERE a.attrelid = {t}::regclass AND a.attname = ANY({columns})),"
        " EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_am am ON am.oid = c.relam"
        " WHERE i.indrelid = {t}::regclass AND am.amname = 'btree' AND i.indisunique"
        " AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = {n}"
        " AND array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY"
        " AS k(attnum, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " ORDER BY k.o LIMIT {n}) = {columns}"
        " AND (i.indoption::int2[])[0:{last}] = array_fill(0::int2, ARRAY[{n}]))").format(
        t=sql.Literal(as_text(relation(table), conn)), n=sql.Literal(len(form.columns)),
        last=sql.Literal(len(form.columns) - 1), columns=sql.Literal(list(form.columns))),
        conn)).fetchone()
    if not not_null:
        return KeyForm("text", form.columns), False
    return form, bool(indexed)
