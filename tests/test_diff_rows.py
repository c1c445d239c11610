"""`rollbook diff-rows` against a real PostgreSQL: planted changed, missing and added rows named
exactly as SQL's EXCEPT between the baseline's database and the live one names them (composite
keys, odd names, a dropped table), the columns that differ as jsonb_each compares the two rows,
secrets masked, the live database unchanged, bad input refused in one line with nothing
written."""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from examples.checkrun import ROOT, database_state, snapshot, vibes_copy
from examples.row_baselines import take
from psycopg import sql

from rollbook import cli, diff_rows
from rollbook.measure import fingerprint
from rollbook.pg.connect import connect

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, password_hash text, api_token text,
                       note text);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'scrypt$' || md5(g::text),
  'tok-' || md5(g::text), 'n' || g FROM generate_series(1, 3000) g WHERE g <> 2000;
CREATE TABLE "Odd ""Name"" tbl" ("Key Col" int PRIMARY KEY, "Mixed Case" text, "with space" numeric);
INSERT INTO "Odd ""Name"" tbl" SELECT g, 'v' || g, g FROM generate_series(1, 500) g;
CREATE TABLE models (workspace text NOT NULL, name text NOT NULL, note text,
                     PRIMARY KEY (workspace, name));
INSERT INTO models SELECT 'default', 'model-' || g, 'n' || g FROM generate_series(1, 300) g;
INSERT INTO models VALUES (E'tab\\there', 'quote"d, (paren)', 'odd key');
CREATE TABLE gone (id int PRIMARY KEY);
INSERT INTO gone SELECT generate_series(1, 5);
"""
SECRET = "hunter2-in-a-url"
PLANTED = f"""
UPDATE accounts SET note = note || ' edited' WHERE id BETWEEN 100 AND 114;
UPDATE accounts SET password_hash = 'scrypt$new-one' WHERE id = 42;
UPDATE accounts SET note = 'see postgresql://admin:{SECRET}@db.internal/vibes' WHERE id = 99;
DELETE FROM accounts WHERE id IN (3, 1500);
INSERT INTO accounts VALUES (2000, 'back@example.com', 'x', 'y', 'back'),
                            (3001, 'new@example.com', 'x', 'y', 'new'),
                            (9000, 'later@example.com', 'x', 'y', 'later');
UPDATE "Odd ""Name"" tbl" SET "Mixed Case" = 'changed' WHERE "Key Col" = 250;
DELETE FROM "Odd ""Name"" tbl" WHERE "Key Col" = 1;
INSERT INTO "Odd ""Name"" tbl" VALUES (501, 'new', 1);
UPDATE models SET note = 'edited' WHERE name = 'model-7';
DELETE FROM models WHERE workspace = E'tab\\there';
INSERT INTO models VALUES ('other', 'model-7', 'n7');
DROP TABLE gone;
"""
ODD = '"Odd ""Name"" tbl"'  # as the baseline names it: its SQL name
# table -> its whole key as the sidecar keeps it: an integer column, or the row text of the key
KEYS = {"accounts": sql.SQL("t.id"), ODD: sql.SQL('t."Key Col"'),
        "models": fingerprint.key_text(("workspace", "name")), "gone": sql.SQL("t.id")}


def _copy_database(pg_server, template: str) -> tuple[str, str]:
    name = f"rb_{uuid.uuid4().hex[:12]}"
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    return name, pg_server.dsn(name)


@pytest.fixture(scope="module")
def planted(pg_server, tmp_path_factory):
    """(live DSN, old DSN, baseline path): the baseline taken of `live`, `old` a copy of it
    then, and `live` changed by PLANTED since."""
    folder = tmp_path_factory.mktemp("diff_rows")
    live_name = f"rb_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(live_name)
    live = pg_server.dsn(live_name)
    take(live, folder, SCHEMA, leaves=16)
    old_name, old = _copy_database(pg_server, live_name)
    with connect(live) as conn:
        conn.execute(PLANTED)
    try:
        yield live, old, folder / "baseline.json"
    finally:
        pg_server.drop_database(live_name)
        pg_server.drop_database(old_name)


def run(*argv: str) -> int:
    return cli.main(["diff-rows", "--env", "prod.example", "--envs-dir", str(ROOT / "envs"),
                     *argv])


def oracle(old: str, live: str, table: str) -> dict[str, set]:
    """changed, missing and added keys of `table` by SQL's EXCEPT: the live table's rows copied
    into the old database beside its own, then each side EXCEPT the other."""
    name = sql.SQL(f"public.{table}")  # output settings pinned: search_path is empty
    with connect(live) as src:
        exists = src.execute("SELECT to_regclass(%s) IS NOT NULL",
                             [f"public.{table}"]).fetchone()[0]
        rows = (src.execute(sql.SQL("SELECT * FROM {}").format(name)).fetchall()
                if exists else [])
    key = KEYS[table]
    with connect(old) as conn, conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        conn.execute(sql.SQL("CREATE TEMP TABLE now_rows (LIKE {})").format(name))
        with conn.cursor().copy("COPY now_rows FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

        def keys(a: sql.Composable, b: sql.Composable) -> set:
            return {r[0] for r in conn.execute(sql.SQL(
                "SELECT {k} FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}) AS t").format(
                k=key, a=a, b=b)).fetchall()}

        gone_now = keys(name, sql.Identifier("now_rows"))
        new_now = keys(sql.Identifier("now_rows"), name)
        conn.execute("DROP TABLE now_rows")
    return {"changed": gone_now & new_now, "missing": gone_now - new_now,
            "added": new_now - gone_now}


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_keys_named_exactly_as_except_names_them(planted, tmp_path, capsys):
    live, old, baseline = planted
    out = tmp_path / "rows.jsonl"
    code = run("--dsn", live, "--baseline", str(baseline), "--format", "jsonl",
               "--output", str(out))
    assert code == cli.EXIT_NOT_VERIFIED, capsys.readouterr().err
    found = records(out)
    assert capsys.readouterr().out == out.read_text(encoding="utf-8")  # jsonl: every key
    for table in KEYS:
        expected = oracle(old, live, table)
        named = {kind: {r["key"] for r in found if r["table"] == table and r["kind"] == kind}
                 for kind in ("changed", "missing", "added")}
        assert named == expected, table
        assert any(expected.values()), f"nothing planted in {table}"
    assert {r["table"]: r["reason"] for r in found if r["kind"] == "not compared"} == {
        "gone": "the table does not exist: every baseline row is missing"}
    models = [r for r in found if r["table"] == "models"]
    assert {tuple(r["key_columns"]) for r in models} == {("workspace", "name")}


def _changes(found: list[dict], table: str) -> dict:
    return {r["key"]: {c["column"]: (c["old"], c["new"]) for c in r["columns"]}
            for r in found if r["table"] == table and r["kind"] == "changed"}


def oracle_columns(old: str, live: str, table: str, keys: list) -> dict:
    """key -> the columns whose jsonb values differ, by jsonb_each of both rows."""
    key = KEYS[table]
    with connect(live) as conn:
        rows = {r[0]: r[1] for r in conn.execute(sql.SQL(
            "SELECT {k}, to_jsonb(t) FROM {t} AS t").format(k=key, t=sql.SQL(table)))}
    with connect(old) as conn:
        return {k: {r[0] for r in conn.execute(sql.SQL(
            "SELECT a.key FROM jsonb_each(%s::jsonb) a JOIN jsonb_each((SELECT to_jsonb(t) FROM"
            " {t} AS t WHERE {k} = %s)) b USING (key) WHERE a.value IS DISTINCT FROM b.value"
        ).format(t=sql.SQL(table), k=key), [json.dumps(rows[k]), k])} for k in keys}


def test_against_names_the_columns_that_differ_secrets_masked(planted, tmp_path, capsys):
    live, old, baseline = planted
    out = tmp_path / "rows.jsonl"
    code = run("--dsn", live, "--baseline", str(baseline), "--against", old, "--format",
               "jsonl", "--output", str(out))
    assert code == cli.EXIT_NOT_VERIFIED
    printed = capsys.readouterr()
    found = records(out)
    for table in ("accounts", ODD):
        changes = _changes(found, table)
        assert {k: set(c) for k, c in changes.items()} == oracle_columns(
            old, live, table, list(changes)), table
    accounts = _changes(found, "accounts")
    assert accounts[42] == {"password_hash": ("***", "***")}
    assert accounts[99]["note"] == ("n99", "see postgresql://admin:***@db.internal/vibes")
    assert accounts[100]["note"] == ("n100", "n100 edited")
    assert _changes(found, ODD) == {250: {"Mixed Case": ("v250", "changed")}}
    assert _changes(found, "models") == {"(default,model-7)": {"note": ("n7", "edited")}}
    assert not any("note" in r for r in found)  # every --against row is the baseline's
    text = out.read_text() + printed.out + printed.err
    assert SECRET not in text and "scrypt$" not in text


def test_table_for_people_capped_on_screen_whole_in_the_output(planted, tmp_path, capsys):
    live, old, baseline = planted
    out = tmp_path / "rows.txt"
    code = run("--dsn", live, "--baseline", str(baseline), "--against", old, "--table",
               "accounts", "--output", str(out))
    assert code == cli.EXIT_NOT_VERIFIED
    screen = capsys.readouterr().out
    whole = out.read_text()
    changed = re.compile(r"^accounts +changed +\d+$", re.M)
    assert len(changed.findall(screen)) == diff_rows.SHOWN
    assert re.search(rf"^accounts +changed +… {17 - diff_rows.SHOWN} more$", screen, re.M)
    assert "every key with --output FILE" in screen and "more" not in whole
    assert len(changed.findall(whole)) == 17
    assert "1 tables compared with the baseline's row digests: 1 with differing rows (17 " \
           "changed, 2 missing, 3 added)" in screen
    assert screen.splitlines()[0].split() == ["TABLE", "KIND", "KEY", "COLUMN", "OLD", "NEW"]
    assert "postgresql://admin:***@db.internal/…" in screen  # cut at VALUE_WIDTH on screen
    assert "postgresql://admin:***@db.internal/vibes" in whole


def test_read_only_the_live_database_unchanged(planted, tmp_path):
    live, old, baseline = planted
    before = database_state(live), database_state(old)
    assert run("--dsn", live, "--baseline", str(baseline), "--against", old) == 1
    assert (database_state(live), database_state(old)) == before


def test_no_difference_exits_0_a_foreign_database_only_when_said(planted, capsys):
    _, old, baseline = planted
    assert run("--dsn", old, "--baseline", str(baseline)) == cli.EXIT_REFUSED
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--foreign-baseline" in err
    assert run("--dsn", old, "--baseline", str(baseline), "--foreign-baseline") == 0
    printed = capsys.readouterr()
    assert "4 tables compared with the baseline's row digests: 0 with differing rows" \
           in printed.out
    assert "baseline from another database" in printed.err


def _tampered(baseline: Path, folder: Path) -> Path:
    for path in (baseline, baseline.with_suffix(".rows")):
        (folder / path.name).write_bytes(path.read_bytes())
    data = bytearray((folder / "baseline.rows").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "baseline.rows").write_bytes(bytes(data))
    return folder / "baseline.json"


def _no_digests(baseline: Path, folder: Path) -> Path:
    from rollbook.measure import baseline as baseline_mod

    known = baseline_mod.load(baseline)
    known.facts.pop("row_digests")
    known.rows_path = None
    return known.save(folder / "plain.json")


BAD = {
    "tampered sidecar": (lambda b, f: ["--baseline", str(_tampered(b, f))],
                         "baseline.rows do not match the sha256"),
    "no row digests": (lambda b, f: ["--baseline", str(_no_digests(b, f))],
                       "kept no row digests"),
    "no baseline": (lambda b, f: [], "diff-rows needs a baseline"),
    "unknown table": (lambda b, f: ["--baseline", str(b), "--table", "nope"],
                      "--table nope: not in baseline"),
    "output folder missing": (lambda b, f: ["--baseline", str(b), "--output",
                                            str(f / "no" / "rows.txt")], "does not exist"),
    "output exists": (lambda b, f: ["--baseline", str(b), "--output", str(f / "kept.txt")],
                      "already exists"),
    "against unreachable": (lambda b, f: ["--baseline", str(b), "--against",
                                          f"host=127.0.0.1 port=1 user=u password={SECRET}"
                                          " dbname=x connect_timeout=2"], "cannot connect"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_one_line_nothing_written(planted, tmp_path, capsys, case):
    live, _, baseline = planted
    make_argv, said = BAD[case]
    (tmp_path / "kept.txt").write_text("the operator's file\n")
    argv = make_argv(baseline, tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code = run("--dsn", live, *argv)
    printed = capsys.readouterr()
    assert code == cli.EXIT_REFUSED
    lines = printed.err.splitlines()
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in printed.err, printed.err
    assert SECRET not in printed.err + printed.out and printed.out == ""
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_vibes_after_rollbook_snapshot_as_the_readme_says(pg_server, tmp_path, capsys):
    """`rollbook snapshot` of Vibes, a copy of it then as the restored backup, a journal's title
    and a user's password hash changed since: diff-rows names both keys and columns, the
    hash masked."""
    name, dsn = vibes_copy(pg_server)
    backup = None
    try:
        path = snapshot(dsn, tmp_path / "pre_migration_baseline.json")
        backup, restored = _copy_database(pg_server, name)
        with connect(dsn) as conn:
            journal, user = conn.execute("SELECT max(id), max(user_id) FROM journals").fetchone()
            conn.execute("UPDATE journals SET title = 'rewritten' WHERE id = %s", [journal])
            conn.execute("UPDATE users SET password_hash = 'leaked' WHERE id = %s", [user])
        capsys.readouterr()
        assert run("--dsn", dsn, "--baseline", str(path), "--against", restored, "--format",
                   "jsonl") == cli.EXIT_NOT_VERIFIED
        printed = capsys.readouterr()
        found = [json.loads(line) for line in printed.out.splitlines()]
        assert [(r["table"], r["kind"], r["key"]) for r in found] == [
            ("journals", "changed", journal), ("users", "changed", user)], printed.err
        # Vibes' trigger stamps updated_at on every UPDATE
        assert [c["column"] for c in found[0]["columns"]] == ["title", "updated_at"]
        assert found[0]["columns"][0]["new"] == "rewritten"
        assert found[1]["columns"] == [{"column": "password_hash", "old": "***", "new": "***"}]
        assert "leaked" not in printed.out + printed.err
    finally:
        pg_server.drop_database(name)
        if backup is not None:
            pg_server.drop_database(backup)
