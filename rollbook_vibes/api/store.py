"""The service's SQL: the same statements at both revisions, ids bound as int or uuid.

Every value is a bind parameter. Rows come back as dicts ready for JSON: ids rendered for the
service's id mode (an int at 0001, a uuid string at 0002, with ``legacy_id`` beside it).
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from rollbook_vibes.api.config import INTEGER

INT4_MAX = 2**31 - 1
USER_COLUMNS = ("id", "email", "display_name", "created_at")
JOURNAL_COLUMNS = ("id", "user_id", "title", "content", "mood", "created_at", "updated_at")


def parse_id(raw: str, mode: str) -> int | uuid.UUID | None:
    """The key a path segment names in this id mode, or None when it cannot be one."""
    if mode == INTEGER:
        if not raw.isascii() or not raw.isdigit():
            return None
        value = int(raw)
        return value if 1 <= value <= INT4_MAX else None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def token_digest(token: str) -> str:
    """What user_sessions.token holds: the sha256 of the bearer token, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def revision(conn: AsyncConnection) -> str | None:
    """The database's Alembic revision; None when it has no alembic_version table."""
    cur = await conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
    if not (await cur.fetchone())[0]:
        return None
    cur = await conn.execute("SELECT version_num FROM alembic_version LIMIT 1")
    row = await cur.fetchone()
    return row[0] if row else None


async def credentials(conn: AsyncConnection, email: str) -> tuple[Any, str] | None:
    cur = await conn.execute("SELECT id, password_hash FROM users WHERE email = %s", (email,))
    return await cur.fetchone()


async def open_session(conn: AsyncConnection, user_id: Any, token: str, ttl_s: int,
                       client_ip: str | None) -> datetime:
    """Store the session and an audit entry in one transaction; returns expires_at."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO user_sessions (user_id, token, expires_at)"
            " VALUES (%s, %s, now() + make_interval(secs => %s)) RETURNING expires_at",
            (user_id, token_digest(token), ttl_s))
        expires_at = (await cur.fetchone())[0]
        await conn.execute(
            "INSERT INTO audit_logs (user_id, action, payload, ip_address)"
            " VALUES (%s, 'login', jsonb_build_object('agent', 'api'), %s)",
            (user_id, client_ip))
    return expires_at


async def session_user(conn: AsyncConnection, token: str) -> Any | None:
    """The user id of a live session with this bearer token, or None."""
    cur = await conn.execute("SELECT user_id FROM user_sessions WHERE token = %s"
                             " AND expires_at > now()", (token_digest(token),))
    row = await cur.fetchone()
    return row[0] if row else None


async def user(conn: AsyncConnection, user_id: Any, mode: str) -> dict | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM users WHERE id = %s").format(
            _columns(USER_COLUMNS, mode)), (user_id,))
        row = await cur.fetchone()
    return _jsonable(row) if row else None


async def create_journal(conn: AsyncConnection, user_id: Any, title: str, content: str,
                         mood: str | None, mode: str) -> dict:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("INSERT INTO journals (user_id, title, content, mood)"
                                  " VALUES (%s, %s, %s, %s) RETURNING {}").format(
                              _columns(JOURNAL_COLUMNS, mode)),
                          (user_id, title, content, mood))
        return _jsonable(await cur.fetchone())


async def journals(conn: AsyncConnection, user_id: Any, limit: int, mode: str) -> list[dict]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM journals WHERE user_id = %s"
                                  " ORDER BY created_at DESC, id DESC LIMIT %s").format(
                              _columns(JOURNAL_COLUMNS, mode)), (user_id, limit))
        return [_jsonable(row) for row in await cur.fetchall()]


def _columns(names: tuple[str, ...], mode: str) -> sql.Composed:
    """The columns a row is returned with: uuid mode adds the kept integer id, legacy_id."""
    names = names if mode == INTEGER else (*names, "legacy_id")
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _jsonable(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[key] = value
    return out
