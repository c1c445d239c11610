"""The baseline manifest: the memory of "before" — schema, counts, fingerprints, sequences.

Written as JSON carrying the sha256 of its own canonical content, so a manifest edited or
truncated after the fact is refused, and carrying the identity of the database it came from.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psycopg

from rollbook.errors import BaselineError
from rollbook.measure import catalog, fingerprint, row_digests
from rollbook.record.manifest import sha256_file

FORMAT = "rollbook-baseline/1"


@dataclass
class TableBaseline:
    rows: int
    digest: str
    key: str | None = None  # the first column of the table's whole key
    key_max: int | None = None  # its max, when that column is an integer
    # the whole key (catalog.whole_keys): () for a table without one, whose rows are told apart
    # by every column; None in baselines written before it was recorded (Baseline.whole_key
    # reads it from their schema), and then left out so that they keep their sha256
    key_columns: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        body = {"rows": self.rows, "digest": self.digest, "key": self.key,
                "key_max": self.key_max}
        if self.key_columns is not None:
            body["key_columns"] = list(self.key_columns)
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "TableBaseline":
        found = cls(**body)
        if found.key_columns is not None:
            found.key_columns = tuple(found.key_columns)
        return found


@dataclass
class Baseline:
    database: dict[str, Any]
    revision: list[str]
    schema: dict[str, Any]
    tables: dict[str, TableBaseline]
    sequences: dict[str, int | None]
    plans: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    # What `rollbook snapshot` adds for the operator checks: time ranges, key-range digests.
    # Left out of the manifest when empty, so manifests written without it keep their sha256.
    facts: dict[str, Any] = field(default_factory=dict)
    # How the table digests were computed; None in manifests written before it was recorded
    # (those digested with md5), and then left out so that they keep their sha256.
    recorded_algorithm: str | None = None
    # Row digests (row_digests.py): being written (a snapshot not yet saved), and the sidecar
    # file once saved or loaded; facts["row_digests"] says where its blocks are, and its sha256.
    rows_writer: row_digests.Writer | None = field(default=None, compare=False, repr=False)
    rows_path: Path | None = field(default=None, compare=False)

    @property
    def digest_algorithm(self) -> str:
        return self.recorded_algorithm or fingerprint.LEGACY_ALGORITHM

    def to_dict(self) -> dict[str, Any]:
        body = {"format": FORMAT, "created_at": self.created_at, "database": self.database,
                "revision": self.revision, "schema": self.schema,
                "tables": {name: t.to_dict() for name, t in sorted(self.tables.items())},
                "sequences": self.sequences, "plans": self.plans}
        if self.facts:
            body["facts"] = self.facts
        if self.recorded_algorithm is not None:
            body["digest_algorithm"] = self.recorded_algorithm
        return body

    @property
    def sha256(self) -> str:
        return _digest(self.to_dict())

    def schema_snapshot(self) -> "catalog.Schema":
        return catalog.Schema.from_dict(self.schema)

    def whole_key(self, table: str) -> tuple[str, ...]:
        """The columns that tell `table`'s rows apart (every column of a table without a key):
        as recorded, or, in a baseline written before whole keys were, read from its schema."""
        key = self.tables[table].key_columns
        if key:  # as recorded: the schema is parsed only for a baseline without it
            return tuple(key)
        schema = self.schema_snapshot()
        return whole_key_of(schema, table,
                            catalog.whole_keys(schema).get(table, ()) if key is None else key)

    def range_key(self, table: str) -> tuple[str, int] | None:
        """(column, max) when the first column of `table`'s whole key is an integer: no row
        with a greater value existed at baseline, so rows with key <= max hold every baseline
        row (and, for a composite key, maybe newer ones: those are left out by whole key)."""
        before = self.tables.get(table)
        if before is None or before.key is None or before.key_max is None:
            return None
        if self.whole_key(table)[:1] != (before.key,):
            return None
        return before.key, before.key_max

    def row_layout(self, table: str) -> row_digests.Layout | None:
        """Where the sidecar keeps `table`'s row digests (None: no row digests for it)."""
        kept = self.facts.get("row_digests", {}).get("tables", {}).get(table)
        return row_digests.Layout.from_dict(kept) if kept and self.rows_path else None

    def save(self, path: Path, final_name: str | None = None) -> Path:
        """Write the manifest to `path` (and its row digests' sidecar beside it, named after
        `final_name`, the manifest's name once in place, when `path` is a partial file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        name = row_digests.sidecar_name(final_name or path.name)
        if self.rows_writer is not None:
            self.facts["row_digests"] = self.rows_writer.facts(name)
            self.rows_writer.place(path.parent / name)
            self.rows_writer.close()
            self.rows_writer, self.rows_path = None, path.parent / name
        elif self.rows_path is not None and self.rows_path != path.parent / name:
            shutil.copyfile(self.rows_path, path.parent / name)  # saved again elsewhere
            self.facts["row_digests"]["file"] = name
            self.rows_path = path.parent / name
        body = self.to_dict()
        body["sha256"] = _digest(body)
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


# (table, first column of its whole key, algorithm) -> (rows, digest, the key's max or None)
TableReader = Callable[[str, "str | None", str], tuple[int, str, "int | None"]]


def whole_key_of(schema: catalog.Schema, table: str, key: tuple[str, ...] | None
                 ) -> tuple[str, ...]:
    """`table`'s whole key, or every column of a table without a key."""
    return tuple(key or ()) or tuple(sorted(schema.tables.get(table, {})))


def capture(conn: psycopg.Connection, revision: list[str],
            schemas: tuple[str, ...] | None = None,
            schema: catalog.Schema | None = None, read: TableReader | None = None) -> Baseline:
    """Snapshot schema (or take `schema`, already snapshotted), per-table counts and
    fingerprints, key maxima and sequence values: one statement per table (count, digest and,
    for an integer key, its max), or `read`, which reads a table once for more than that."""
    schema = schema or catalog.snapshot(conn, schemas)  # None: every non-system schema
    keys = catalog.whole_keys(schema)
    algorithm = fingerprint.algorithm_for(conn)
    tables = {}
    for name in sorted(schema.tables):
        whole = keys.get(name, ())
        first = whole[0] if whole else None
        # an integer first key column bounds the baseline rows (uuid or text has no max())
        rows, digest, key_max = (read or _read(conn))(name, first, algorithm)
        tables[name] = TableBaseline(rows=rows, digest=digest, key=first, key_max=key_max,
                                     key_columns=whole)
    sequences = {catalog.display_name(nsp, name): value for nsp, name, value in conn.execute(
        "SELECT schemaname, sequencename, last_value FROM pg_sequences"
        " WHERE schemaname = ANY(%s) ORDER BY 1, 2", [list(schema.schemas)]).fetchall()}
    return Baseline(database=database_identity(conn), revision=list(revision),
                    schema=schema.to_dict(), tables=tables, sequences=sequences,
                    created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    recorded_algorithm=algorithm)


def _read(conn: psycopg.Connection) -> TableReader:
    def read(table: str, key: str | None, algorithm: str) -> tuple[int, str, int | None]:
        measured = fingerprint.measure_table(conn, table, algorithm=algorithm, key=key)
        return (measured.rows, measured.selected[1],
                measured.key_range[1] if measured.key_range else None)
    return read


def database_identity(conn: psycopg.Connection) -> dict[str, Any]:
    """What tells one database apart from another: cluster system identifier + database name."""
    row = conn.execute("SELECT (SELECT system_identifier::text FROM pg_control_system()),"
                       " current_database(), current_setting('server_version')").fetchone()
    return {"system_identifier": row[0], "name": row[1], "server_version": row[2]}


def load(path: Path) -> Baseline:
    """Read a manifest, refusing one that is missing, unreadable or altered."""
    if not path.exists():
        raise BaselineError(f"baseline file {path} does not exist.",
                            hint="create one with `rollbook snapshot --output FILE`.")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline file {path} is not valid JSON ({exc}).",
                            hint="restore it from where it was stored, or take a new one.") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BaselineError(f"{path} is not a rollbook baseline (format {FORMAT} expected).")
    recorded = body.pop("sha256", None)
    if recorded != _digest(body):
        raise BaselineError(f"baseline file {path} does not match its sha256: it was altered "
                            "or truncated after it was written.",
                            hint="use the original file, or take a new snapshot.")
    try:
        loaded = Baseline(database=body["database"], revision=body["revision"],
                          schema=body["schema"], sequences=body["sequences"],
                          tables={n: TableBaseline.from_dict(t)
                                  for n, t in body["tables"].items()},
                          plans=body.get("plans", {}), created_at=body.get("created_at", ""),
                          facts=body.get("facts", {}),
                          recorded_algorithm=_algorithm(path, body))
        loaded.schema_snapshot()  # an edited schema is refused here, not mid-run
        kept = loaded.facts.get("row_digests")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"baseline file {path} lacks a required field or holds a wrong "
                            f"one ({type(exc).__name__}: {exc}).",
                            hint="use the original file, or take a new snapshot.") from None
    if kept:
        _readable_format(path, kept)
        loaded.rows_path = _sidecar(path, kept)
    return loaded


def _readable_format(path: Path, kept: dict[str, Any]) -> None:
    """Row digests in a sidecar format newer than this rollbook's are refused, not misread."""
    newest = max((int(layout.get("format", 1)) for layout in kept.get("tables", {}).values()),
                 default=row_digests.FORMAT)
    if newest > row_digests.FORMAT:
        raise BaselineError(f"baseline {path} keeps row digests in format {newest}, newer than "
                            f"this rollbook reads (up to {row_digests.FORMAT}).",
                            hint="upgrade rollbook to the version that took it, or take a new "
                            "snapshot with this one.")


def _sidecar(path: Path, kept: dict[str, Any]) -> Path:
    """The row digests' sidecar the manifest names, refused when missing or altered."""
    sidecar = path.parent / Path(str(kept.get("file", ""))).name
    if not sidecar.is_file():
        raise BaselineError(f"baseline {path} keeps row digests in {sidecar}, which does not "
                            "exist.", hint="put the file taken with it beside it, or take a "
                            "new snapshot.")
    if sha256_file(sidecar) != kept.get("sha256"):
        raise BaselineError(f"row digests {sidecar} do not match the sha256 baseline {path} "
                            "recorded: the file was altered or truncated after it was written.",
                            hint="use the original file, or take a new snapshot.")
    return sidecar


def _algorithm(path: Path, body: dict[str, Any]) -> str | None:
    algorithm = body.get("digest_algorithm")
    if algorithm is not None and algorithm not in fingerprint.ALGORITHMS:
        raise BaselineError(f"baseline file {path} digests rows with {algorithm!r}, which this "
                            f"rollbook does not know ({', '.join(fingerprint.ALGORITHMS)}).",
                            hint="retake it with `rollbook snapshot --output FILE`.")
    return algorithm


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
