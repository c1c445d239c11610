"""The every-revision drill (drills/test_every_revision.py) run as a user runs it on their own
Alembic project: only a profile (`--env path/to/profile.toml`), the ledger example
(tests/examples/ledger), and copies of it with a downgrade planted missing, a no-op or losing
the rows written on the revision."""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from examples.drillrun import run_drill
from hypothesis import given
from hypothesis import strategies as st

from rollbook.errors import ConfigError
from rollbook.pytest_plugin.revision_walk import revision_steps
from rollbook.settings.profile import DrillSettings, Profile, ProfileError
from rollbook.settings.profile_files import load_profile

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "tests" / "examples" / "ledger"
DRILL = ROOT / "drills" / "test_every_revision.py"


def test_ledger_every_revision_irreversible_one_fails_in_one_line(tmp_path):
    done = run_drill(DRILL, LEDGER / "ledger.toml", tmp_path / "reports")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 failed, 4 passed" in done.stdout
    assert re.findall(r"FAILED \S+\[(\w+)\]", done.stdout) == ["l004"]
    assert ("l004: alembic downgrade l003 raised NotImplementedError: l004 dropped entries.memo;"
            " its values cannot come back") in done.stdout
    record = (tmp_path / "reports" / "latest" / "rollback-record.md").read_text()
    for revision in ("l001", "l002", "l003", "l004", "l005"):
        assert f"on seeded data ({revision})" in record
    # one template per parent: the one before, copied and upgraded; only new tables seeded
    assert re.search(r"Database at l002: .*template made in .* from rb_rev_tpl_\w+, upgraded; "
                     r"seeded: entries \|", record)
    assert re.search(r"Database at l003: .* upgraded; seeded: nothing new \|", record)
    assert "lost with dropped tables entry_labels 5" in record  # l005's rows went with its table


WRITER = """\
def write(conn, revision):
    conn.execute("INSERT INTO accounts (name, opened_at) SELECT 'written on ' || %s || g, now()"
                 " FROM generate_series(1, 2) g", (revision,))
    return {"accounts": 2}
"""


def planted_ledger(tmp_path: Path) -> Path:
    """A copy of the ledger: l002's downgrade deletes the accounts written on l002, l003's does
    nothing, l005 has no downgrade at all; its own writer writes two accounts per revision."""
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    versions = copy / "migrations" / "versions"
    plant = {
        "l002_entries.py": ('    op.execute("DROP TABLE entries")',
                            '    op.execute("DROP TABLE entries")\n'
                            '    op.execute("DELETE FROM accounts WHERE id > 500")'),
        "l003_currency.py": ('    op.execute("DROP INDEX entries_booked_at_idx")\n'
                             '    op.execute("ALTER TABLE accounts DROP COLUMN currency")',
                             "    pass"),
        "l005_labels.py": ('\n\ndef downgrade():\n    op.execute("DROP TABLE entry_labels")\n', "\n"),
    }
    for name, (old, new) in plant.items():
        text = (versions / name).read_text()
        assert old in text, name
        (versions / name).write_text(text.replace(old, new))
    (copy / "ledger_writer.py").write_text(WRITER)
    profile = copy / "ledger.toml"
    profile.write_text(profile.read_text().replace(
        'revisions = "all"', 'revisions = ["l002", "l003", "l005"]\n'
                             'writer = "ledger_writer:write"'))
    return profile


def test_planted_downgrades_fail_one_line_per_difference(tmp_path):
    done = run_drill(DRILL, planted_ledger(tmp_path), tmp_path / "reports")
    out = done.stdout
    assert "3 failed" in out and "passed" not in out.splitlines()[-1], out[-3000:]
    # the no-op downgrade: one line per difference it left
    assert "l003: downgrade to l002 left 3 difference(s) from the baseline:" in out
    assert re.search(r"E\s+column accounts\.currency: extra \(not expected; character\(3\)\)",
                     out)
    assert re.search(r"E\s+index entries_booked_at_idx: extra", out)
    assert re.search(r"E\s+content: accounts: .*baseline rows \(id <= 500\) changed", out)
    # rows written on l002 into a table l001 has must survive its downgrade
    assert "l002: downgrade to l001 left 1 difference(s) from the baseline:" in out
    assert re.search(r"E\s+row count: accounts: .*500 rows, expected 502 \(500 baseline \+ 2 "
                     r"kept\): 2 rows lost", out)  # the profile's writer wrote 2, not 5
    # no downgrade() in the script
    assert ("l005: alembic downgrade l004 raised AttributeError: module 'l005_labels_py' has no "
            "attribute 'downgrade'") in out


@pytest.mark.parametrize("value, mistake", [
    ('"last 0"', """must be "all", "last N" or a list of revisions, got 'last 0'"""),
    ('"first 3"', """must be "all", "last N" or a list of revisions, got 'first 3'"""),
    ("[]", 'must be a non-empty list of strings, e.g. ["id"], got []'),
])
def test_bad_drill_revisions_are_one_line_with_the_fix(tmp_path, value, mistake):
    path = tmp_path / "p.toml"
    path.write_text(f'[database]\ndsn_env = "X"\n[drill]\nrevisions = {value}\n')
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path), tmp_path)
    assert caught.value.mistakes == [f"{path}: [drill] revisions: {mistake}"]


def ledger_profile(revisions: str) -> Profile:
    profile = load_profile(str(LEDGER / "ledger.toml"), LEDGER)
    return dataclasses.replace(profile, drill=dataclasses.replace(profile.drill,
                                                                  revisions=revisions))


@given(st.integers(min_value=1, max_value=20))
def test_last_n_is_the_newest_n_oldest_first_each_with_its_parent(n):
    steps = revision_steps(ledger_profile(f"last {n}"))
    history = ["l001", "l002", "l003", "l004", "l005"]
    assert [s.revision for s in steps] == history[-n:]
    assert [s.parent for s in steps] == (["base"] + history)[:5][-n:]


def test_unknown_revision_in_the_list_is_one_line_with_a_hint():
    with pytest.raises(ConfigError) as caught:
        revision_steps(ledger_profile(("l002", "l009")))
    assert caught.value.one_line() == (
        "[drill] revisions names l009, not in the Alembic history (l001, l002, l003, l004, "
        "l005). Hint: name revisions `alembic history` lists.")


def test_profile_drill_keys_default_and_read():
    assert load_profile("local", ROOT / "envs").drill == DrillSettings("last 5", None, "0002")
    profile = ledger_profile(("l003",))
    assert [(s.parent, s.revision) for s in revision_steps(profile)] == [("l002", "l003")]
