"""Baselines with key-range digests and row digests, as `rollbook snapshot` keeps them, of any
schema (the snapshot command itself needs a profile's Vibes queries): for the row digests and
diff-rows tests."""
from __future__ import annotations

from pathlib import Path

from rollbook.measure import baseline, row_digests
from rollbook.pg.connect import connect
from rollbook.verdicts import content


def take(dsn: str, folder: Path, schema: str | None = None, leaves: int = 64
         ) -> baseline.Baseline:
    """A baseline of `dsn` (after running `schema`) with key-range digests and row digests,
    saved in `folder` as baseline.json and baseline.rows, and read back."""
    if schema is not None:
        with connect(dsn) as conn:
            conn.execute(schema)
    with connect(dsn, read_only=True) as conn:
        before = baseline.capture(conn, [])
        before.facts = {"leaves": content.capture_all(conn, before, before.schema_snapshot(),
                                                      leaves=leaves)}
        before.rows_writer = row_digests.Writer()
        for table in sorted(before.tables):
            before.rows_writer.add(conn, table, before.whole_key(table), before.digest_algorithm)
    return baseline.load(before.save(folder / "baseline.json"))
