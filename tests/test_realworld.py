"""realworld/: the pg_dump oracle (realworld/pgdump.py) on a real server, shown seeing what it
must and setting aside the rows a drill wrote; and a tiny-scale smoke of realworld/run on
optuna (pinned in the test extras): two revisions rehearsed by profile only, rollbook and
pg_dump agreeing on each, the true finding in RESULTS.md with its pg_dump lines; and the
oracle's verdict shown failing when rollbook leaves a difference out (planted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from realworld import oracle, pgdump

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def parent_and_copy(pg_server):
    """A database with a table, its rows and a sequence, and a copy of it (TEMPLATE)."""
    parent, copy = (f"rw_{uuid.uuid4().hex[:8]}" for _ in range(2))
    pg_server.create_database(parent)
    with psycopg.connect(pg_server.dsn(parent), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL)")
        conn.execute("INSERT INTO t (v) SELECT 'row ' || g FROM generate_series(1, 5) g")
    pg_server.copy_database(parent, copy)
    yield parent, copy
    for name in (parent, copy):
        pg_server.drop_database(name)


def oracle_of(pg_server, parent: str, copy: str, kept: dict[str, int]) -> pgdump.Differences:
    tool = str(pg_server.installation.tool("pg_dump"))

    def dumps(name):
        dsn, env = pg_server.client_dsn(name), pg_server.client_env()
        return (pgdump.dump(tool, dsn, env, "--schema-only"),
                pgdump.dump(tool, dsn, env, "--data-only"))

    before, after = dumps(parent), dumps(copy)
    return pgdump.compare(before[0], after[0], before[1], after[1], kept)


@pytest.mark.parametrize("change, kept, subjects", [
    ("INSERT INTO t (v) VALUES ('written'), ('written too')", {"t": 2}, set()),
    ("INSERT INTO t (v) VALUES ('written'), ('written too')", {"t": 1}, {("data", "t")}),
    ("UPDATE t SET v = 'changed' WHERE id = 3", {}, {("data", "t")}),
    ("ALTER TABLE t ALTER COLUMN v TYPE varchar(50)", {}, {("schema", "t")}),
    ("CREATE INDEX t_v_idx ON t (v)", {}, {("schema", "t")}),
    ("CREATE TYPE mood AS ENUM ('ok')", {}, {("schema", "type mood")}),
    ("SELECT setval('t_id_seq', 2)", {}, {("data", "sequence t_id_seq")}),
], ids=["written-aside", "written-not-all-kept", "row-changed", "column-type", "index",
        "type", "sequence-back"])
def test_the_pg_dump_oracle_sees_each_difference_and_sets_written_rows_aside(
        pg_server, parent_and_copy, change, kept, subjects):
    parent, copy = parent_and_copy
    with psycopg.connect(pg_server.dsn(copy), autocommit=True) as conn:
        conn.execute(change)
    found = oracle_of(pg_server, parent, copy, kept)
    assert found.subjects() == subjects
    for lines in [*found.schema.values(), *found.data.values()]:
        assert lines and all(line.startswith(("- ", "+ ", "(")) for line in lines)


def test_rollbook_lines_name_the_subjects_pg_dump_names():
    lines = ["column experiment_tags.value: type character varying(5000) -> text",
             "index t_v_idx: extra (not expected; btree (v))",
             "constraint jobs_pkey on jobs: missing (expected; PRIMARY KEY (id))",
             "type mood: extra (not expected; ENUM ('ok'))",
             "content: jobs: jobs: baseline rows (all rows) changed: ...",
             "row count: runs: runs: 4 rows, expected 5 (5 baseline + 0 kept): 1 rows lost"]
    assert oracle.rollbook_subjects(lines, {"t_v_idx": "t"}) == {
        ("schema", "experiment_tags"), ("schema", "t"), ("schema", "jobs"),
        ("schema", "type mood"), ("data", "jobs"), ("data", "runs")}


def test_realworld_run_smoke_optuna_two_revisions(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "realworld" / "run"), "--projects", "optuna",
         "--revisions", "v1.2.0.a,v1.3.0.a", "--venv", "current", "--output-dir", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "results-optuna.jsonl").read_text()
             .splitlines()]
    assert [(line["revision"], line["compared"], line["agree"]) for line in lines] == [
        ("v1.2.0.a", True, True), ("v1.3.0.a", True, True)]
    results = (out / "RESULTS.md").read_text()
    assert "| optuna | 5.1.0 | 2 | 2 | 0 | 0 | 1 | 0 |" in results
    # the true finding: v1.3.0.a's downgrade writes a system attribute per trial back
    assert "- **v1.3.0.a** (downgrade to v1.2.0.a)" in results
    assert "pg_dump data of trial_system_attributes:" in results

    # planted: rollbook leaving that difference out is a disagreement
    finding = lines[1]
    shown = {("data", t) for t in finding["pg_dump"]["data"]}
    assert oracle.rollbook_subjects(finding["rollbook"][1:], {}) == shown
    assert oracle.rollbook_subjects([], {}) != shown
