"""Logging for the service: one stream, every line passed through a secret mask.

The service never formats a secret into a message; the mask is the second line of defence,
for text that comes from elsewhere (a driver's error message, a traceback).
"""
from __future__ import annotations

import logging
import sys

MASK = "***"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def configure(secrets: tuple[str, ...], level: str = "info") -> None:
    """Send the service's, uvicorn's and psycopg's records to stderr through the mask."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("rollbook_vibes.api", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(level.upper())
