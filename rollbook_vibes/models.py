"""SQLAlchemy models of the Vibes schema at the head revision (0005: uuid keys since 0002,
journals.word_count since 0003, the mood index since 0004, mood a journal_mood enum since 0005).

Every table keys on ``id uuid DEFAULT gen_random_uuid()``; tables that had a serial at 0001
keep the integer in ``legacy_id`` (unique, NULL for rows created since) and keep its sequence
``<table>_id_seq``, which the downgrade to 0001 draws fresh integer ids from. Constraint and
index names follow PostgreSQL's own defaults (``users_pkey``, ``users_email_key``,
``journals_user_id_fkey``) and ``ix_<table>_<columns>`` for plain indexes. Table and column
comments come from ``rollbook_vibes.dependents`` (autogenerate compares them); the view,
trigger, policy and grants there are the migrations' alone.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ENUM, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rollbook_vibes.dependents import COLUMN_COMMENTS, LEGACY_ID_COMMENT, TABLE_COMMENTS
from rollbook_vibes.moods import MOODS

NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}

NOW = text("now()")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


target_metadata = Base.metadata


def _uuid_key() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _legacy_id() -> Mapped[int | None]:
    """The 0001 integer id: unique, NULL for rows created on the UUID schema."""
    return mapped_column(Integer, unique=True, comment=LEGACY_ID_COMMENT)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=NOW)


def _user_fk(on_delete: str = "CASCADE", *, nullable: bool = False, index: bool = False,
             comment: str | None = None) -> Mapped[Any]:
    return mapped_column(ForeignKey("users.id", ondelete=on_delete), nullable=nullable,
                         index=index, comment=comment)


def _commented(table: str) -> dict[str, str]:
    return {"comment": TABLE_COMMENTS[table]}


class User(Base):
    __tablename__ = "users"
    __table_args__ = _commented("users")

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    email: Mapped[str] = mapped_column(String(255), unique=True,
                                       comment=COLUMN_COMMENTS["users", "email"])
    password_hash: Mapped[str] = mapped_column(String(255),
                                               comment=COLUMN_COMMENTS["users", "password_hash"])
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = _created_at()


class Journal(Base):
    __tablename__ = "journals"
    __table_args__ = (Index(None, "user_id", "created_at"),
                      Index("ix_journals_mood_created_at", "mood", text("created_at DESC"),
                            postgresql_where=text("mood IS NOT NULL")),
                      _commented("journals"))

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID] = _user_fk()
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    mood: Mapped[str | None] = mapped_column(ENUM(*MOODS, name="journal_mood",
                                                  create_type=False))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=NOW,
        comment=COLUMN_COMMENTS["journals", "updated_at"])
    word_count: Mapped[int | None] = mapped_column(Integer)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "name"), _commented("tags"))

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID] = _user_fk()
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = _created_at()


class JournalTag(Base):
    __tablename__ = "journal_tags"
    __table_args__ = _commented("journal_tags")

    journal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journals.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = _created_at()


class SecretTag(Base):
    __tablename__ = "secret_tags"
    __table_args__ = (UniqueConstraint("user_id", "tag_hash"), _commented("secret_tags"))

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID] = _user_fk()
    tag_hash: Mapped[str] = mapped_column(String(64),
                                          comment=COLUMN_COMMENTS["secret_tags", "tag_hash"])
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created_at()


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "remind_at",
                            postgresql_where=text("NOT is_sent")),
                      _commented("reminders"))

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID] = _user_fk(index=True)
    journal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("journals.id", ondelete="SET NULL"), index=True,
        comment=COLUMN_COMMENTS["reminders", "journal_id"])
    remind_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(String(500))
    is_sent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = _commented("audit_logs")

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID | None] = _user_fk("SET NULL", nullable=True, index=True,
                                                 comment=COLUMN_COMMENTS["audit_logs", "user_id"])
    action: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW,
                                                 index=True)


class UserSession(Base):
    __tablename__ = "user_sessions"
    __table_args__ = _commented("user_sessions")

    id: Mapped[uuid.UUID] = _uuid_key()
    legacy_id: Mapped[int | None] = _legacy_id()
    user_id: Mapped[uuid.UUID] = _user_fk(index=True)
    token: Mapped[str] = mapped_column(String(128), unique=True,
                                       comment=COLUMN_COMMENTS["user_sessions", "token"])
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# The integer-id sequences survive on the UUID schema (owned by legacy_id there); the
# downgrade numbers rows created since from them. Autogenerate does not compare sequences.
ID_SEQUENCES = tuple(
    Sequence(f"{table}_id_seq", data_type=Integer, metadata=target_metadata)
    for table in ("users", "journals", "tags", "secret_tags", "reminders", "audit_logs",
                  "user_sessions")
)
