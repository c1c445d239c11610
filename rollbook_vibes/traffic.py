"""Writes the live service makes while on the UUID schema, for drills to carry through a rollback.

New users with their journals, tags and sessions, and new journals and audit entries for users
who existed before the migration: after the downgrade every one of them must still be there,
with a fresh integer id and its references intact.
"""
from __future__ import annotations

import psycopg

from rollbook_vibes.schema import TABLES


def write_on_uuid(conn: psycopg.Connection, *, new_users: int = 3, journals_each: int = 4,
                  old_user_journals: int = 5) -> dict[str, int]:
    """Insert rows on the 0002 schema (uuid keys, legacy_id NULL); returns rows added per table."""
    added = dict.fromkeys(TABLES, 0)
    with conn.transaction():
        for n in range(new_users):
            user = conn.execute(
                "INSERT INTO users (email, password_hash, display_name)"
                " VALUES (%s, %s, %s) RETURNING id",
                (f"uuid-era-{n}@vibes.example", f"pbkdf2:uuid-era-{n}", f"UUID era {n}"),
            ).fetchone()[0]
            tag = conn.execute("INSERT INTO tags (user_id, name) VALUES (%s, %s) RETURNING id",
                               (user, f"uuid-era-{n}")).fetchone()[0]
            conn.execute("INSERT INTO secret_tags (user_id, tag_hash, salt) VALUES (%s, %s, %s)",
                         (user, f"{n:064x}", f"{n:032x}"))
            conn.execute("INSERT INTO user_sessions (user_id, token, expires_at)"
                         " VALUES (%s, %s, now() + interval '1 day')", (user, f"uuid-era-{n}"))
            for j in range(journals_each):
                journal = conn.execute(
                    "INSERT INTO journals (user_id, title, content, mood)"
                    " VALUES (%s, %s, %s, 'calm') RETURNING id",
                    (user, f"Written on UUID {n}.{j}", "kept through the rollback"),
                ).fetchone()[0]
                conn.execute("INSERT INTO journal_tags (journal_id, tag_id) VALUES (%s, %s)",
                             (journal, tag))
            conn.execute("INSERT INTO reminders (user_id, journal_id, remind_at, message)"
                         " VALUES (%s, %s, now() + interval '1 hour', 'uuid era')",
                         (user, journal))
            added.update({t: added[t] + 1 for t in ("users", "tags", "secret_tags",
                                                    "user_sessions", "reminders")})
            added["journals"] += journals_each
            added["journal_tags"] += journals_each
        old_users = conn.execute("SELECT id FROM users WHERE legacy_id IS NOT NULL"
                                 " ORDER BY legacy_id LIMIT %s", (old_user_journals,)).fetchall()
        for (user,) in old_users:
            conn.execute("INSERT INTO journals (user_id, title, content)"
                         " VALUES (%s, 'Old user, UUID era', 'an existing user wrote this')",
                         (user,))
            conn.execute("INSERT INTO audit_logs (user_id, action, payload)"
                         " VALUES (%s, 'journal.create', '{\"era\": \"uuid\"}')", (user,))
        added["journals"] += len(old_users)
        added["audit_logs"] += len(old_users)
    return {table: count for table, count in added.items() if count}


def journals_titled(conn: psycopg.Connection, titles: list[str]) -> int:
    """How many of these journal titles are in the database (each title is unique)."""
    return conn.execute("SELECT count(DISTINCT title) FROM journals WHERE title = ANY(%s)",
                        (titles,)).fetchone()[0]


def rows_written_through_api(*, logins: int = 0, journals: int = 0) -> dict[str, int]:
    """Rows the Vibes API writes: a login stores a session and an audit entry in one
    transaction; a created journal is one row."""
    return {"user_sessions": logins, "audit_logs": logins, "journals": journals}


def rows_written_by_smoke(report) -> dict[str, int]:
    """Rows an API smoke wrote, from the answers it got (200 login, 201 create)."""
    def answered(name: str, status: int) -> int:
        found = [e for e in report.endpoints if e.name == name]
        return found[0].observed.get("outcomes", {}).get(f"HTTP {status}", 0) if found else 0
    return rows_written_through_api(logins=answered("login", 200),
                                    journals=answered("create journal", 201))


def add_rows(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for table, n in count.items():
            total[table] = total.get(table, 0) + n
    return {table: n for table, n in total.items() if n}
