"""Keys are whole keys: a composite primary key, a unique key used as the key, a table without
any key (every column). The baseline records the whole key; the rows a drill writes on a
revision are left out of the baseline's rows by it, so the counts and content see exactly the
baseline's rows. A baseline written before whole keys were recorded is still read."""
from __future__ import annotations

import json

import pytest

from rollbook.measure import baseline
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.revision_walk import _keys_written
from rollbook.runbook.revisions import ParentTemplate
from rollbook.verdicts import content, counts
from rollbook.verdicts.measured import Measured

SCHEMA = """
CREATE TABLE registered_models (workspace text NOT NULL DEFAULT 'default', name text NOT NULL,
                                description text, PRIMARY KEY (workspace, name));
CREATE TABLE aliases (model text NOT NULL, alias text NOT NULL, version int,
                      CONSTRAINT aliases_model_alias_key UNIQUE (model, alias));
CREATE TABLE audit (happened_at timestamptz, what text);
CREATE TABLE labels (model_id int NOT NULL, label text NOT NULL, PRIMARY KEY (model_id, label));
INSERT INTO registered_models (name) SELECT 'model-' || g FROM generate_series(1, 500) g;
INSERT INTO aliases SELECT 'model-' || g, 'champion', g FROM generate_series(1, 50) g;
INSERT INTO audit SELECT timestamptz '2024-01-01' + g * interval '1 hour', 'did ' || g
  FROM generate_series(1, 20) g;
INSERT INTO labels SELECT g, 'gold' FROM generate_series(1, 100) g;
"""
# 5 rows written on the revision into each: workspace 'default' as every baseline row has
WRITE = """
INSERT INTO registered_models (name) SELECT 'new-' || g FROM generate_series(1, 5) g;
INSERT INTO aliases SELECT 'model-' || g, 'challenger', g FROM generate_series(1, 5) g;
INSERT INTO audit SELECT timestamptz '2025-01-01' + g * interval '1 hour', 'did ' || g
  FROM generate_series(1, 5) g;
INSERT INTO labels SELECT g, 'silver' FROM generate_series(1, 5) g;
"""
TABLES = ("registered_models", "aliases", "audit", "labels")


@pytest.fixture
def dsn(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute(SCHEMA)
    return scratch_dsn


def taken(dsn) -> baseline.Baseline:
    with connect(dsn) as conn:
        return baseline.capture(conn, [])


def write_on_the_revision(dsn, before: baseline.Baseline):
    with connect(dsn, autocommit=True) as conn:
        xid = conn.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296").fetchone()[0]
        conn.execute(WRITE)
    parent = ParentTemplate("parent", before, {}, 0.0)
    return _keys_written(dsn, parent, {t: 5 for t in TABLES}, xid)


def judged(dsn, before, leave_out):
    with connect(dsn, read_only=True) as conn:
        run = Measured(conn, before, leave_out=leave_out)
        return {t: (counts.row_count(run, t, added=5), content.compare_table(run, t))
                for t in TABLES}


def test_the_baseline_records_whole_keys(dsn):
    tables = taken(dsn).tables
    assert tables["registered_models"].key_columns == ("workspace", "name")
    assert tables["aliases"].key_columns == ("model", "alias")
    assert tables["audit"].key_columns == ()
    assert tables["labels"].key_columns == ("model_id", "label")
    # the first key column, and its max when it is an integer: rows above it are all new
    assert [(tables[t].key, tables[t].key_max) for t in TABLES] == [
        ("workspace", None), ("model", None), (None, None), ("model_id", 100)]


def test_rows_written_on_the_revision_are_left_out_by_their_whole_key(dsn):
    before = taken(dsn)
    leave_out = write_on_the_revision(dsn, before)
    assert leave_out["registered_models"][0] == ("workspace", "name")
    assert len(leave_out["registered_models"][1]) == 5
    assert leave_out["audit"][0] == ("happened_at", "what")  # no key: every column
    # written inside the key range of a composite key's integer first column
    assert leave_out["labels"] == (("model_id", "label"), tuple(
        f"({g},silver)" for g in range(1, 6)))
    for table, (count, same) in judged(dsn, before, leave_out).items():
        assert count.ok, count.summary
        assert same.ok, same.summary
        assert f"{table}: {before.tables[table].rows + 5} rows = " in count.summary


def test_a_baseline_row_lost_or_changed_beside_the_written_ones_still_shows(dsn):
    before = taken(dsn)
    leave_out = write_on_the_revision(dsn, before)
    with connect(dsn) as conn:
        conn.execute("DELETE FROM registered_models WHERE name = 'model-7';"
                     " UPDATE aliases SET version = -1 WHERE model = 'model-3';"
                     " DELETE FROM audit WHERE what = 'did 20' AND happened_at < '2025-01-01'")
    found = judged(dsn, before, leave_out)
    assert "registered_models: 1 baseline rows lost: 499 rows now, 500 at baseline" in (
        found["registered_models"][0].summary)
    assert not found["aliases"][1].ok and found["aliases"][0].ok
    assert not found["audit"][0].ok


def test_a_baseline_from_before_whole_keys_is_read_with_them(dsn, tmp_path):
    """The older rollbook recorded a composite key's first column as the key; read back, the
    whole key comes from the baseline's own schema."""
    path = taken(dsn).save(tmp_path / "baseline.json")
    body = json.loads(path.read_text())
    for table in body["tables"].values():
        del table["key_columns"]
    body["tables"]["registered_models"]["key"] = "workspace"
    body.pop("sha256")
    old = baseline.Baseline(**{k: v for k, v in body.items() if k in (
        "database", "revision", "schema", "sequences", "plans", "created_at")},
        tables={n: baseline.TableBaseline.from_dict(t) for n, t in body["tables"].items()},
        recorded_algorithm=body["digest_algorithm"])
    loaded = baseline.load(old.save(tmp_path / "old.json"))
    assert "key_columns" not in json.loads((tmp_path / "old.json").read_text())["tables"]["audit"]
    assert loaded.whole_key("registered_models") == ("workspace", "name")
    assert loaded.range_key("registered_models") is None
    assert loaded.whole_key("audit") == ("happened_at", "what")
    leave_out = write_on_the_revision(dsn, loaded)
    assert all(count.ok and same.ok for count, same in judged(dsn, loaded, leave_out).values())
