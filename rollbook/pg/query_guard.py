"""Every function a profile query calls, resolved on the server it runs on, and judged.

A READ ONLY transaction stops writes to tables, not the side effects of functions: a SELECT can
signal backends, reload the configuration, pin WAL with a replication slot, write a file with
`lo_export` or run SQL text through `query_to_xml`. PostgreSQL's parser (settings/plain_select)
names what the query calls; here each name is resolved in `pg_proc` (operators through their
function, casts through the target type's input and cast functions) the way the server will
resolve it, and allowed only if it is not VOLATILE or is on a short list of harmless volatile
functions. Functions that execute SQL text or touch files, large objects, replication, WAL,
backends, configuration, statistics, locks or notifications are refused whatever their
volatility. Checked when the profile's queries are first met on a server and again before
each run of a query.
"""
from __future__ import annotations

import re
from typing import Iterable

import psycopg

from rollbook.errors import ConfigError
from rollbook.settings.plain_select import Call, NotPlainSelect, calls, parse
from rollbook.settings.profile import KeyQuery

# Volatile, but they change nothing: randomness, the clock, sizes on disk.
HARMLESS_VOLATILE = frozenset({
    "random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid", "uuidv4",
    "uuidv7", "array_shuffle", "array_sample", "pg_relation_size", "pg_table_size",
    "pg_indexes_size", "pg_total_relation_size", "pg_database_size", "pg_is_in_recovery"})
# Refused whatever their volatility (a few are STABLE or IMMUTABLE), in any schema.
REFUSED = (
    ("executes SQL text", r"(query|cursor|table|schema|database)_to_xml.*|"
                          r"(query|cursor|table|schema|database)_to_xmlschema|ts_stat|ts_rewrite|"
                          r"dblink.*"),
    ("touches files on the server", r"pg_read_(binary_)?file|pg_ls_.*|pg_stat_file|pg_file_.*|"
                                    r"pg_current_logfile|pg_logdir_ls|pg_hba_file_rules|"
                                    r"pg_ident_file_mappings|pg_show_all_file_settings"),
    ("touches large objects", r"lo_.*|loread|lowrite"),
    ("touches replication", r"pg_(create|drop|copy)_.*(slot|origin)|pg_replication_.*|"
                            r"pg_logical_.*|pg_sync_replication_slots|pg_promote|"
                            r"pg_log_standby_snapshot|binary_upgrade_.*"),
    ("touches WAL", r"pg_.*(wal|xlog).*|pg_create_restore_point|pg_backup_.*|"
                    r"pg_(start|stop)_backup|pg_checkpoint"),
    ("touches other backends", r"pg_(terminate|cancel|signal)_backend|"
                               r"pg_log_backend_memory_contexts|pg_export_snapshot"),
    ("touches configuration", r"set_config|pg_reload_conf|pg_rotate_logfile.*|setseed"),
    ("touches statistics", r"pg_stat_reset.*|pg_stat_clear_snapshot|pg_stat_force_next_flush|"
                           r"pg_stat_statements_reset|pg_(clear|restore)_.*stats|pg_prewarm"),
    ("touches locks", r"pg_(try_)?advisory_.*"),
    ("sends notifications", r"pg_notify"),
    ("consumes transaction ids or sequence values", r"txid_current|pg_current_xact_id|nextval|"
                                                     r"setval"),
)
_REFUSED = [(why, re.compile(rf"(?:{pattern})\Z", re.I)) for why, pattern in REFUSED]

_SEARCH = "(CASE WHEN %(schema)s::text IS NULL THEN n.nspname = ANY (current_schemas(true)) " \
          "ELSE n.nspname = %(schema)s END)"
FUNCTIONS_SQL = f"""
SELECT p.oid::regprocedure::text, p.proname, p.provolatile, n.nspname
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = %(name)s AND {_SEARCH}
  AND (%(args)s::int IS NULL OR %(args)s::int BETWEEN p.pronargs - p.pronargdefaults
       AND CASE WHEN p.provariadic <> 0 THEN 100 ELSE p.pronargs END)
"""
OPERATORS_SQL = f"""
SELECT format('%%s (operator %%s)', p.oid::regprocedure, o.oid::regoperator), p.proname,
       p.provolatile, pn.nspname
FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
JOIN pg_proc p ON p.oid = o.oprcode JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE o.oprname = %(name)s AND {_SEARCH}
"""
TYPES_SQL = f"""
SELECT format('%%s (a cast to %%s)', p.oid::regprocedure, t.oid::regtype), p.proname,
       p.provolatile, pn.nspname
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN LATERAL (SELECT t.typinput UNION SELECT c.castfunc FROM pg_cast c
              WHERE c.casttarget = t.oid AND c.castfunc <> 0) f(oid) ON true
JOIN pg_proc p ON p.oid = f.oid JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE t.typname = %(name)s AND {_SEARCH}
"""
LOOKUP = {"function": FUNCTIONS_SQL, "operator": OPERATORS_SQL, "type": TYPES_SQL}
HINT = ("only STABLE or IMMUTABLE functions may be called, and of the volatile ones "
        f"{', '.join(sorted(HARMLESS_VOLATILE))}")


def judge(signature: str, name: str, volatility: str, schema: str) -> str | None:
    """Why one resolved function may not run in a profile query, or None."""
    for why, pattern in _REFUSED:
        if pattern.match(name):
            return f"calls {signature}, which {why}: refused whatever its volatility"
    if volatility == "v" and not (schema == "pg_catalog" and name in HARMLESS_VOLATILE):
        return (f"calls {signature}, which is VOLATILE (it may change the server's state); "
                f"{HINT}")
    return None


def _resolved(conn: psycopg.Connection, call: Call) -> list[tuple[str, str, str, str]]:
    params = {"name": call.name, "schema": call.schema,
              "args": call.args if call.kind == "function" else None}
    rows = conn.execute(LOOKUP[call.kind], params).fetchall()
    if not rows and call.kind == "function":  # named arguments, odd defaults: every overload
        rows = conn.execute(LOOKUP[call.kind], {**params, "args": None}).fetchall()
    return rows


def why_refused(conn: psycopg.Connection, text: str, *, bound: bool = False) -> str | None:
    """Why `text` may not run on the server of `conn`, in one line naming the function or the
    construct, or None when everything it calls is harmless there."""
    try:
        parsed = parse(text, bound=bound)
    except NotPlainSelect as exc:
        return str(exc)
    for call in calls(parsed.statement):
        rows = _resolved(conn, call)
        if not rows and call.kind == "function":
            shown = f"{call.schema}.{call.name}" if call.schema else call.name
            return (f"calls {shown}(), which this server does not know (nothing in pg_proc "
                    "on the search path); check its name and schema")
        for row in rows:
            refusal = judge(*row)
            if refusal:
                return refusal
    return None


def query_refusal(conn: psycopg.Connection, query: KeyQuery) -> str | None:
    """Why the key query (its params query, then its sql) may not run here, or None."""
    if query.params:
        refusal = why_refused(conn, query.params)
        if refusal:
            return f"key query {query.name!r} params: {refusal}"
    refusal = why_refused(conn, query.sql, bound=query.params is not None)
    return f"key query {query.name!r} sql: {refusal}" if refusal else None


def refusals(conn: psycopg.Connection, queries: Iterable[KeyQuery]) -> list[str]:
    """One line for each key query that may not run on the server of `conn`."""
    return [line for line in (query_refusal(conn, q) for q in queries) if line]


def refuse(conn: psycopg.Connection, queries: Iterable[KeyQuery]) -> None:
    """Raise ConfigError naming every key query that may not run here, before any of them runs."""
    lines = refusals(conn, queries)
    if lines:
        raise ConfigError("; ".join(lines) + ".",
                          hint="change the profile's [[queries]]: a key query is measured "
                               "on production and must change nothing there.")
