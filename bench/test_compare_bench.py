"""Two databases' `journals` compared: rollbook's digests against reladiff (all columns, same
pair, same server), with no difference and with one changed row; and rollbook's digest of one
table against its floors, count(*) and converting every row to text."""
from __future__ import annotations

import reladiff
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from rollbook.measure import fingerprint
from rollbook.pg.connect import connect
from rollbook.verdicts import content

KEY = "id"
CHANGED_TABLE = "journals"  # the table bench/conftest.py changes one row of


def _digest(dsn: str) -> fingerprint.TableMeasurement:
    with connect(dsn) as conn:
        return fingerprint.measure_table(conn, CHANGED_TABLE, algorithm=fingerprint.HASH_RECORD,
                                         key=KEY)


def rollbook_verdict(a: str, b: str) -> bool:
    """True when both tables' digests (and row counts) are equal."""
    return _digest(a).selected == _digest(b).selected


def rollbook_named(a: str, b: str) -> list[dict]:
    """The key ranges of b that differ from a: a's key-range digests (what `rollbook snapshot`
    stores), b's digest, then bisection."""
    with connect(a) as conn:
        leaves = content.capture_leaves(conn, CHANGED_TABLE, KEY, fingerprint.HASH_RECORD)
    now = _digest(b)
    rows, digest = now.selected
    with connect(b) as conn:
        return content.bisect(conn, CHANGED_TABLE, leaves, leaves["hi"],
                              fingerprint.HASH_RECORD, (rows, int(digest, 16)))[1]


def _url(dsn: str) -> str:
    info = conninfo_to_dict(dsn)
    password = f":{info['password']}" if info.get("password") else ""
    return (f"postgresql://{info['user']}{password}@{info['host']}:{info['port']}/"
            f"{info['dbname']}")


def reladiff_first(a: str, b: str):
    """reladiff's first difference over every column (None: the tables are equal)."""
    with connect(a) as conn:
        columns = [c for c in fingerprint.table_columns(conn, CHANGED_TABLE) if c != KEY]
    left = reladiff.connect_to_table(_url(a), CHANGED_TABLE, KEY)
    right = reladiff.connect_to_table(_url(b), CHANGED_TABLE, KEY)
    return next(iter(reladiff.diff_tables(left, right, extra_columns=tuple(columns))), None)


def _bench(benchmark, repeats, figure, target, *args):
    result = benchmark.pedantic(target, args=args, rounds=repeats, iterations=1)
    benchmark.extra_info["figure"] = figure
    return result


def test_rollbook_same(benchmark, repeats, pair):
    assert _bench(benchmark, repeats, "rollbook: verdict, no difference", rollbook_verdict,
                  pair.dsn, pair.same)


def test_reladiff_same(benchmark, repeats, pair):
    assert _bench(benchmark, repeats, "reladiff: verdict, no difference", reladiff_first,
                  pair.dsn, pair.same) is None


def test_rollbook_changed(benchmark, repeats, pair):
    assert not _bench(benchmark, repeats, "rollbook: verdict, one changed row",
                      rollbook_verdict, pair.dsn, pair.changed)


def test_rollbook_changed_named(benchmark, repeats, pair):
    ranges = _bench(benchmark, repeats, "rollbook: changed row's key range named",
                    rollbook_named, pair.dsn, pair.changed)
    assert len(ranges) == 1 and ranges[0]["from"] <= pair.changed_key <= ranges[0]["to"]
    benchmark.extra_info["named"] = f"{KEY} {ranges[0]['from']}..{ranges[0]['to']}"


def test_reladiff_changed_named(benchmark, repeats, pair):
    """reladiff's verdict and the changed row's key come together: its first difference."""
    first = _bench(benchmark, repeats, "reladiff: verdict and changed row's key named",
                   reladiff_first, pair.dsn, pair.changed)
    assert first is not None and int(first[1][0]) == pair.changed_key
    benchmark.extra_info["named"] = f"{KEY} {first[1][0]}"


def _scalar(dsn: str, statement: sql.Composable):
    with connect(dsn) as conn:
        return conn.execute(statement).fetchone()[0]


def test_floor_count(benchmark, repeats, pair):
    statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(CHANGED_TABLE))
    assert _bench(benchmark, repeats, "floor: count(*)", _scalar, pair.dsn, statement) > 0


def test_floor_text(benchmark, repeats, pair):
    statement = sql.SQL("SELECT sum(length(t::text)) FROM {} AS t").format(
        sql.Identifier(CHANGED_TABLE))
    assert _bench(benchmark, repeats, "floor: every row to text", _scalar, pair.dsn,
                  statement) > 0


def test_digest_one_table(benchmark, repeats, pair):
    measured = _bench(benchmark, repeats, "rollbook: one table's digest", _digest, pair.dsn)
    assert measured.selected[0] == pair.seeded[CHANGED_TABLE]
