"""Content: the rows that existed at baseline hash as they did then.

On a mismatch the failure names the key ranges whose rows differ, found by bisection over the
baseline's key-range digests (a few SQL sums, no rows downloaded). A large table is compared
in key-range chunks, one test item each, so `-n N` spreads it over the workers.
"""
from __future__ import annotations

import pytest

from rollbook.verdicts import content

pytestmark = pytest.mark.check


def test_baseline_rows_unchanged(content_run, checks_baseline, content_chunk, check):
    """Row count and content digest of the baseline rows (of one key-range chunk of a large
    table, on the server it is spread to) equal the baseline's."""
    table = content_chunk.table
    if checks_baseline is None:
        pytest.skip("no baseline: content is compared with the fingerprints of a baseline "
                    "(rollbook snapshot, then --baseline FILE)")
    if table not in checks_baseline.tables:
        pytest.skip(f"{table} is not in the baseline (a table added since)")
    check(content.compare_chunk(content_run, content_chunk))
