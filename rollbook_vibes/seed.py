"""Deterministic seed data for a Vibes database at revision 0001 (the integer schema).

    python -m rollbook_vibes.seed --dsn "host=... dbname=..." --scale 1m

Every value derives from its row number (no random()), so a scale always produces the same
rows, byte for byte. The rows are generated inside PostgreSQL with ``INSERT ... SELECT
generate_series``: nothing crosses the wire, and the keys and indexes are dropped for the
load and rebuilt after it (see ``rollbook_vibes.bulkload``), all in one transaction.

Proportions, for N journals: N/10 users, a fifth of whom never write (so "users with
journals" < users), journals spread unevenly over the rest; 4 tags per user; 0-3 tags per
journal (1.5 on average); a secret tag for every other user; a reminder for every tenth
journal (half of them still linked to it); an audit-log row for every fourth journal (5 %
without a user); 1.5 sessions per user.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.numeric import Int8

from rollbook_vibes import bulkload
from rollbook_vibes.api.passwords import hash_password
from rollbook_vibes.schema import ID_TABLES, TABLES, sequence_name

SCALES: dict[str, int] = {"tiny": 500, "small": 10_000, "100k": 100_000, "1m": 1_000_000}
Progress = Callable[[str], None]


class SeedError(Exception):
    """The database cannot be seeded as asked; the message ends with the fix."""


@dataclass(frozen=True)
class Plan:
    """How many rows of each generated table a scale asks for."""

    journals: int
    users: int
    tags_per_user: int = 4

    @property
    def active_users(self) -> int:  # users whose number is not a multiple of 5
        return self.users - self.users // 5

    @property
    def params(self) -> dict[str, Int8]:
        """Bind parameters of the statements, all bigint so no product can overflow."""
        return {"n_journals": Int8(self.journals), "n_users": Int8(self.users),
                "n_active": Int8(self.active_users), "tags_per_user": Int8(self.tags_per_user)}


def plan_for(scale: str | int) -> Plan:
    """The plan of a named scale (tiny, small, 100k, 1m) or of a journal count."""
    if isinstance(scale, str) and scale.lower() in SCALES:
        journals = SCALES[scale.lower()]
    else:
        try:
            journals = int(str(scale).replace("_", ""))
        except ValueError:
            raise SeedError(f"unknown scale {scale!r}. Hint: use one of "
                            f"{', '.join(SCALES)} or a number of journals.") from None
    if journals < 10:
        raise SeedError(f"scale {journals} is too small. Hint: seed at least 10 journals.")
    return Plan(journals=journals, users=journals // 10)


# Timestamps: users sign up during 2022, journals are written during 2023-2024.
T_USERS = "timestamptz '2022-01-01 00:00:00+00'"
T_JOURNALS = "timestamptz '2023-01-01 00:00:00+00'"
YEAR_S, TWO_YEARS_S = 31_536_000, 63_072_000
# A multiplicative hash of the row number: a permutation of 0 .. 2^32-1, stable everywhere.
H = "(({n}::bigint * 2654435761) %% 4294967296)"

STATEMENTS: tuple[tuple[str, str], ...] = (
    ("users", f"""
INSERT INTO users (id, email, password_hash, display_name, created_at)
SELECT u, 'user' || u || '@example.com',
       %(password_hash)s,
       CASE WHEN u %% 7 = 0 THEN NULL ELSE
         (ARRAY['Ada','Ben','Chloe','Dev','Elif','Farid','Greta','Hiro','Ines','Jon','Kemi',
                'Lars','Maya','Nico','Olu','Priya','Quinn','Rosa','Sami','Tess'])[1 + u %% 20]
         || ' ' ||
         (ARRAY['Abe','Brook','Chen','Diaz','Eng','Fox','Gray','Hale','Ito','Jones','Khan',
                'Lee','Moss','Ng','Ortiz','Park','Reyes','Stone','Tran','Vale'])[1 + (u / 20) %% 20]
       END,
       {T_USERS} + (u::bigint * {YEAR_S} / %(n_users)s) * interval '1 second'
FROM generate_series(1, %(n_users)s) AS u"""),
    # The k-th active user is (k/4)*5 + k%4 + 1; k = floor(A * x^2) with x in [0, 1) from the
    # hash: a few heavy writers, a long tail of occasional ones.
    ("journals", f"""
INSERT INTO journals (id, user_id, title, content, mood, created_at, updated_at)
SELECT i, (k / 4) * 5 + k %% 4 + 1,
       (ARRAY['Morning pages','Evening reflection','Gratitude','Work log','Dream diary',
              'Weekend','Travel notes','Reading notes','Workout','Small wins'])[1 + i %% 10]
       || ' #' || i,
       (ARRAY['Woke up early and the light was soft on the kitchen table.',
              'Spent most of the day on a problem that turned out to be a typo.',
              'Called my sister; we laughed about the summer we got lost in Lisbon.',
              'The run felt heavy at first, then easy after the third kilometre.',
              'Read forty pages and underlined more than I meant to.',
              'Meetings ate the afternoon, but the evening was mine.',
              'Cooked the lentil soup again, a little more cumin this time.',
              'Felt anxious before the review; it went better than expected.',
              'Rain all day. Tea, a blanket and an old film.',
              'Finally fixed the squeaky door hinge after three months.',
              'Noticed how much calmer I am when I put the phone away.',
              'Long walk by the river; the herons were back.'])[1 + h %% 12]
       || ' ' ||
       (ARRAY['Tomorrow I want to start earlier.','Grateful for small things today.',
              'Need more sleep.','Good day overall.','Not sure how I feel about it yet.',
              'Writing this down so I remember.','Proud of that one.',
              'Let it go, it is fine.'])[1 + (h / 12) %% 8]
       || CASE WHEN h %% 3 = 0 THEN ' Also: drank enough water, stretched, no doomscrolling.'
               ELSE '' END,
       (ARRAY['happy','calm','grateful','tired','anxious','sad','excited',NULL])[1 + (h / 96) %% 8],
       c, c + ((h / 768) %% 3) * interval '1 day'
FROM (SELECT i, h, floor(%(n_active)s * (h / 4294967296.0::float8) ^ 2)::int AS k,
             {T_JOURNALS} + (i::bigint * {TWO_YEARS_S} / %(n_journals)s) * interval '1 second' AS c
      FROM (SELECT i, {H.format(n="i")} AS h FROM generate_series(1, %(n_journals)s) AS i) s
     ) j"""),
    ("tags", f"""
INSERT INTO tags (id, user_id, name, created_at)
SELECT id, u,
       (ARRAY['work','family','health','travel','books','music','food','friends','sleep',
              'exercise','gratitude','anxiety','goals','money','nature','learning','kids',
              'love','pets','weather','projects','home','film','ideas','mood','faith',
              'garden','city','coffee','rest'])[1 + (u * 7 + t) %% 30],
       {T_USERS} + (u::bigint * {YEAR_S} / %(n_users)s + t * 3600) * interval '1 second'
FROM (SELECT id, (id - 1) / %(tags_per_user)s + 1 AS u, (id - 1) %% %(tags_per_user)s AS t
      FROM generate_series(1, %(n_users)s * %(tags_per_user)s) AS id) s"""),
    ("journal_tags", """
INSERT INTO journal_tags (journal_id, tag_id, created_at)
SELECT j.id, (j.user_id - 1) * %(tags_per_user)s + (j.id + t) %% %(tags_per_user)s + 1,
       j.created_at
FROM journals j CROSS JOIN generate_series(0, 2) AS t
WHERE t < j.id %% 4"""),
    ("secret_tags", """
INSERT INTO secret_tags (id, user_id, tag_hash, salt, created_at)
SELECT s, 2 * (s - 1) + 1, encode(sha256(convert_to('secret:' || s, 'UTF8')), 'hex'),
       md5('salt:' || s), timestamptz '2023-06-01 00:00:00+00' + s * interval '1 minute'
FROM generate_series(1, %(n_users)s / 2) AS s"""),
    ("reminders", """
INSERT INTO reminders (id, user_id, journal_id, remind_at, message, is_sent, created_at)
SELECT r, user_id, CASE WHEN r %% 2 = 1 THEN jid END, remind_at,
       (ARRAY['Write tonight','Look back at this entry','Weekly review','Breathe',
              'Call mum','Gratitude list'])[1 + r %% 6],
       remind_at < timestamptz '2024-10-01 00:00:00+00', created_at
FROM (SELECT j.id / 10 + 1 AS r, j.id AS jid, j.user_id, j.created_at,
             j.created_at + (1 + j.id %% 30) * interval '1 day' AS remind_at
      FROM journals j WHERE j.id %% 10 = 3) s"""),
    ("audit_logs", f"""
INSERT INTO audit_logs (id, user_id, action, payload, ip_address, created_at)
SELECT a, CASE WHEN a %% 20 = 0 THEN NULL ELSE (a::bigint * 7919) %% %(n_users)s + 1 END,
       (ARRAY['login','logout','journal.create','journal.update','tag.create',
              'password.change'])[1 + a %% 6],
       jsonb_build_object('seq', a, 'agent',
                          (ARRAY['ios','android','web','cli'])[1 + (a / 6) %% 4]),
       '10.' || a %% 256 || '.' || (a / 256) %% 256 || '.' || (a / 65536) %% 256,
       {T_JOURNALS} + (a::bigint * {TWO_YEARS_S} / (%(n_journals)s / 4)) * interval '1 second'
FROM generate_series(1, %(n_journals)s / 4) AS a"""),
    ("user_sessions", f"""
INSERT INTO user_sessions (id, user_id, token, created_at, expires_at)
SELECT s, (s - 1) %% %(n_users)s + 1, md5('session:' || s) || md5('token:' || s), c,
       c + interval '30 days'
FROM (SELECT s, {T_JOURNALS} + (s::bigint * {TWO_YEARS_S} / (%(n_users)s * 3 / 2))
                * interval '1 second' AS c
      FROM generate_series(1, %(n_users)s * 3 / 2) AS s) x"""),
)


SEED_PASSWORD = "vibes-seed-password"  # test data only: every seeded user logs in with it
_SEED_SALT = b"rollbook_vibes.seed.salt!"  # fixed, so a scale always seeds the same bytes


def smoke_account() -> tuple[str, str]:
    """(email, password) of a seeded user, for API smoke checks on seeded databases."""
    return "user1@example.com", SEED_PASSWORD


def seed_password_hash() -> str:
    """The stored hash of SEED_PASSWORD (cheap scrypt parameters: this is test data)."""
    return hash_password(SEED_PASSWORD, n=2**12, salt=_SEED_SALT)


def seed(dsn: str, scale: str | int, *, progress: Progress | None = None) -> dict[str, int]:
    """Fill the empty Vibes tables of ``dsn`` (at revision 0001); return rows per table."""
    plan = plan_for(scale)
    params = plan.params | {"password_hash": seed_password_hash()}
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    say(f"seeding {plan.journals:,} journals, {plan.users:,} users")
    counts: dict[str, int] = {}
    with psycopg.connect(dsn, autocommit=False) as conn:
        _check_target(conn)
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        with bulkload.without_keys(conn, TABLES, progress=say):
            for table, statement in STATEMENTS:
                t0 = time.perf_counter()
                cur = conn.execute(statement, params)
                counts[table] = cur.rowcount
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
                say(f"{table}: {cur.rowcount:,} rows in {time.perf_counter() - t0:.1f}s")
        for table in ID_TABLES:  # the next id the service hands out follows the seeded ones
            conn.execute(sql.SQL("SELECT setval({}, (SELECT max(id) FROM {}))").format(
                sql.Literal(sequence_name(table)), sql.Identifier(table)))
    # Settle the tables as a long-running database would be: hint bits set, visibility map
    # and statistics current, so the first reader (or migration) does not pay for that.
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(
            sql.SQL(", ").join(map(sql.Identifier, TABLES))))
    say(f"vacuumed and analyzed in {time.perf_counter() - t0:.1f}s")
    say(f"seeded {sum(counts.values()):,} rows in {time.perf_counter() - started:.1f}s")
    return {table: counts[table] for table in TABLES}


def _check_target(conn: psycopg.Connection) -> None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        raise SeedError("the database has no Vibes schema. Hint: run the migrations up to "
                        "0001 first: alembic upgrade 0001.") from None
    if row is None or row[0] != "0001":
        raise SeedError(f"the database is at revision {row[0] if row else 'base'}; the seeder "
                        "writes the integer schema of 0001. Hint: seed at 0001, then upgrade.")
    filled = [t for t in TABLES if conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(
        sql.Identifier(t))).fetchone()[0]]
    if filled:
        raise SeedError(f"tables already hold rows: {', '.join(filled)}. Hint: seed into a "
                        "fresh database migrated to 0001.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rollbook_vibes.seed",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="libpq DSN of a database at revision 0001")
    parser.add_argument("--scale", default="tiny",
                        help=f"{', '.join(SCALES)} or a number of journals (default: tiny)")
    args = parser.parse_args(argv)
    try:
        counts = seed(args.dsn, args.scale, progress=lambda line: print(line, flush=True))
    except SeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(map(len, counts))
    for table, rows in counts.items():
        print(f"  {table:<{width}} {rows:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
