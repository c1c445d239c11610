"""Never silently blind: the README's recommended role on Vibes, whose journals carry a
row-level-security policy for the app role only, sees no journal. Its counts, content and
orphans say "could not verify" with the fix; with the fix they catch 100 deleted and 100 altered
journals; and `rollbook snapshot` refuses it unless told to record the visible rows only."""
from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook import cli
from rollbook.measure import baseline as baseline_mod
from rollbook.pg import role
from rollbook.pg.connect import connect
from rollbook.verdicts import content, counts, orphans
from rollbook.verdicts.measured import Measured
from tests.examples.checkrun import ROOT, snapshot, vibes_copy

ENVS = str(ROOT / "envs")


def _as(dsn: str, user: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(dsn), "user": user})


@pytest.fixture
def vibes_and_checker(pg_server, tmp_path):
    """A Vibes copy, its baseline taken by the superuser, and the recommended role made with
    the CREATE ROLE `rollbook role-sql` prints."""
    name, dsn = vibes_copy(pg_server)
    taken = baseline_mod.load(snapshot(dsn, tmp_path / "baseline.json"))
    checker = f"rb_checker_{uuid.uuid4().hex[:8]}"
    with connect(dsn) as conn:
        conn.execute(role.create_role_sql(checker))
    yield dsn, taken, checker
    pg_server.drop_database(name)
    with connect(dsn.replace(f"dbname={name}", "dbname=postgres")) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(checker)))


def _damage(dsn: str) -> None:
    """100 journals deleted, 100 others altered, as a bad rollback would."""
    with connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # orphans may stay behind
        conn.execute("DELETE FROM journals WHERE id IN (SELECT id FROM journals ORDER BY id "
                     "LIMIT 100)")
        conn.execute("UPDATE journals SET title = title || ' (altered)' WHERE id IN "
                      "(SELECT id FROM journals ORDER BY id DESC LIMIT 100)")


def _verdicts(dsn: str, user: str, taken) -> dict[str, object]:
    with connect(_as(dsn, user), read_only=True) as conn:
        run = Measured(conn, taken)
        fk = next(fk for fk in orphans.foreign_keys(conn) if fk.table == "journal_tags"
                  and fk.ref_table == "journals")
        return {"counts": counts.row_count(run, "journals"),
                "content": content.compare_table(run, "journals"),
                "orphans": run.orphans(fk)}


def test_the_recommended_role_cannot_verify_journals_and_says_how_to_fix_it(vibes_and_checker):
    dsn, taken, checker = vibes_and_checker
    _damage(dsn)
    for family, result in _verdicts(dsn, checker, taken).items():
        assert not result.ok, family
        assert f"could not verify public.journals: row-level security may hide rows from role " \
               f"{checker}" in result.summary, family
        assert f"ALTER ROLE {checker} BYPASSRLS;" in result.summary, family


def test_with_the_fix_the_damage_is_caught(vibes_and_checker):
    dsn, taken, checker = vibes_and_checker
    _damage(dsn)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(checker)))
    found = _verdicts(dsn, checker, taken)
    assert not found["counts"].ok and "100" in found["counts"].summary
    assert "could not verify" not in found["counts"].summary
    assert not found["content"].ok and "could not verify" not in found["content"].summary
    assert not found["orphans"].ok and "orphan" in found["orphans"].summary


def test_a_policy_showing_every_row_is_a_fix_too(vibes_and_checker):
    dsn, taken, checker = vibes_and_checker
    with connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE POLICY rollbook_reads_all ON journals FOR SELECT TO {} "
                             "USING (true)").format(sql.Identifier(checker)))
    found = _verdicts(dsn, checker, taken)
    assert found["counts"].ok and found["content"].ok, found["counts"].summary


def test_planted_defect_without_the_rls_check_the_damage_passes_unseen(vibes_and_checker,
                                                                       monkeypatch):
    """What the checks did before: the role's view counted as the table. The recommended role
    sees no journal, the baseline had 500: the count "passes" only because the baseline
    taken by this role would have seen 0, so measure it the way the issue found it."""
    dsn, _, checker = vibes_and_checker
    with connect(_as(dsn, checker), read_only=True) as conn:
        blind = baseline_mod.capture(conn, ["0001"])
    _damage(dsn)
    monkeypatch.setattr(role, "rls_hidden", lambda conn: {})
    found = _verdicts(dsn, checker, blind)
    assert blind.tables["journals"].rows == 0
    assert found["counts"].ok and found["content"].ok  # 100 deleted, 100 altered: unseen


def test_snapshot_refuses_a_blind_role_unless_told(vibes_and_checker, tmp_path, capsys):
    dsn, _, checker = vibes_and_checker
    output = tmp_path / "blind.json"
    args = ["snapshot", "--env", "prod.example", "--dsn", _as(dsn, checker), "-o", str(output),
            "--envs-dir", ENVS]
    assert cli.main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and not output.exists()
    assert "snapshot refused: could not verify public.journals: row-level security" in errors[0]
    assert errors[0].endswith("(the baseline names those tables, and the checks still cannot "
                              "verify them).")
    assert cli.main([*args, "--visible-rows-only"]) == 0
    assert baseline_mod.load(output).facts["row_level_security_hidden"] == ["journals"]


def test_the_server_agrees_the_role_sees_fewer_rows(vibes_and_checker):
    """The oracle: PostgreSQL itself, with row_security off, refuses to let the role read
    journals rather than filter them."""
    dsn, _, checker = vibes_and_checker
    with psycopg.connect(_as(dsn, checker), options="-c row_security=off") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("SELECT count(*) FROM journals")
