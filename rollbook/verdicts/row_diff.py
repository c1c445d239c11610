"""`rollbook diff-rows`: every changed, missing and added key of each table, from a baseline with
row digests (measure/row_digests.py) and the live database alone; and, where a second database
holds the old rows (a restored backup), the columns that differ for each changed key.

The keys come from the content verdict itself (content.compare_table: the table's digest, its
bisection, the sidecar merged with the differing ranges), so diff-rows and the content check
never disagree; rows beyond the baseline's largest key, which the verdict leaves out as written
since, are listed as added. A table gone from the database has every baseline row missing.
Values shown go through record/redact.py: a column whose name names a secret is masked whole.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint, row_digests, row_digests_read
from rollbook.measure.baseline import Baseline
from rollbook.measure.catalog import relation
from rollbook.record.evidence import as_text
from rollbook.record.redact import MASK, redact_text
from rollbook.verdicts import content
from rollbook.verdicts.measured import Measured

KINDS = ("changed", "missing", "added")
BATCH = 5_000  # keys per statement when the rows of changed keys are read


@dataclass
class ColumnChange:
    column: str
    old: str | None  # the value's text, redacted; None: SQL NULL
    new: str | None
    absent: str | None = None  # "old" or "new": the column is not in that database's table


@dataclass
class TableDiff:
    """One table's differing keys; `columns`: for changed keys, what differs (with --against);
    `why`: why the table could not be compared (then the lists say only what could be)."""

    table: str
    key: tuple[str, ...]
    changed: list[Any] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)
    added: list[Any] = field(default_factory=list)
    columns: dict[Any, list[ColumnChange]] = field(default_factory=dict)
    # changed keys whose --against row is not the baseline's (its hash differs from the sidecar)
    not_baseline: set[Any] = field(default_factory=set)
    # changed keys --against does not hold
    absent_old: set[Any] = field(default_factory=set)
    why: str | None = None
    sql: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.changed) + len(self.missing) + len(self.added)

    def records(self) -> list[dict[str, Any]]:
        """One record a key (in KINDS order), and one for a table that could not be compared."""
        found = []
        if self.why is not None:
            found.append({"table": self.table, "kind": "not compared", "reason": self.why})
        for kind in KINDS:
            for key in getattr(self, kind):
                record = {"table": self.table, "kind": kind, "key_columns": list(self.key),
                          "key": key}
                if kind == "changed" and (self.columns or self.absent_old):
                    record.update(_column_fields(self, key))
                found.append(record)
        return found


def _column_fields(diff: TableDiff, key: Any) -> dict[str, Any]:
    if key in diff.absent_old:
        return {"columns": None, "note": "the --against database holds no row of this key"}
    fields: dict[str, Any] = {"columns": [
        {k: v for k, v in vars(c).items() if v is not None or k in ("old", "new")}
        for c in diff.columns.get(key, [])]}
    if key in diff.not_baseline:
        fields["note"] = "the --against row is not the baseline's row either"
    return fields


def diff_table(conn: psycopg.Connection, baseline: Baseline, table: str) -> TableDiff:
    """`table`'s changed, missing and added keys against the baseline's row digests."""
    layout = baseline.row_layout(table)
    found = TableDiff(table, baseline.whole_key(table))
    if layout is None:
        found.why = "the baseline kept no row digests for it"
        return found
    columns = fingerprint.table_columns(conn, table)
    if columns is None:
        found.missing = [key for key, _ in row_digests_read.kept_rows(baseline.rows_path, layout)]
        found.why = "the table does not exist: every baseline row is missing"
        return found
    result = content.compare_table(Measured(conn, baseline), table)
    found.sql += result.sql
    named = result.observed.get("rows")
    if named is not None:
        found.changed, found.missing, found.added = (list(named[k]) for k in KINDS)
    if not result.ok and not len(found):  # unmeasurable, or the digests disagree with the rows
        found.why = result.summary
        return found
    by_key = baseline.range_key(table)
    if by_key is not None and columns.get(by_key[0]) is not None:
        beyond = sql.SQL("{} > {}").format(sql.Identifier("t", by_key[0]),
                                           sql.Literal(by_key[1]))
        found.added += [key for key, _ in row_digests_read.live_rows(
            conn, table, columns, layout, baseline.digest_algorithm, beyond, found.sql)]
    return found


def _rows(conn: psycopg.Connection, table: str, layout: row_digests.Layout, algorithm: str,
          keys: list[Any]) -> dict[Any, tuple[dict[str, Any], int]]:
    """key -> (the row as JSON, its hash) of each of `keys` the table holds, under pinned output
    settings."""
    columns = fingerprint.table_columns(conn, table) or {}
    form = layout.keys
    found = {}
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        for start in range(0, len(keys), BATCH):
            statement = sql.SQL("SELECT {k}, to_jsonb(t), {h} FROM {t} AS t WHERE {among}"
                                ).format(k=form.line(form.order()), among=form.among(
                                    keys[start:start + BATCH]), t=relation(table),
                                    h=fingerprint.row_hash(columns, algorithm))
            for line, row, digest in conn.execute(as_text(statement, conn)).fetchall():
                found[form.parse(line)] = (row, int(digest))
    return found


def add_columns(diff: TableDiff, old_conn: psycopg.Connection, new_conn: psycopg.Connection,
                baseline: Baseline) -> None:
    """For each changed key of `diff`, the columns whose values differ between the old rows
    (`old_conn`, e.g. a restored backup) and the live ones, values redacted."""
    layout = baseline.row_layout(diff.table)
    if not diff.changed or layout is None:
        return
    algorithm = baseline.digest_algorithm
    if fingerprint.table_columns(old_conn, diff.table) is None:
        diff.absent_old = set(diff.changed)
        return
    old = _rows(old_conn, diff.table, layout, algorithm, diff.changed)
    new = _rows(new_conn, diff.table, layout, algorithm, diff.changed)
    kept = row_digests_read.kept_hashes(baseline.rows_path, layout, list(old))
    for key in diff.changed:
        if key not in old:
            diff.absent_old.add(key)
            continue
        if kept.get(key) != old[key][1]:
            diff.not_baseline.add(key)
        diff.columns[key] = column_changes(old[key][0], new.get(key, ({}, 0))[0])


def column_changes(old: dict[str, Any], new: dict[str, Any]) -> list[ColumnChange]:
    """The columns whose values differ, in name order, each value redacted."""
    changes = []
    for column in sorted(set(old) | set(new)):
        if column in old and column in new and old[column] == new[column]:
            continue
        absent = "old" if column not in old else "new" if column not in new else None
        changes.append(ColumnChange(column, shown(column, old.get(column)),
                                    shown(column, new.get(column)), absent))
    return changes


def secret_column(column: str) -> bool:
    """A column whose name names a secret (password, token, api_key, ...), as redact.py
    recognises a key that does."""
    probe = f"{column}=value"
    return redact_text(probe) != probe


def shown(column: str, value: Any) -> str | None:
    """A value as text for people and files: masked whole in a secret column, else with any
    secret it holds (a DSN's password, a bearer token) masked."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return MASK if secret_column(column) else redact_text(text)
