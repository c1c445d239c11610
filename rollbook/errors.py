"""One root exception; subclasses carry the data that explains the failure."""
from __future__ import annotations


class RollbookError(Exception):
    """A failure the operator can act on: a one-line message, titled context blocks, a hint."""

    def __init__(self, message: str, *, context: list[tuple[str, str]] | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.context = list(context or [])
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} Hint: {self.hint}" if self.hint else self.message

    def __str__(self) -> str:
        parts = [self.one_line()]
        for title, text in self.context:
            parts.append(f"--- {title} ---\n{text.rstrip()}")
        return "\n".join(parts)


class ServerError(RollbookError):
    """A PostgreSQL server could not be started, reached or stopped."""


class ConfigError(RollbookError):
    """A profile, option or input file is wrong."""


class MigrationError(RollbookError):
    """Alembic could not do what was asked, or the database is at an unexpected revision."""


class BackupError(RollbookError):
    """pg_dump / pg_restore failed or produced an unusable archive."""


class BaselineError(RollbookError):
    """A baseline manifest is missing, corrupt, or belongs to another database."""
