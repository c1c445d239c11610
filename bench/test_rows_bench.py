"""Rows named from the baseline alone: the changed journal's key found from `vibes`' key-range
digests and row digests (what `rollbook snapshot` keeps) and `vibes_changed` alone, against
reladiff naming it with both databases live (bench/test_compare_bench.py); `rollbook snapshot`
with row digests against without; the sidecar's bytes per row."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_compare_bench import CHANGED_TABLE, KEY, _bench, _digest

from rollbook.measure import fingerprint, row_digests, snapshot
from rollbook.pg.connect import connect
from rollbook.settings.profile_files import load_profile
from rollbook.verdicts import content

ENVS = Path(__file__).resolve().parents[1] / "envs"


@pytest.fixture(scope="module")
def kept(pair, tmp_path_factory):
    """`vibes`' journals: key-range digests, and row digests in a sidecar file."""
    folder = tmp_path_factory.mktemp("rows")
    writer = row_digests.Writer()
    with connect(pair.dsn) as conn:
        leaves = content.capture_leaves(conn, CHANGED_TABLE, KEY, fingerprint.HASH_RECORD)
        writer.add(conn, CHANGED_TABLE, (KEY,), fingerprint.HASH_RECORD)
    path = folder / "baseline.rows"
    writer.place(path)
    writer.close()
    return leaves, path, row_digests.Layout.from_dict(writer.tables[CHANGED_TABLE].to_dict())


def rollbook_rows_named(b: str, leaves, path, layout) -> row_digests.Differences:
    """b's digest, bisection against the baseline's leaves, then b's rows of the differing
    ranges merged with the sidecar's: the changed keys, from the baseline alone."""
    rows, digest = _digest(b).selected
    with connect(b) as conn:
        ranges = content.bisect(conn, CHANGED_TABLE, leaves, leaves["hi"],
                                fingerprint.HASH_RECORD, (rows, int(digest, 16)))[1]
        return row_digests.compare(conn, path, CHANGED_TABLE, layout, fingerprint.HASH_RECORD,
                                   [(r["from"], r["to"]) for r in ranges])


def test_rollbook_rows_named(benchmark, repeats, pair, kept):
    found = _bench(benchmark, repeats, "rollbook: changed row's key named from the baseline "
                   "alone", rollbook_rows_named, pair.changed, *kept)
    assert (found.changed, found.missing, found.added) == ([pair.changed_key], [], [])
    benchmark.extra_info["named"] = f"{KEY} {found.changed[0]}"


def _take(dsn: str, rows: bool):
    profile = load_profile("prod.example", ENVS)
    with connect(dsn, read_only=True) as conn:
        taken = snapshot.take(conn, profile, rows=rows)
    if taken.rows_writer is not None:
        taken.rows_writer.close()
    return taken


@pytest.mark.parametrize("rows", ["with", "without"])
def test_snapshot(benchmark, repeats, pair, rows):
    taken = _bench(benchmark, repeats, f"rollbook snapshot, {rows} row digests", _take,
                   pair.dsn, rows == "with")
    total = sum(t.rows for t in taken.tables.values())
    benchmark.extra_info["rows"] = total
    if rows == "with":
        size = taken.rows_writer.size
        journals = taken.rows_writer.tables[CHANGED_TABLE]
        journal_bytes = sum(b[2] for b in journals.blocks)
        benchmark.extra_info["note"] = (
            f"sidecar {size:,} bytes, {size / total:.1f} bytes per row; journals "
            f"{journal_bytes / journals.rows:.1f} bytes per row")
        benchmark.extra_info["sidecar_bytes_per_row"] = size / total
