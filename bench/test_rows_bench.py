"""Rows named from the baseline alone: `rollbook diff-rows`' verdict (verdicts/row_diff.py) naming
the changed journal from a `rollbook snapshot` of `vibes` (its key-range digests and row digests'
sidecar) and `vibes_changed` alone, against reladiff naming it with both databases live, in the
same run; `rollbook snapshot` with row digests against without; the sidecar's bytes per row."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_compare_bench import CHANGED_TABLE, KEY, _bench, reladiff_first

from rollbook.measure import baseline, snapshot
from rollbook.pg.connect import connect
from rollbook.settings.profile_files import load_profile
from rollbook.settings.target import checks_connection
from rollbook.verdicts import row_diff

ENVS = Path(__file__).resolve().parents[1] / "envs"
PROFILE = "prod.example"


def _take(dsn: str, rows: bool) -> baseline.Baseline:
    with connect(dsn, read_only=True) as conn:
        taken = snapshot.take(conn, load_profile(PROFILE, ENVS), rows=rows)
    if taken.rows_writer is not None:
        taken.rows_writer.close()
    return taken


@pytest.fixture(scope="module")
def saved(pair, tmp_path_factory) -> Path:
    """`rollbook snapshot` of `vibes`, with row digests, saved as a file."""
    with connect(pair.dsn, read_only=True) as conn:
        taken = snapshot.take(conn, load_profile(PROFILE, ENVS), rows=True)
    return taken.save(tmp_path_factory.mktemp("rows") / "baseline.json")


def rollbook_rows_named(path: Path, dsn: str) -> row_diff.TableDiff:
    """What `rollbook diff-rows --table journals` does: the baseline file loaded (its sidecar's
    sha256 checked), then over a checks connection the table's digest, bisection, the differing
    leaves' rows merged with the sidecar's, and the rows beyond the baseline's largest key."""
    known = baseline.load(path)
    with checks_connection(load_profile(PROFILE, ENVS), dsn) as conn:
        return row_diff.diff_table(conn, known, CHANGED_TABLE)


def test_rollbook_rows_named(benchmark, repeats, pair, saved):
    found = _bench(benchmark, repeats, "rollbook diff-rows: changed row's key named from the "
                   "baseline alone", rollbook_rows_named, saved, pair.changed)
    assert (found.changed, found.missing, found.added, found.why) == (
        [pair.changed_key], [], [], None)
    benchmark.extra_info["named"] = f"{KEY} {found.changed[0]}"


def test_reladiff_rows_named(benchmark, repeats, pair):
    """reladiff's first difference, every column, both databases live."""
    first = _bench(benchmark, repeats, "reladiff: changed row's key named, both databases live",
                   reladiff_first, pair.dsn, pair.changed)
    assert first is not None and int(first[1][0]) == pair.changed_key
    benchmark.extra_info["named"] = f"{KEY} {first[1][0]}"


@pytest.mark.parametrize("rows", ["with", "without"])
def test_snapshot(benchmark, interleaved, pair, rows):
    """With and without row digests in the same rounds, alternating which goes first."""
    name = f"test_snapshot[{rows}]"
    measured = interleaved.rounds({"test_snapshot[with]": lambda: _take(pair.dsn, True),
                                   "test_snapshot[without]": lambda: _take(pair.dsn, False)})
    taken = interleaved.record(benchmark, name, measured)[-1]
    benchmark.extra_info["figure"] = f"rollbook snapshot, {rows} row digests"
    total = sum(t.rows for t in taken.tables.values())
    benchmark.extra_info["rows"] = total
    if rows == "with":
        size = taken.rows_writer.size
        journals = taken.rows_writer.tables[CHANGED_TABLE]
        journal_bytes = sum(b[2] for b in journals.blocks)
        benchmark.extra_info["note"] = (
            f"sidecar {size:,} bytes, {size / total:.1f} bytes per row; journals "
            f"{journal_bytes / journals.rows:.1f} bytes per row")
        benchmark.extra_info["measures"] = [
            ["sidecar bytes per row, every table (bar: 20)", f"{size / total:.1f}"],
            ["sidecar bytes per row, journals", f"{journal_bytes / journals.rows:.1f}"]]
