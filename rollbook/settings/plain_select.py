"""Is a profile's query one plain SELECT? A lexical check, refused in one line otherwise.

The READ ONLY transaction of the checks' connection is what makes writing impossible; this
check refuses, at profile load, what has no business in a measurement: a second statement, a
data-modifying CTE, SELECT INTO, row locks, and functions that change the server's state
(settings, sessions, sequences, large objects, advisory locks) even in a read-only transaction.
"""
from __future__ import annotations

import re

LEADING_KEYWORDS = ("SELECT", "WITH", "VALUES", "TABLE")
# Literals, quoted identifiers and comments, which may hold any word or ';' harmlessly.
_QUOTED = re.compile(
    r"""(?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*|)\$.*?\$(?P=tag)\$)"""
    r"""|(?P<string>[EeBbXxNnUu]?&?'(?:[^'\\]|''|\\.)*')"""
    r"""|(?P<ident>(?:[Uu]&)?"(?:[^"]|"")*")"""
    r"""|(?P<line>--[^\n]*)"""
    r"""|(?P<block>/\*.*?\*/)""", re.S)
_WRITING_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|INTO|TRUNCATE|COPY|CALL|DO)\b", re.I)
_ROW_LOCK = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.I)
_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_$]*)\s*\(")
REFUSED_FUNCTIONS = frozenset({
    "set_config", "nextval", "setval", "pg_terminate_backend", "pg_cancel_backend",
    "pg_reload_conf", "pg_rotate_logfile", "pg_switch_wal", "pg_promote", "pg_checkpoint",
    "pg_log_backend_memory_contexts", "pg_notify", "txid_current", "pg_current_xact_id",
    "dblink", "dblink_exec", "dblink_connect", "pg_file_write", "pg_read_file",
    "pg_read_binary_file", "pg_ls_dir", "pg_sleep", "pg_sleep_for", "pg_sleep_until"})
REFUSED_PREFIXES = ("pg_advisory_", "pg_try_advisory_", "lo_", "pg_stat_reset",
                    "pg_create_", "pg_drop_", "pg_replication_", "pg_import_", "pg_wal_replay_")


def without_quoted(text: str) -> str:
    """`text` with literals, quoted identifiers and comments blanked out."""
    return _QUOTED.sub(lambda m: "''" if m.group("string") or m.group("dollar") else
                       ('"q"' if m.group("ident") else " "), text)


def why_not_plain_select(text: str) -> str | None:
    """Why `text` is not one plain SELECT, or None when it is."""
    bare = without_quoted(text).strip()
    if bare.endswith(";"):
        bare = bare[:-1].rstrip()
    words = bare.split()
    if not words or words[0].upper().split("(")[0] not in LEADING_KEYWORDS:
        return f"must be a SELECT (checks are read-only), got {' '.join(words[:3])!r}"
    if ";" in bare:
        return "must be one statement: it holds a ';' between statements"
    lock = _ROW_LOCK.search(bare)
    if lock:
        return f"must be a plain SELECT: {' '.join(lock.group(0).split()).upper()} locks rows"
    writing = _WRITING_WORDS.search(bare)
    if writing:
        return (f"must be a plain SELECT: it uses {writing.group(1).upper()} (a data-modifying "
                "statement or SELECT INTO); double-quote a column of that name")
    for call in _CALL.finditer(bare):
        name = call.group(1).lower()
        if name in REFUSED_FUNCTIONS or name.startswith(REFUSED_PREFIXES):
            return (f"must be a plain SELECT: it calls {name}(), which changes the server's "
                    "state or session")
    return None
