"""rollbook: a database rollback runbook as code -- baselines, trigger assessment, sealed records.

    rollbook snapshot --env prod --output pre_migration_baseline.json
    rollbook assess --env prod --baseline pre_migration_baseline.json
    rollbook diff-rows --env prod --baseline pre_migration_baseline.json
    rollbook verify reports/latest
    rollbook serve-db --with-api
    rollbook profile --env prod

Settings follow the same precedence as the pytest options: command line, then environment
(ROLLBOOK_ENV, ROLLBOOK_DSN, ...), then the profile, then the default. Bad input is one line on
stderr per mistake and exit status 2; nothing is written. Each command's --help lists its exit
codes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

import psycopg

from rollbook import diff_rows, serve
from rollbook.errors import RollbookError
from rollbook.measure import baseline, observation, row_digests, snapshot
from rollbook.pg import query_guard, role
from rollbook.record import manifest
from rollbook.record import output as output_mod
from rollbook.record.redact import redact_dsn, redact_text
from rollbook.record.runinfo import package_version
from rollbook.settings.resolve import Settings, resolve
from rollbook.settings.target import (
    checks_connection,
    foreign_baseline_note,
    read_scripts,
    wrong_baseline,
)
from rollbook.verdicts import api, assess, monitoring_signals, triggers

EXIT_REFUSED = 2
EXIT_ROLLBACK_DUE = 3
EXIT_NOT_VERIFIED = 1


REFUSED = (EXIT_REFUSED, "refused: bad input or an unreachable database; one line on stderr, "
                         "nothing written")
# each subcommand's own exit codes, as its --help lists them
EXIT_CODES: dict[str, tuple[tuple[int, str], ...]] = {
    "snapshot": ((0, "the baseline manifest is written"), REFUSED),
    "assess": (
        (0, "no automatic rollback is due, and every Critical trigger was measured"),
        (EXIT_NOT_VERIFIED, "could not verify: nothing fired, but a trigger's measurement failed "
                            "or a Critical trigger could not be evaluated (the output names what "
                            "is missing)"),
        REFUSED,
        (EXIT_ROLLBACK_DUE, "an automatic rollback is due (the matrix's Critical row), even when "
                            "-o cannot be written")),
    "verify": (
        (0, "verified: every file as SHA256SUMS lists it (and the signature good, when checked)"),
        (EXIT_NOT_VERIFIED, "not verified: a file changed, was added or is missing; a bad "
                            "signature; or --allowed-signers given and the run is unsigned"),
        (EXIT_REFUSED, "nothing to verify: no such folder, or no SHA256SUMS in it")),
    "serve-db": ((0, "stopped by Ctrl-C or SIGTERM, nothing left behind"), REFUSED),
    "profile": ((0, "the profile is valid (its settings printed)"), REFUSED),
    "role-sql": ((0, "the CREATE ROLE printed"),),
    "diff-rows": (
        (0, "every table's rows are as the baseline's row digests have them"),
        (EXIT_NOT_VERIFIED, "rows differ (each changed, missing and added key listed), or a "
                            "table could not be compared (named, with why)"),
        REFUSED),
}
OVERVIEW = """exit codes: each command's --help lists its own (rollbook COMMAND --help).
Run `pytest drills/` or `pytest checks/` for the drills and the operator checks."""


def exit_codes(command: str) -> str:
    return "exit codes:\n" + "\n".join(
        textwrap.fill(text, 79, initial_indent=f"  {code}  ", subsequent_indent="     ")
        for code, text in EXIT_CODES[command])


def default_envs_dir() -> Path:
    """./envs; a profile not found there is looked up among rollbook's built-in ones."""
    return Path.cwd() / "envs"


def _command(commands, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose own --help starts with its summary and ends with its exit codes."""
    return commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:]
                               + ".", epilog=exit_codes(name),
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollbook", description=__doc__.split("\n\n")[0],
        epilog=OVERVIEW, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"rollbook {package_version('rollbook')}")
    commands = parser.add_subparsers(dest="command", required=True)

    def baseline_options(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--baseline", help=f"{what} (env ROLLBOOK_BASELINE)")
        sub.add_argument("--foreign-baseline", action="store_true", default=None,
                         help="compare with a baseline taken from another database or "
                              "cluster (the same data restored elsewhere); said in the output "
                              "(env ROLLBOOK_FOREIGN_BASELINE, profile foreign_baseline = true)")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--env", help="profile: NAME for envs/NAME.toml or a .toml path "
                         "(env ROLLBOOK_ENV, default local)")
        sub.add_argument("--dsn", help="database to use instead of the profile's (env "
                         "ROLLBOOK_DSN); keep the password in PGPASSWORD or ~/.pgpass")
        sub.add_argument("--envs-dir", type=Path, default=None,
                         help="where profiles live (default: ./envs, then the built-in ones)")

    snap = _command(commands, "snapshot", "write the baseline manifest of a live "
                               "database, read-only")
    common(snap)
    snap.add_argument("--output", "-o", type=Path, required=True, help="manifest file to write")
    snap.add_argument("--force", action="store_true", help="overwrite an existing file")
    snap.add_argument("--visible-rows-only", action="store_true",
                      help="record tables whose row-level security hides rows from the role "
                           "as the role sees them (named in the baseline) instead of refusing")
    snap.add_argument("--row-digests", action=argparse.BooleanOptionalAction, default=None,
                      help="keep each row's key and hash beside the manifest (OUTPUT's name "
                      "with .rows), so a content mismatch names its rows (default: below the "
                      "profile's [content] row_digests_below rows)")

    judge = _command(commands, "assess", "measure every rollback trigger and decide "
                                "per the runbook's matrix; exit 3 when an automatic "
                                "rollback is due")
    common(judge)
    baseline_options(judge, "baseline manifest to compare against")
    judge.add_argument("--api-url", help="API to smoke-test instead of the profile's "
                       "[api] base_url (env ROLLBOOK_API_URL)")
    judge.add_argument("--no-api", action="store_true", help="assess the database only")
    judge.add_argument("--output", "-o", type=Path, help="also write the decision as JSON")
    judge.add_argument("--reported", action="append", default=[], metavar="TRIGGER",
                       type=monitoring_signals.reported_argument,
                       help="a trigger people reported (repeatable): " + ", ".join(
                           f"'{name}'" for name in monitoring_signals.REPORTED_BY_PEOPLE))
    judge.add_argument("--no-watch", action="store_true", help="skip the watch over the "
                       "profile's [monitoring] window_s (health, /metrics, database activity)")

    check = _command(commands, "verify", "check a run folder's SHA256SUMS and its "
                                "signature; exit 1 naming every file changed, added or missing")
    check.add_argument("run_dir", type=Path, help="a run folder, e.g. reports/latest")
    check.add_argument("--allowed-signers", type=Path, default=None,
                       help="ssh allowed-signers file: the signature must be by one of them")

    served = _command(commands, "serve-db", "serve a live Vibes database (and its API) "
                                 "to try the operator's commands on; Ctrl-C stops it")
    served.add_argument("--scale", default="tiny", help="seed size: tiny, 100k, 1m, ... "
                        "(default tiny)")
    served.add_argument("--revision", default="0001", help="Vibes revision to serve: 0001 "
                        "(integer keys, default) or 0002 (uuid keys)")
    served.add_argument("--with-api", action="store_true", help="also serve the Vibes API")

    show = _command(commands, "profile", "validate a profile and show the settings "
                               "it resolves to")
    common(show)

    rows = _command(commands, "diff-rows", "list every changed, missing and added key of "
                               "each table against a baseline's row digests, read-only; with "
                               "--against, the columns that differ")
    common(rows)
    baseline_options(rows, "baseline manifest taken with row digests")
    rows.add_argument("--against", metavar="DSN", help="a database holding the rows as they "
                      "were (e.g. a backup restored): name the columns that differ for each "
                      "changed key; keep its password in PGPASSWORD or ~/.pgpass")
    rows.add_argument("--table", action="append", default=[], help="only this table "
                      "(repeatable; default: every table of the baseline)")
    rows.add_argument("--format", choices=diff_rows.FORMATS, default="table",
                      help="table for people (capped on screen), jsonl for machines (every key)")
    rows.add_argument("--output", "-o", type=Path, help="also write every key and whole "
                      "values there, in --format")
    rows.add_argument("--force", action="store_true", help="overwrite an existing --output")

    grant = _command(commands, "role-sql", "print the CREATE ROLE that is enough for the "
                                "checks: it reads every table and the statistics, nothing more")
    grant.add_argument("--name", default=role.CHECKER_ROLE,
                       help=f"the role's name (default {role.CHECKER_ROLE})")
    return parser


def _settings(args: argparse.Namespace, *, need_dsn: bool = True) -> Settings:
    cli = {"env": args.env, "dsn": args.dsn, "baseline": getattr(args, "baseline", None),
           "api_url": getattr(args, "api_url", None), "pg_backend": None, "pg_bin_dir": None,
           "scale": None, "foreign_baseline": getattr(args, "foreign_baseline", None)}
    return resolve(cli, os.environ, args.envs_dir or default_envs_dir(), need_dsn=need_dsn)


def _warn(line: str) -> None:
    print(f"rollbook: {redact_text(line)}", file=sys.stderr)


def cmd_snapshot(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.dsn is None:
        raise RollbookError(f"profile {settings.profile.name} is embedded: its database only "
                            "exists while the suite runs.",
                            hint="pass --dsn (or set ROLLBOOK_DSN) to snapshot a live database.")
    output: Path = args.output
    reason = output_mod.why_not_writable(output, "--output")
    if reason:
        raise RollbookError(f"{reason}.", hint=output_mod.HINT)
    for path in (output, output.with_name(row_digests.sidecar_name(output.name))):
        if path.exists() and not args.force:
            raise RollbookError(f"{path} already exists; a baseline is not overwritten by "
                                "accident.", hint="choose another --output, or pass --force.")
    with checks_connection(settings.profile, settings.dsn) as conn:
        warning = role.write_warning(conn)
        taken = snapshot.take(conn, settings.profile, rows=args.row_digests,
                              visible_rows_only=args.visible_rows_only,
                              second=lambda: checks_connection(settings.profile, settings.dsn))
    if warning:
        _warn(warning)
    output_mod.write_atomically(output, lambda partial: taken.save(partial, output.name),
                                "--output")
    rows = sum(t.rows for t in taken.tables.values())
    print(f"wrote {output}: {len(taken.tables)} tables, {rows:,} rows, revision "
          f"{','.join(taken.revision) or '<none>'}, {len(taken.plans)} key queries timed, "
          f"database {taken.database['name']} (system {taken.database['system_identifier']}),"
          f" sha256 {taken.sha256}")
    if taken.rows_path is not None:
        print(f"wrote {taken.rows_path}: row digests of {rows:,} rows, "
              f"{taken.rows_path.stat().st_size:,} bytes")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = settings.profile
    if settings.dsn is None:
        raise RollbookError(f"profile {profile.name} is embedded: its database only exists "
                            "while the suite runs.", hint="pass --dsn (or set ROLLBOOK_DSN).")
    known = baseline.load(settings.baseline_path) if settings.baseline_path else None
    api_url = None if args.no_api else settings.api_url
    report = api.smoke(api.plan_for(profile, api_url)) if api_url else None
    scripts = read_scripts(profile)
    with checks_connection(profile, settings.dsn) as conn:
        query_guard.refuse(conn, profile.queries)  # before anything is measured
        mismatch = (wrong_baseline(conn, known, settings.baseline_path,
                                   settings.foreign_baseline) if known else None)
        if mismatch:
            raise RollbookError(mismatch)
        note = foreign_baseline_note(conn, known, settings.foreign_baseline) if known else None
        if note:
            _warn(f"note: {note}")
        for warning in filter(None, (role.write_warning(conn), role.unreadable_tables(conn))):
            _warn(warning)
        observed = None if args.no_watch else observation.observe_live(
            conn, profile, api_url=api_url, baseline=known)
        decision = triggers.decide(assess.critical_must_be_measured(assess.measure(
            conn, profile, scripts, known, report, observed=observed,
            reported=tuple(args.reported))))
    print(decision.report())
    code = (EXIT_ROLLBACK_DUE if decision.automatic_rollback_due else
            EXIT_NOT_VERIFIED if decision.could_not_verify else 0)
    if args.output:
        text = json.dumps(decision.to_dict(), indent=2, default=str) + "\n"
        try:
            output_mod.write_atomically(
                args.output, lambda path: path.write_text(text, encoding="utf-8"), "--output")
        except RollbookError as exc:  # the decision stands; its exit code must too
            _warn(f"error: {exc.one_line()}")
            return code or EXIT_REFUSED
    return code


def cmd_profile(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = settings.profile
    print(profile.describe())
    if settings.dsn:
        print(f"  database: {redact_dsn(settings.dsn)} (set by {settings.dsn_source})")
    else:
        print("  database: an embedded PostgreSQL that `pytest checks/` starts, migrates and "
              "seeds for the run (pass --dsn to use a live one)")
    if settings.baseline_path:
        print(f"  baseline: {settings.baseline_path} (set by {settings.baseline_source})")
    elif settings.dsn:
        print("  baseline: none; the checks compare with the profile's expectations (take one "
              "with `rollbook snapshot`, pass it with --baseline)")
    elif profile.embedded.snapshot:
        print("  baseline: the snapshot the embedded preparation takes right after seeding")
    else:
        print("  baseline: none; the checks compare with the profile's expectations")
    print(f"  alembic: {profile.alembic.ini or 'none'}, expected revision "
          f"{profile.alembic.expected_revision or 'any'}")
    print(f"  key queries: {', '.join(q.name for q in profile.queries) or 'none'}")
    print(f"  monitoring: {observation.describe(profile)}")
    print(f"  session: read-only, statement_timeout {profile.database.statement_timeout_ms} ms,"
          f" lock_timeout {profile.database.lock_timeout_ms} ms, application_name "
          f"{profile.database.application_name}")
    return 0


def cmd_role_sql(args: argparse.Namespace) -> int:
    print(role.create_role_sql(args.name))
    print("-- then give it a password (ALTER ROLE ... PASSWORD) or a pg_hba.conf entry; a table "
          "with row-level security needs, as a superuser, ALTER ROLE ... BYPASSRLS; or a "
          "policy FOR SELECT TO the role, or its rows cannot be verified")
    return 0


def cmd_diff_rows(args: argparse.Namespace) -> int:
    request = diff_rows.Request(_settings(args), args.against, args.table, args.format,
                                args.output, args.force)
    found = diff_rows.diff(request, _warn)
    if args.output:
        text = diff_rows.render(found, request, whole=True)
        output_mod.write_atomically(
            args.output, lambda path: path.write_text(text, encoding="utf-8"), "--output")
    print(diff_rows.render(found, request, whole=False), end="")
    return EXIT_NOT_VERIFIED if diff_rows.differs(found) else 0


def cmd_verify(args: argparse.Namespace) -> int:
    found = manifest.verify(args.run_dir, args.allowed_signers)
    print("\n".join(found.lines()))
    return 0 if found.ok else EXIT_NOT_VERIFIED


def cmd_serve_db(args: argparse.Namespace) -> int:
    serve.serve(scale=args.scale, revision=args.revision, with_api=args.with_api,
                say=lambda line: print(line, flush=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        commands = {"snapshot": cmd_snapshot, "assess": cmd_assess, "profile": cmd_profile,
                    "verify": cmd_verify, "serve-db": cmd_serve_db, "role-sql": cmd_role_sql,
                    "diff-rows": cmd_diff_rows}
        return commands[args.command](args)
    except RollbookError as exc:
        lines = getattr(exc, "mistakes", None) or [exc.one_line()]
    except psycopg.Error as exc:
        lines = [f"the database refused: {str(exc).strip().splitlines()[0]}"]
    for line in lines:
        print(f"rollbook: error: {redact_text(line)}", file=sys.stderr)
    return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
