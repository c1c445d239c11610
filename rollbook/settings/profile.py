"""Environment profiles: what one `envs/NAME.toml` holds, validated and frozen (read by
rollbook/settings/profile_files.py).

A profile describes one environment the checks run against: where its database is (the *name*
of the environment variable holding the DSN, never the DSN or a password), its API, its Alembic
project and expected revision, the tables and key types it expects, soft foreign keys, trigger
thresholds, recovery-time objectives and the key queries with their budgets. Every mistake in
a profile is reported on its own line, naming the file, the key and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rollbook.errors import ConfigError
from rollbook.settings.locks import LockBudget

DEFAULT_PROFILE = "local"
LAST_N_REVISIONS = re.compile(r"^last ([1-9]\d*)$")  # [drill] revisions = "last 5"


class ProfileError(ConfigError):
    """A profile with one or more mistakes; `mistakes` holds one line per mistake."""

    def __init__(self, mistakes: list[str]):
        super().__init__(mistakes[0] if len(mistakes) == 1 else
                         f"{len(mistakes)} mistakes: " + " | ".join(mistakes))
        self.mistakes = mistakes


@dataclass(frozen=True)
class Database:
    embedded: bool = False
    dsn_env: str | None = None
    replicas_env: tuple[str, ...] = ()  # variables holding read-only replicas' DSNs
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 1_000
    application_name: str = "rollbook-checks"


@dataclass(frozen=True)
class Embedded:
    """How the suite prepares a database it starts itself (disposable profiles only)."""

    backend: str = "embedded"
    seed: str | None = None  # "module:function" called as function(dsn, scale)
    scale: str = "tiny"
    extensions: tuple[str, ...] = ()
    snapshot: bool = False  # take a baseline right after preparing; used unless --baseline


@dataclass(frozen=True)
class Alembic:
    """The project's Alembic config. `script_location` overrides the ini's (a folder, resolved
    as the profile names it); `start` is the project's own step that brings an empty database
    to the start of its history: a "module:attr" (a function called with the SQLAlchemy URL,
    or anything with a `metadata` or `create_all`, whose tables are created) or a command's
    argv, run without a shell, with the database in $ROLLBOOK_DSN, $ROLLBOOK_SQLALCHEMY_URL
    and the PG* variables."""

    ini: Path | None = None
    expected_revision: str | None = None
    script_location: Path | None = None
    start: str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class DrillSettings:
    """What the every-revision drill rehearses: `revisions` is "all", "last N" or a tuple of
    revisions; `writer` a "module:function" called as writer(conn, revision) for the rows
    written on each revision (default: generic inserts of the same kind); `crash_revision` the
    revision whose downgrade the crash-point drill kills at every statement (default: the
    head)."""

    revisions: str | tuple[str, ...] = "last 5"
    writer: str | None = None
    crash_revision: str | None = None


@dataclass(frozen=True)
class TableExpectation:
    key_type: str | None = None
    min_rows: int = 0
    unique: tuple[tuple[str, ...], ...] = ()
    time_column: str | None = None
    # "module:function" seeding this table, called as function(conn, table, rows) -> rows
    # written, at whichever revision created it (in place of rollbook's own seeder)
    seed: str | None = None


@dataclass(frozen=True)
class SoftForeignKey:
    table: str
    columns: tuple[str, ...]
    references: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class KeyQuery:
    """A query whose plan and time are checked: EXPLAIN (ANALYZE, BUFFERS) of `sql`, with the
    values of `params` (a query returning one row of named values) bound to it."""

    name: str
    sql: str
    params: str | None = None
    expect_indexes: tuple[str, ...] = ()
    budget_ms: float | None = None
    key_lookup: bool = False  # a Seq Scan on a big table is then a failure


@dataclass(frozen=True)
class Performance:
    repeats: int = 7  # at most this many EXPLAIN ANALYZE runs per key query ...
    repeat_within_ms: float = 500.0  # ... fewer once the runs took this long in all
    noise_floor_ms: float = 1.0
    small_table_pages: int = 64
    key_lookups: bool = True
    default_budget_ms: float = 250.0


@dataclass(frozen=True)
class Api:
    """The service's API as the checks call it. Disposable profiles may name `service`, a
    "module:function" called as function(dsn) that returns a Service the suite starts against
    the checks' database, and `smoke_account`, one returning (email, password) of seeded data."""

    base_url: str | None = None
    service: str | None = None
    smoke_account: str | None = None
    requests: int = 20
    smoke_email: str | None = None
    smoke_password_env: str | None = None  # the NAME of the variable holding the password
    user_id: int | None = None
    p95_budget_ms: dict[str, float] = field(default_factory=dict)
    default_p95_ms: float = 500.0
    timeout_s: float = 5.0


@dataclass(frozen=True)
class Triggers:
    query_slowdown_ratio: float = 1.5
    # with the baseline's plan shape and buffers, a slowdown is the machine's unless beyond this
    same_plan_slowdown_ratio: float = 3.0
    failing_endpoints_pct: float = 25.0
    error_rate_points: float = 10.0


@dataclass(frozen=True)
class Monitoring:
    max_active_connections: int = 50
    max_lock_wait_s: float = 5.0
    max_transaction_age_s: float = 300.0
    max_statement_mean_ms: float = 1_000.0
    min_calls: int = 10  # statements called fewer times are one-offs (migration, seed), not traffic
    top_statements: int = 10
    # the watch: health, error rates and database activity every interval_s over window_s
    window_s: float = 3.0  # minutes in production: set it in the profile
    interval_s: float = 1.0
    log_window_s: float = 900.0  # error logs counted over this long, after and before
    app_log: Path | None = None  # the application's log: JSON lines or plain text
    postgres_log: Path | None = None  # else pg_current_logfile() through pg_read_file
    postgres_log_sql: bool = True
    metrics_url: str | None = None  # the service's Prometheus /metrics
    log_errors_per_min: float = 0.0  # more errors per minute than the baseline's, allowed
    max_cpu_pct: float = 90.0
    max_memory_mb: float = 1024.0
    memory_growth_ratio: float = 1.5  # resident memory against the baseline's


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    description: str = ""
    disposable: bool = False
    baseline: Path | None = None
    foreign_baseline: bool = False  # the baseline may come from another database or cluster
    database: Database = field(default_factory=Database)
    embedded: Embedded = field(default_factory=Embedded)
    alembic: Alembic = field(default_factory=Alembic)
    drill: DrillSettings = field(default_factory=DrillSettings)
    api: Api = field(default_factory=Api)
    # [keys] types: key columns' types where there is no baseline; none by default (integer
    # keys are Vibes', not everyone's: what is expected is recorded or declared)
    key_types: tuple[str, ...] = ()
    # [keys] id_columns: the runbook's "every id column is an integer" query applies (Vibes')
    id_columns: bool = False
    schemas: tuple[str, ...] | None = None  # None: every non-system schema
    tables: dict[str, TableExpectation] = field(default_factory=dict)
    soft_foreign_keys: tuple[SoftForeignKey, ...] = ()
    triggers: Triggers = field(default_factory=Triggers)
    rto_s: dict[str, float] = field(default_factory=dict)
    performance: Performance = field(default_factory=Performance)
    queries: tuple[KeyQuery, ...] = ()
    monitoring: Monitoring = field(default_factory=Monitoring)
    locks: LockBudget = field(default_factory=LockBudget)
    # [content] row_digests_below: a snapshot of fewer rows keeps row digests (0: never)
    row_digests_below: int = 10_000_000

    def describe(self) -> str:
        where = "embedded, disposable" if self.database.embedded else (
            f"DSN from ${self.database.dsn_env}" if self.database.dsn_env else "DSN from --dsn")
        if self.database.replicas_env:
            where += ", replicas from " + ", ".join(f"${v}" for v in self.database.replicas_env)
        return f"profile {self.name} ({self.path}, {where})"
