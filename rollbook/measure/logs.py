"""Error lines of a log, counted per minute in a time window: the runbook's
`tail -f /var/log/vibes/application.log | grep -i error` and the same over PostgreSQL's log.

Two kinds of log:

- ``postgres``: PostgreSQL's plain-text (stderr) log, whose lines start with a timestamp
  (``log_line_prefix`` with %m or %t, as the default '%m [%p] ' has) and carry a severity
  (``ERROR:``, ``FATAL:``, ``PANIC:``); continuation lines (STATEMENT, DETAIL) belong to the line
  before them and are not counted.
- ``app``: the application's log, JSON lines ({"ts", "level", "message"}, other usual key names
  too) or plain text starting with a timestamp and holding a level word (ERROR, CRITICAL,
  FATAL).

Timestamps without a zone are the machine's local time; "UTC"/"GMT" and numeric offsets are
honoured. Only the tail of a big log is read (MAX_BYTES). Messages are kept with passwords
masked (DSNs, ``password=...``, ``PASSWORD '...'``) and cut to 200 characters.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from rollbook.record.redact import redact_text

MAX_BYTES = 8 * 1024 * 1024
ERROR_LEVELS = {"ERROR", "FATAL", "PANIC", "CRITICAL"}
TOP_MESSAGES = 5
_TIMESTAMP = (r"(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)"
              r"\s?(?P<tz>Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)?")
_PG_LINE = re.compile(_TIMESTAMP + r"\s.*?\b(?P<level>DEBUG\d?|LOG|INFO|NOTICE|WARNING|ERROR|"
                      r"FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT|QUERY|LOCATION):\s+"
                      r"(?P<msg>.*)$")
_TEXT_LINE = re.compile(r"^\s*" + _TIMESTAMP + r"\s.*?\b(?P<level>DEBUG|INFO|WARNING|WARN|"
                        r"ERROR|CRITICAL|FATAL)\b[:\s]*(?P<msg>.*)$", re.I)
_TS_KEYS, _LEVEL_KEYS = ("ts", "time", "timestamp", "@timestamp", "asctime"), (
    "level", "levelname", "severity", "log.level")
_MESSAGE_KEYS = ("message", "msg", "event")


@dataclass(frozen=True)
class LogLine:
    at: dt.datetime
    level: str
    message: str


@dataclass
class LogWindow:
    """The error lines of one log between `start` and `end`."""

    source: str
    start: dt.datetime
    end: dt.datetime
    lines: int = 0  # lines with a timestamp in the window, any level
    errors: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    per_minute: dict[str, int] = field(default_factory=dict)  # "2026-11-30T10:00Z" -> errors
    top: list[dict[str, Any]] = field(default_factory=list)  # {"message", "count"}

    @property
    def minutes(self) -> float:
        return max((self.end - self.start).total_seconds() / 60.0, 1 / 60)

    @property
    def errors_per_min(self) -> float:
        return self.errors / self.minutes

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "start": self.start.isoformat(timespec="seconds"),
                "end": self.end.isoformat(timespec="seconds"), "lines": self.lines,
                "errors": self.errors, "errors_per_min": round(self.errors_per_min, 3),
                "by_level": self.by_level, "per_minute": self.per_minute, "top": self.top}


def read_tail(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The last max_bytes of a file as text (from the first whole line)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - max_bytes))
        data = handle.read()
    text = data.decode("utf-8", errors="replace")
    return text.split("\n", 1)[-1] if size > max_bytes else text


def _when(stamp: str, zone: str | None) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(stamp.replace(",", ".").replace(" ", "T")
                                       .removesuffix("Z"))
    except ValueError:
        return None
    if zone in ("Z", "UTC", "GMT"):
        return at.replace(tzinfo=dt.timezone.utc)
    if zone:
        sign, digits = (1 if zone[0] == "+" else -1), zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return at.replace(tzinfo=dt.timezone(sign * offset))
    return at.astimezone() if at.tzinfo is None else at  # naive: this machine's local time


def _json_line(raw: str) -> LogLine | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    stamp = next((str(body[k]) for k in _TS_KEYS if k in body), None)
    level = next((str(body[k]).upper() for k in _LEVEL_KEYS if k in body), "")
    message = next((str(body[k]) for k in _MESSAGE_KEYS if k in body), raw)
    match = re.match(_TIMESTAMP, stamp or "")
    at = _when(match.group("ts"), match.group("tz")) if match else None
    if at is None and stamp:
        try:
            at = dt.datetime.fromisoformat(stamp)
        except ValueError:
            at = None
    return LogLine(at, level, message) if at is not None else None


def parse(text: str, kind: str) -> list[LogLine]:
    """The timestamped lines of a log of `kind` ("postgres" or "app"), in file order."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if kind == "app" and line.startswith("{"):
            parsed = _json_line(line)
            if parsed is not None:
                found.append(parsed)
            continue
        match = (_PG_LINE if kind == "postgres" else _TEXT_LINE).match(line)
        if match is None:
            continue
        at = _when(match.group("ts"), match.group("tz"))
        if at is not None:
            found.append(LogLine(at, match.group("level").upper(), match.group("msg")))
    return found


def window(lines: list[LogLine], source: str, start: dt.datetime,
           end: dt.datetime) -> LogWindow:
    """Error lines between start and end: counts by level and per minute, top messages."""
    inside = [line for line in lines if start <= line.at <= end]
    errors = [line for line in inside if line.level in ERROR_LEVELS]
    per_minute = Counter(line.at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
                         for line in errors)
    messages = Counter(redact_text(" ".join(line.message.split()))[:200] for line in errors)
    return LogWindow(source, start, end, len(inside), len(errors),
                     dict(Counter(line.level for line in errors)), dict(sorted(per_minute.items())),
                     [{"message": m, "count": n} for m, n in messages.most_common(TOP_MESSAGES)])


# -- where a log's text comes from ---------------------------------------------------------
@dataclass
class LogText:
    """A log's text and where it came from; `text` is None when it could not be read, and
    `why_not` then says why (in one line, with the fix)."""

    kind: str  # "app" or "postgres"
    source: str  # e.g. "application log /var/log/vibes/application.log"
    text: str | None = None
    why_not: str | None = None


CURRENT_LOGFILE_SQL = "SELECT pg_current_logfile()"
READ_LOG_TAIL_SQL = ("SELECT pg_read_file(%(file)s, greatest(0, (pg_stat_file(%(file)s)).size"
                     " - %(bytes)s), %(bytes)s)")


def from_file(kind: str, label: str, path: Path | None) -> LogText:
    if path is None:
        return LogText(kind, label, why_not="no file named")
    try:
        return LogText(kind, f"{label} {path}", read_tail(path))
    except OSError as exc:
        return LogText(kind, f"{label} {path}", why_not=f"cannot read it: {exc.strerror}")


def postgres_from_sql(conn, max_bytes: int = MAX_BYTES) -> LogText:
    """PostgreSQL's current log file through SQL: pg_current_logfile() (logging_collector on;
    superuser or pg_monitor) and pg_read_file, pg_stat_file (superuser, or EXECUTE granted)."""
    label = "PostgreSQL log via pg_current_logfile() and pg_read_file"
    try:
        current = conn.execute(CURRENT_LOGFILE_SQL).fetchone()[0]
        if current is None:
            return LogText("postgres", label, why_not="pg_current_logfile() is NULL: the "
                           "server does not run logging_collector. Hint: name the file in "
                           "[monitoring] postgres_log")
        text = conn.execute(READ_LOG_TAIL_SQL, {"file": current, "bytes": max_bytes}
                            ).fetchone()[0]
    except psycopg.errors.InsufficientPrivilege as exc:
        return LogText("postgres", label, why_not=f"this role may not read the server's log "
                       f"({_first_line(exc)}). Hint: GRANT pg_monitor TO the checks' role and "
                       "GRANT EXECUTE ON FUNCTION pg_read_file(text, bigint, bigint), "
                       "pg_stat_file(text) TO it, or name the file in [monitoring] "
                       "postgres_log")
    except psycopg.Error as exc:
        return LogText("postgres", label, why_not=f"reading the log failed: {_first_line(exc)}")
    return LogText("postgres", f"PostgreSQL log {current} via pg_read_file", text or "")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
