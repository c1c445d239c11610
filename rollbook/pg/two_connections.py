"""A list of statements' work shared out between two connections to one server: each item
goes to whichever connection is free, so two backends (the machine's two cores) work through
them, in the list's order of taking."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import psycopg

On = TypeVar("On")


def each_on_two(items: Iterable[Any], first: On,
                open_second: Callable[[], AbstractContextManager[On]],
                work: Callable[[On, Any], Any]) -> list[Any]:
    """`work(on, item)` for every item, `on` being `first` or what `open_second()` gives,
    whichever is free; the results in `items`' order. A failure on one side stops the other
    at its next item and is raised. No item: the second is never opened."""
    pending = list(enumerate(items))
    results: list[Any] = [None] * len(pending)
    if not pending:
        return results
    taking = threading.Lock()

    def take(on: On) -> None:
        while True:
            with taking:
                if not pending:
                    return
                index, item = pending.pop(0)
            results[index] = work(on, item)

    with open_second() as second, \
            ThreadPoolExecutor(1, thread_name_prefix="rollbook-second") as helper:
        beside = helper.submit(take, second)
        try:
            take(first)
        finally:
            with taking:
                pending.clear()
            beside.result()
    return results


LARGEST_FIRST_SQL = """
SELECT t.n FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, n)
LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
ORDER BY coalesce(c.relpages, 0) DESC, t.n
"""


def largest_first(conn: psycopg.Connection, relations: list[str]) -> list[int]:
    """The positions of `relations` (names as SQL writes them) ordered by their size in pages
    as the catalog last recorded it, the largest first, ties in their given order (one not
    found counts as empty): the order two connections take them in, so neither is left with a
    big one at the end."""
    if not relations:
        return []
    return [n - 1 for (n,) in conn.execute(LARGEST_FIRST_SQL, [relations]).fetchall()]
