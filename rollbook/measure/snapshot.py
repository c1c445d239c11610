"""`rollbook snapshot`: the baseline manifest of a live database, taken read-only.

On top of what the drill's baseline holds (schema, counts, fingerprints, key maxima, sequences,
revision) it records what the operator checks compare against: the oldest/newest timestamps,
the key-range digests that let a content mismatch be narrowed down, and the key queries'
plans and times (every run's time, their median and spread, the plan's shape and buffers),
and, below the profile's [content] row_digests_below rows or when asked, each row's key and hash
in a sidecar file (row_digests.py), so a content mismatch names its rows.
"""
from __future__ import annotations

import psycopg

from rollbook.measure import baseline, inventory, observation, plans, row_digests
from rollbook.pg import query_guard
from rollbook.runbook.migrations import current_revisions
from rollbook.settings.profile import Profile
from rollbook.verdicts import content, counts


def take(conn: psycopg.Connection, profile: Profile, leaves: int = content.LEAVES,
         rows: bool | None = None) -> baseline.Baseline:
    """Capture everything over `conn` (which should be a read-only checks connection); the
    profile's key queries are judged on its server before anything is read. Row digests are
    kept when `rows` says so, or (None) below the profile's row_digests_below rows."""
    query_guard.refuse(conn, profile.queries)
    taken = baseline.capture(conn, current_revisions(conn), profile.schemas)
    found = inventory.build(conn, profile, taken)
    schema = taken.schema_snapshot()
    taken.facts = {
        "time_ranges": counts.capture_time_ranges(
            conn, [(t.table, t.column) for t in found.time_columns]),
        "leaves": content.capture_all(conn, taken, schema, leaves),
    }
    total = sum(t.rows for t in taken.tables.values())
    if rows or (rows is None and total < profile.row_digests_below):
        taken.rows_writer = row_digests.Writer()
        for table in sorted(taken.tables):
            taken.rows_writer.add(conn, table, taken.whole_key(table), taken.digest_algorithm)
    taken.plans = plans.measure_for_baseline(conn, found.queries, profile.performance)
    monitored = observation.baseline_facts(conn, profile.monitoring)  # rates before
    if monitored:
        taken.facts["monitoring"] = monitored
    return taken
