"""Evidence kept with the run: the baseline, the backups' facts and dumps, the server log and
junit.xml live in the run folder, hashed in full, and sealed: one changed byte names the file."""
from __future__ import annotations

import json
import subprocess
import sys

DRILL = '''
from rollbook.runbook import backup

def test_drill(drill, pg_server, drill_database):
    """A drill that backs up its database."""
    with drill.step("Back up", covers=("Backup of current state created",)) as step:
        dump = backup.dump(pg_server, drill_database, drill.workspace / "state.dump")
        drill.kept.backup("pre-rollback backup", dump)
        step.detail = f"sha256 {dump.sha256}"
'''


def run_drill(pytester, *args):
    pytester.makepyfile(test_drill=DRILL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no", *args)
    result.assert_outcomes(passed=1)
    return (pytester.path / "reports" / "latest").resolve()


def verify(run_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook.cli", "verify", str(run_dir)],
                          capture_output=True, text=True, timeout=60)


def test_a_drill_keeps_its_dump_facts_log_and_junit_sealed(pytester):
    run_dir = run_drill(pytester)
    kept = run_dir / "evidence" / "test_drill.py_test_drill"
    facts = json.loads((kept / "pre-rollback backup.json").read_text())
    assert len(facts["sha256"]) == 64 and facts["kept_as"] == "state.dump"
    from rollbook.record.manifest import sha256_file
    assert sha256_file(kept / "state.dump") == facts["sha256"]
    assert "database system is ready" in (kept / "postgresql.log").read_text()
    assert "testcase" in (run_dir / "junit.xml").read_text()
    record = (run_dir / "rollback-record.md").read_text()
    assert f"sha256 {facts['sha256']}" in record
    assert verify(run_dir).returncode == 0

    dump = kept / "state.dump"
    body = bytearray(dump.read_bytes())
    body[len(body) // 2] ^= 0x01
    dump.write_bytes(bytes(body))
    tampered = verify(run_dir)
    assert tampered.returncode != 0
    assert "state.dump" in tampered.stdout + tampered.stderr


def test_keep_dumps_no_keeps_the_facts_without_the_archive(pytester):
    run_dir = run_drill(pytester, "--keep-dumps", "no")
    kept = run_dir / "evidence" / "test_drill.py_test_drill"
    facts = json.loads((kept / "pre-rollback backup.json").read_text())
    assert facts["kept_as"] == "not kept (--keep-dumps no)" and len(facts["sha256"]) == 64
    assert not (kept / "state.dump").exists()


def test_a_kept_dump_is_a_second_link_to_it_else_a_copy(tmp_path, monkeypatch):
    """A dump is kept without being written again where it can be (a link on the same file
    system), else copied; either way byte for byte, and the file it came from is untouched."""
    import os

    from rollbook.pytest_plugin.kept import KeptEvidence

    dump = tmp_path / "workspace" / "state.dump"
    dump.parent.mkdir()
    dump.write_bytes(os.urandom(1 << 16))
    kept = KeptEvidence(tmp_path / "run" / "evidence")
    linked = kept.file("state.dump", dump, link=True)
    assert linked.read_bytes() == dump.read_bytes()
    assert os.path.samefile(linked, dump)
    assert not os.path.samefile(kept.file("copied.dump", dump), dump)  # the default: a copy

    def no_links(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    fallback = kept.file("state.dump", dump, link=True)  # kept again: replaced, not appended
    assert fallback.read_bytes() == dump.read_bytes()
    assert not os.path.samefile(fallback, dump)
