"""Environment profiles on disk: `--env NAME` found in the project's envs/ or among the
built-in ones, read as TOML and parsed into a Profile; every mistake in a profile is one
line of a ProfileError, naming the file, the key and the fix.
"""
from __future__ import annotations

import importlib
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from rollbook.errors import ConfigError
from rollbook.measure.api_smoke import ENDPOINTS
from rollbook.record.clock import RUNBOOK_OBJECTIVES_S, RUNBOOK_TOTAL_OBJECTIVE_S, TOTAL_PHASE
from rollbook.settings import plain_select, replicas
from rollbook.settings import reader as r
from rollbook.settings.locks import parse_locks
from rollbook.settings.profile import (
    LAST_N_REVISIONS,
    Alembic,
    Api,
    Database,
    DrillSettings,
    Embedded,
    KeyQuery,
    Monitoring,
    Performance,
    Profile,
    ProfileError,
    SoftForeignKey,
    TableExpectation,
    Triggers,
)


def load_ref(ref: str):
    """What a profile names as "module:function" (or "module:Object.attribute")."""
    module, attributes = ref.split(":")
    found = importlib.import_module(module)
    for attribute in attributes.split("."):
        found = getattr(found, attribute)
    return found


# Profiles that ship with rollbook (local, ci, prod.example): found when the project's own
# envs/ has no profile of that name, so an installed rollbook works outside its checkout.
BUILTIN_ENVS = Path(__file__).resolve().parents[1] / "envs"


def _search(envs_dir: Path) -> list[Path]:
    return [envs_dir] if envs_dir.resolve() == BUILTIN_ENVS else [envs_dir, BUILTIN_ENVS]


def known_profiles(envs_dir: Path) -> list[str]:
    return sorted({p.stem for d in _search(envs_dir) if d.is_dir() for p in d.glob("*.toml")})


def find_profile(name_or_path: str, envs_dir: Path) -> Path:
    """`--env` value to a file: a name in envs_dir, or a path to a .toml file."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"profile file {path} does not exist.",
                              hint="pass --env NAME for envs/NAME.toml, or an existing .toml path.")
        return path
    for folder in _search(envs_dir):
        path = folder / f"{name_or_path}.toml"
        if path.is_file():
            return path
    known = ", ".join(known_profiles(envs_dir)) or "none"
    raise ConfigError(f"unknown env {name_or_path!r}: there is no {envs_dir / name_or_path}.toml"
                      " (nor a built-in profile of that name).",
                      hint=f"use one of: {known}; or pass a path to a .toml profile.")


def load_profile(name_or_path: str, envs_dir: Path) -> Profile:
    """Find, parse and validate a profile; every mistake becomes one line of a ProfileError."""
    path = find_profile(name_or_path, envs_dir)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read profile {path}: {exc}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", hint="fix the syntax at that "
                          "line (strings in quotes, [sections]).") from exc
    return parse_profile(data, path)


def parse_profile(data: dict[str, Any], path: Path) -> Profile:
    mistakes: list[str] = []
    top = r.Reader(data, str(path), "", mistakes)
    for secret in ("dsn", "password", "url"):
        if secret in data or secret in data.get("database", {}):
            top.error(secret, "profiles never hold a DSN or password; put the DSN in an "
                      "environment variable and name it with [database] dsn_env")
    top.consume("dsn", "password", "url")
    name = top.string("name", default=path.stem)
    description = top.string("description", default="")
    disposable = top.boolean("disposable", default=False)
    baseline = top.path("baseline", base=path.parent)
    foreign_baseline = top.boolean("foreign_baseline", default=False)

    db = top.section("database")
    db.consume("dsn", "password", "url")
    database = Database(
        embedded=db.boolean("embedded", default=False),
        dsn_env=db.env_var_name("dsn_env"),
        statement_timeout_ms=db.integer("statement_timeout_ms", default=30_000, minimum=1),
        lock_timeout_ms=db.integer("lock_timeout_ms", default=1_000, minimum=1),
        application_name=db.string("application_name", default="rollbook-checks",
                                   max_length=63))
    database = replace(database, replicas_env=replicas.read_names(
        db, embedded=database.embedded, dsn_env=database.dsn_env))
    db.finish()
    if database.embedded and database.dsn_env:
        db.error("dsn_env", "a profile is either embedded = true or names a dsn_env, not both")
    if not database.embedded and "dsn_env" not in db.data:
        db.error("dsn_env", "missing: name the environment variable that holds the DSN "
                 "(e.g. dsn_env = \"VIBES_DSN\"), or set embedded = true")
    if database.embedded and not disposable:
        top.error("disposable", "[database] embedded = true needs disposable = true: rollbook "
                  "creates, migrates and seeds that database")

    emb = top.section("embedded")
    embedded = Embedded(
        backend=emb.choice("backend", ("embedded", "local", "docker"), default="embedded"),
        seed=emb.import_ref("seed"), scale=emb.string("scale", default="tiny"),
        extensions=tuple(emb.string_list("extensions", default=[])),
        snapshot=emb.boolean("snapshot", default=False))
    emb.finish()

    al = top.section("alembic")
    alembic = Alembic(ini=al.path("ini", base=path.parent, must_exist=True),
                      expected_revision=al.string("expected_revision"),
                      script_location=al.path("script_location", base=path.parent,
                                              must_exist=True),
                      start=al.ref_or_argv("start"))
    al.finish()
    if database.embedded and ("ini" not in al.data or "expected_revision" not in al.data):
        al.error("ini", "an embedded profile needs [alembic] ini and expected_revision: the "
                 "suite migrates its database to that revision")

    dr = top.section("drill")
    drill = DrillSettings(revisions=dr.string_or_list("revisions", default="last 5"),
                          writer=dr.import_ref("writer"),
                          crash_revision=dr.string("crash_revision"))
    dr.finish()
    if isinstance(drill.revisions, str) and drill.revisions != "all" \
            and not LAST_N_REVISIONS.match(drill.revisions):
        dr.error("revisions", f'must be "all", "last N" or a list of revisions, got '
                 f"{drill.revisions!r}")

    ar = top.section("api")
    budgets = ar.section("p95_budget_ms")
    api = Api(base_url=ar.http_url("base_url"),
              service=ar.import_ref("service"), smoke_account=ar.import_ref("smoke_account"),
              requests=ar.integer("requests", default=20, minimum=1),
              smoke_email=ar.string("smoke_email"),
              smoke_password_env=ar.env_var_name("smoke_password_env"),
              user_id=ar.integer("user_id", minimum=1),
              p95_budget_ms={name: budgets.number(name) for name in budgets.keys()
                             if name in ENDPOINTS},
              default_p95_ms=ar.number("default_p95_ms", default=500.0),
              timeout_s=ar.number("timeout_s", default=5.0))
    budgets.finish(known=ENDPOINTS)
    ar.finish()
    for key in ("service", "smoke_account"):
        if getattr(api, key) and not disposable:
            ar.error(key, "only a disposable profile may name one; point base_url at the "
                     "running API and name a smoke account by smoke_email/smoke_password_env")
    if bool(api.smoke_email) != bool(api.smoke_password_env):
        ar.error("smoke_email", "a smoke account needs both smoke_email and "
                 "smoke_password_env (the name of the variable holding its password)")

    keys = top.section("keys")
    key_types = tuple(keys.string_list("types", default=[]))
    id_columns = keys.boolean("id_columns", default=False)
    keys.finish()

    sc = top.section("schema")
    schemas = tuple(sc.string_list("schemas", default=[])) or None
    sc.finish()

    tables = {}
    for table, tr in top.named_sections("tables"):
        tables[table] = TableExpectation(
            key_type=tr.string("key_type"), min_rows=tr.integer("min_rows", default=0, minimum=0),
            unique=tuple(tuple(cols) for cols in tr.list_of_string_lists("unique")),
            time_column=tr.string("time_column"), seed=tr.import_ref("seed"))
        tr.finish()

    soft = []
    for fr in top.array_of_tables("soft_foreign_keys"):
        columns = tuple(fr.string_list("columns", required=True))
        ref_columns = tuple(fr.string_list("ref_columns", required=True))
        fk = SoftForeignKey(fr.string("table", required=True) or "", columns,
                            fr.string("references", required=True) or "", ref_columns)
        if columns and ref_columns and len(columns) != len(ref_columns):
            fr.error("ref_columns", f"has {len(ref_columns)} columns but columns has "
                     f"{len(columns)}; they pair up one to one")
        fr.finish()
        soft.append(fk)

    tg = top.section("triggers")
    triggers = Triggers(
        query_slowdown_ratio=tg.number("query_slowdown_ratio", default=1.5, minimum=1.0),
        same_plan_slowdown_ratio=tg.number("same_plan_slowdown_ratio", default=3.0,
                                           minimum=1.0),
        failing_endpoints_pct=tg.number("failing_endpoints_pct", default=25.0, minimum=0),
        error_rate_points=tg.number("error_rate_points", default=10.0, minimum=0))
    tg.finish()

    rt = top.section("rto")
    known = (*RUNBOOK_OBJECTIVES_S, TOTAL_PHASE)
    rto_s = {**RUNBOOK_OBJECTIVES_S, TOTAL_PHASE: RUNBOOK_TOTAL_OBJECTIVE_S}
    for phase in list(rt.keys()):
        if phase in known:
            rto_s[phase] = rt.duration(phase)
    rt.finish(known=known)

    pf = top.section("performance")
    performance = Performance(
        repeats=pf.integer("repeats", default=7, minimum=1),
        repeat_within_ms=pf.number("repeat_within_ms", default=500.0, minimum=0),
        noise_floor_ms=pf.number("noise_floor_ms", default=1.0, minimum=0),
        small_table_pages=pf.integer("small_table_pages", default=64, minimum=0),
        key_lookups=pf.boolean("key_lookups", default=True),
        default_budget_ms=pf.number("default_budget_ms", default=250.0, minimum=0.001))
    pf.finish()

    queries, seen = [], set()
    for qr in top.array_of_tables("queries"):
        params = qr.select_statement("params")
        query = KeyQuery(name=qr.string("name", required=True) or "",
                         sql=qr.select_statement("sql", required=True,
                                                 bound=params is not None) or "",
                         params=params,
                         expect_indexes=tuple(qr.string_list("expect_indexes", default=[])),
                         budget_ms=qr.number("budget_ms", minimum=0.001),
                         key_lookup=qr.boolean("key_lookup", default=False))
        unfilled = plain_select.unfilled_placeholders(query.sql, query.params)
        if unfilled:
            qr.error("sql", unfilled)
        if query.name in seen:
            qr.error("name", f"{query.name!r} is used twice; query names must be unique")
        seen.add(query.name)
        qr.finish()
        queries.append(query)

    mo = top.section("monitoring")
    monitoring = Monitoring(
        max_active_connections=mo.integer("max_active_connections", default=50, minimum=0),
        max_lock_wait_s=mo.number("max_lock_wait_s", default=5.0, minimum=0),
        max_transaction_age_s=mo.number("max_transaction_age_s", default=300.0, minimum=0),
        max_statement_mean_ms=mo.number("max_statement_mean_ms", default=1000.0, minimum=0),
        min_calls=mo.integer("min_calls", default=10, minimum=1),
        top_statements=mo.integer("top_statements", default=10, minimum=1),
        window_s=mo.number("window_s", default=3.0, minimum=0),
        interval_s=mo.number("interval_s", default=1.0, minimum=0.1),
        log_window_s=mo.number("log_window_s", default=900.0, minimum=1),
        app_log=mo.path("app_log", base=path.parent),
        postgres_log=mo.path("postgres_log", base=path.parent),
        postgres_log_sql=mo.boolean("postgres_log_sql", default=True),
        metrics_url=mo.http_url("metrics_url"),
        log_errors_per_min=mo.number("log_errors_per_min", default=0.0, minimum=0),
        max_cpu_pct=mo.number("max_cpu_pct", default=90.0, minimum=0),
        max_memory_mb=mo.number("max_memory_mb", default=1024.0, minimum=1),
        memory_growth_ratio=mo.number("memory_growth_ratio", default=1.5, minimum=1.0))
    mo.finish()
    locks = parse_locks(top)
    ct = top.section("content")
    row_digests_below = ct.integer("row_digests_below", default=10_000_000, minimum=0)
    ct.finish()
    top.finish()
    if mistakes:
        raise ProfileError(mistakes)
    return Profile(name=name or path.stem, path=path, description=description or "",
                   disposable=bool(disposable), baseline=baseline,
                   foreign_baseline=bool(foreign_baseline), database=database,
                   embedded=embedded, alembic=alembic, drill=drill, api=api, schemas=schemas,
                   key_types=key_types, id_columns=id_columns, tables=tables,
                   soft_foreign_keys=tuple(soft),
                   triggers=triggers, rto_s=rto_s, performance=performance,
                   queries=tuple(queries), monitoring=monitoring, locks=locks,
                   row_digests_below=row_digests_below)
