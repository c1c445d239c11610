"""Two small real tables for the plan and time verdicts: `items` (20 rows) and `big` (50,000)."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg

from rollbook.pg.connect import connect


def items_and_big(dsn: str) -> Iterator[psycopg.Connection]:
    """Create and analyze both tables, then yield a read-only connection to them."""
    with connect(dsn) as rw:
        rw.execute("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)")
        rw.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g")
        rw.execute("CREATE TABLE big (id int PRIMARY KEY, label text NOT NULL)")
        rw.execute("INSERT INTO big SELECT g, repeat('x', 80) || g"
                   " FROM generate_series(1, 50000) g")
        rw.execute("ANALYZE items; ANALYZE big")
    with connect(dsn, read_only=True) as ro:
        yield ro
