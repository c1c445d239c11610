"""Baselines with key-range digests and row digests, as `rollbook snapshot` keeps them, of any
schema (the snapshot command itself needs a profile's Vibes queries): for the row digests and
diff-rows tests."""
from __future__ import annotations

from pathlib import Path

from rollbook.measure import baseline, catalog, row_digests, snapshot
from rollbook.pg.connect import connect
from rollbook.verdicts import content


def take(dsn: str, folder: Path, schema: str | None = None, leaves: int = 64,
         two_connections: bool = False) -> baseline.Baseline:
    """A baseline of `dsn` (after running `schema`) with key-range digests and row digests
    (written by the snapshot's one read of each table; with `two_connections`, the tables
    read over two at once), saved in `folder` as baseline.json and baseline.rows, and read
    back."""
    if schema is not None:
        with connect(dsn) as conn:
            conn.execute(schema)
    with connect(dsn, read_only=True) as conn:
        schema = catalog.snapshot(conn)
        writer = row_digests.Writer()
        second = (lambda: connect(dsn, read_only=True)) if two_connections else None
        before, _ = snapshot.read_tables(conn, schema, {}, leaves, writer, second)
        before.facts = {"leaves": content.capture_all(conn, before, schema, leaves=leaves)}
        before.rows_writer = writer
    return baseline.load(before.save(folder / "baseline.json"))
