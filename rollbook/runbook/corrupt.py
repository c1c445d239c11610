"""Planted physical corruption, for drills and tests of the corruption trigger.

Only for a cluster the suite owns (embedded or local backend): the relation's file is scribbled
on while the server is stopped, so nothing cached hides the damage when it starts again.
"""
from __future__ import annotations

import psycopg

from rollbook.errors import ServerError

PAGE_SIZE = 8192


def scribble_on_page(server, dsn: str, relation: str, *, block: int = 1) -> str:
    """Overwrite half a page of `relation` (an index or table) on disk; returns what was done."""
    if not hasattr(server, "restart") or not hasattr(server, "data_dir"):
        raise ServerError(f"cannot corrupt {relation}: the {server.kind} backend's files are "
                          "not ours to touch.", hint="use --pg-backend embedded or local.")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        path = server.data_dir / conn.execute("SELECT pg_relation_filepath(%s)",
                                              (relation,)).fetchone()[0]

    def scribble() -> None:
        with path.open("r+b") as handle:
            handle.seek(block * PAGE_SIZE + PAGE_SIZE // 2)
            handle.write(b"\xff" * 512)

    server.restart(while_stopped=scribble)
    return f"512 bytes of block {block} of {relation} ({path.name}) overwritten"
