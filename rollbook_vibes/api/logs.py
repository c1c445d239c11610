"""Logging for the service: plain text on stderr and, when VIBES_LOG_FILE names one, a
structured log file of JSON lines; every line passed through a secret mask.

One line of the file: {"ts": "2026-11-30T09:51:34.123+00:00", "level": "ERROR",
"logger": "rollbook_vibes.api", "message": "...", "exc": "..."} (exc only with a traceback).
The service never formats a secret into a message; the mask is the second line of defence,
for text that comes from elsewhere (a driver's error message, a traceback).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

MASK = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGERS = ("rollbook_vibes.api", "uvicorn", "uvicorn.error", "uvicorn.access")


def mask(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class MaskingFormatter(logging.Formatter):
    """A formatter whose output (message, traceback and all) has the given secrets masked."""

    def __init__(self, secrets: tuple[str, ...], fmt: str = FORMAT):
        super().__init__(fmt)
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


class JsonLinesFormatter(MaskingFormatter):
    """One JSON object per record: UTC timestamp, level, logger, message (and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
                .isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name,
                "message": mask(record.getMessage(), self.secrets)}
        if record.exc_info:
            line["exc"] = mask(self.formatException(record.exc_info), self.secrets)
        return json.dumps(line, ensure_ascii=False)


def configure(secrets: tuple[str, ...], level: str = "info",
              log_file: Path | None = None) -> None:
    """Send the service's, uvicorn's and psycopg's records to stderr through the mask, and to
    `log_file` as JSON lines when one is given (appended to: a restart continues it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter(secrets))
    handlers: list[logging.Handler] = [handler]
    if log_file is not None:
        structured = logging.FileHandler(log_file, encoding="utf-8")
        structured.setFormatter(JsonLinesFormatter(secrets))
        handlers.append(structured)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.WARNING)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
