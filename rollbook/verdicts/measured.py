"""One run's measurements, each taken once: a table's count, digest, key range and time range
(one statement per table), the orphan search of each foreign key, and the live schema compared
with the baseline's.

The counts, content and time-range verdicts read the same table measurement; the orphan
checks and the orphan trigger read the same orphan results; the schema checks and the
Migration Incomplete trigger the same schema comparison. `pytest checks/` keeps one per
session (the `measured` fixture); the drill's validation and `rollbook assess` one per run.
"""
from __future__ import annotations

import psycopg

from rollbook.measure import fingerprint
from rollbook.measure.baseline import Baseline, TableBaseline
from rollbook.measure.catalog.base import display_name
from rollbook.measure.memo import InMemory
from rollbook.pg import role
from rollbook.record.evidence import CheckResult
from rollbook.verdicts import orphans, schema

# table -> (the whole key's columns, fingerprint.key_text of rows to leave out)
LeaveOut = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]


class Measured:
    """Measurements of one database for one run, against an optional baseline."""

    def __init__(self, conn: psycopg.Connection, baseline: Baseline | None,
                 time_columns: dict[str, str] | None = None,
                 chunked: frozenset[str] = frozenset(), server: str | None = None,
                 memo: InMemory | None = None,
                 leave_out: LeaveOut | None = None):
        self.conn, self.baseline = conn, baseline
        # the server `conn` reaches, named in the content chunks' results when several share
        # them (a primary and its replicas); None: the one server of the run
        self.server = server
        self.time_columns = dict(time_columns or {})
        # tables whose content is digested in key-range chunks (content.plan_chunks): their
        # table statement counts the baseline rows without hashing them
        self.chunked = chunked
        self.algorithm = (baseline.digest_algorithm if baseline is not None
                          else fingerprint.algorithm_for(conn))
        # each measurement taken once per run: in this process, or across the run's xdist
        # workers when they share a memo folder
        self._memo = memo if memo is not None else InMemory()
        # table -> (whole key's columns, key_text of rows): rows written since the baseline that
        # no key range tells apart, left out of its baseline rows (fingerprint.measure_table)
        self.leave_out = dict(leave_out or {})

    @property
    def memo(self) -> InMemory:
        """Where each measurement is kept: a second Measured of the same database state (on
        another connection) that shares it takes none twice."""
        return self._memo

    def before(self, table: str) -> TableBaseline | None:
        return self.baseline.tables.get(table) if self.baseline is not None else None

    def baseline_key_type(self, table: str) -> str | None:
        """The type the baseline recorded for `table`'s key column."""
        before = self.before(table)
        if before is None or not before.key:
            return None
        column = self.baseline.schema_snapshot().tables.get(table, {}).get(before.key)
        return column.type if column is not None else None

    def table(self, table: str) -> fingerprint.TableMeasurement:
        """`table` measured once: with a baseline row count, its baseline rows (key <= the
        baseline's max key, or every row for a table without an integer key) are counted and
        digested; without one, it is only counted."""
        return self._memo.get(("table", table), lambda: self._measure(table))

    def hidden(self, table: str) -> str | None:
        """The "could not verify" line when row-level security may hide rows of `table` from
        the checks' role (read once per run), else None: never count what the role sees as
        what the table holds."""
        return self._memo.get(("row-level security",), lambda: {
            display_name(*name): line for name, line in role.rls_hidden(self.conn).items()}
        ).get(table)

    def _measure(self, table: str) -> fingerprint.TableMeasurement:
        hidden = self.hidden(table)
        if hidden is not None:
            return fingerprint.TableMeasurement(table, self.algorithm, error=hidden)
        before = self.before(table)
        by_key = self.baseline.range_key(table) if before is not None else None
        try:
            return fingerprint.measure_table(
                self.conn, table, algorithm=self.algorithm,
                key=by_key[0] if by_key else None, upto=by_key[1] if by_key else None,
                digest=before is not None and before.rows > 0,
                time_column=self.time_columns.get(table), hash_rows=table not in self.chunked,
                leave_out=self.leave_out.get(table))
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return fingerprint.TableMeasurement(table, self.algorithm, error=first)

    def chunk(self, table: str, key: str, lo: int | None, hi: int) -> tuple[int, int, str]:
        """(count, digest, statement) of `table`'s rows with lo <= key <= hi, measured once."""
        return self._memo.get(("chunk", table, lo, hi), lambda: fingerprint.measure_range(
            self.conn, table, key, lo, hi, self.algorithm, self.leave_out.get(table)))

    def schema(self) -> schema.Comparison | None:
        """The live schema snapshotted as the baseline's was taken (its schemas and kinds) and
        compared with it, once; None without a baseline."""
        if self.baseline is None:
            return None
        return self._memo.get(("schema",), lambda: schema.compare(
            self.conn, self.baseline.schema_snapshot()))

    def orphans(self, fk: orphans.ForeignKey) -> CheckResult:
        """The orphan search of `fk`, run once; "could not verify" when row-level security may
        hide rows of either table."""
        hidden = (self.hidden(display_name(fk.schema, fk.table))
                  or self.hidden(display_name(fk.ref_schema, fk.ref_table)))
        if hidden is not None:
            return CheckResult(f"orphans: {fk.describe()}", False, hidden, [],
                               {"foreign_key": fk.name, "error": hidden})
        return self._memo.get(("orphans", fk), lambda: orphans.find_orphans(self.conn, fk))
