"""The baseline manifest: captured in SQL, saved with its sha256, refused when altered."""
from __future__ import annotations

import json

import psycopg
import pytest

from rollbook.errors import BaselineError
from rollbook.measure import baseline
from rollbook.pg.connect import connect


@pytest.fixture
def captured(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL)")
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY,"
                     " user_id int NOT NULL REFERENCES users, body text)")
        conn.execute("INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 30) g")
        conn.execute("INSERT INTO notes (user_id, body) SELECT 1 + g % 30, md5(g::text)"
                     " FROM generate_series(1, 90) g")
    with connect(scratch_dsn, read_only=True) as conn:
        return baseline.capture(conn, ["0001"])


def test_capture_holds_counts_keys_sequences_and_identity(captured):
    assert captured.tables["users"].rows == 30
    assert captured.tables["notes"].key == "id" and captured.tables["notes"].key_max == 90
    assert captured.sequences["notes_id_seq"] == 90
    assert captured.database["system_identifier"].isdigit()
    assert set(captured.schema_snapshot().tables) == {"users", "notes"}


def test_saved_manifest_loads_back_identical(captured, tmp_path):
    path = captured.save(tmp_path / "baseline.json")
    assert baseline.load(path).sha256 == captured.sha256


def test_altered_manifest_is_refused(captured, tmp_path):
    path = captured.save(tmp_path / "baseline.json")
    body = json.loads(path.read_text())
    body["tables"]["users"]["rows"] = 31
    path.write_text(json.dumps(body))
    with pytest.raises(BaselineError, match="does not match its sha256"):
        baseline.load(path)


def test_missing_and_corrupt_manifests_are_one_clear_line(tmp_path):
    with pytest.raises(BaselineError, match=r"does not exist\. Hint: create one"):
        baseline.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BaselineError, match="is not valid JSON"):
        baseline.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(BaselineError, match="is not a rollbook baseline"):
        baseline.load(tmp_path / "other.json")


def test_capture_is_read_only(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY)")
        conn.execute("INSERT INTO t DEFAULT VALUES")
    with connect(scratch_dsn, read_only=True) as conn:
        baseline.capture(conn, [])
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t DEFAULT VALUES")
