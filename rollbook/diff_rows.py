"""`rollbook diff-rows`: the keys whose rows differ from a baseline's row digests, per table, read
from a live database over read-only checks connections (verdicts/row_diff.py finds them).

Shown as a table for people (SHOWN keys of each kind per table and values cut at VALUE_WIDTH
characters, on screen) or as JSON lines for machines (`--format jsonl`: every key); `--output`
writes every key and whole values, in the chosen format, whole or not at all.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollbook.errors import ConfigError
from rollbook.measure import baseline as baseline_mod
from rollbook.record import output as output_mod
from rollbook.settings.resolve import Settings
from rollbook.settings.target import checks_connection, foreign_baseline_note, wrong_baseline
from rollbook.verdicts import row_diff

SHOWN = 10  # keys of each kind per table, on screen
VALUE_WIDTH = 40  # characters of a value, on screen
FORMATS = ("table", "jsonl")


@dataclass
class Request:
    settings: Settings
    against: str | None
    tables: list[str]
    format: str
    output: Path | None
    force: bool


def refuse_output(output: Path | None, force: bool) -> None:
    """Refuse, before anything is read, an --output that cannot or should not be written."""
    if output is None:
        return
    reason = output_mod.why_not_writable(output, "--output")
    if reason:
        raise ConfigError(f"{reason}.", hint=output_mod.HINT)
    if output.exists() and not force:
        raise ConfigError(f"--output {output} already exists.",
                          hint="choose another --output, or pass --force.")


def _baseline(settings: Settings, tables: list[str]) -> baseline_mod.Baseline:
    if settings.baseline_path is None:
        raise ConfigError("diff-rows needs a baseline.", hint="pass --baseline FILE (or set "
                          "ROLLBOOK_BASELINE), taken with `rollbook snapshot`.")
    known = baseline_mod.load(settings.baseline_path)
    if known.rows_path is None:
        raise ConfigError(f"baseline {settings.baseline_path} kept no row digests, so it "
                          "cannot name rows.", hint="take one with `rollbook snapshot "
                          "--row-digests --output FILE`.")
    unknown = [t for t in tables if t not in known.tables]
    if unknown:
        raise ConfigError(f"--table {', '.join(unknown)}: not in baseline "
                          f"{settings.baseline_path}.",
                          hint=f"its tables: {', '.join(sorted(known.tables))}.")
    return known


def diff(request: Request, warn: Callable[[str], None]) -> list[row_diff.TableDiff]:
    """Every table's differing keys (and, with --against, their differing columns)."""
    settings = request.settings
    if settings.dsn is None:
        raise ConfigError(f"profile {settings.profile.name} is embedded: its database only "
                          "exists while the suite runs.", hint="pass --dsn (or set ROLLBOOK_DSN).")
    refuse_output(request.output, request.force)
    known = _baseline(settings, request.tables)
    with ExitStack() as stack:
        conn = stack.enter_context(checks_connection(settings.profile, settings.dsn))
        mismatch = wrong_baseline(conn, known, settings.baseline_path, settings.foreign_baseline)
        if mismatch:
            raise ConfigError(mismatch)
        note = foreign_baseline_note(conn, known, settings.foreign_baseline)
        if note:
            warn(f"note: {note}")
        old = (stack.enter_context(checks_connection(settings.profile, request.against))
               if request.against else None)
        found = []
        for table in request.tables or sorted(known.tables):
            table_diff = row_diff.diff_table(conn, known, table)
            if old is not None:
                row_diff.add_columns(table_diff, old, conn, known)
            found.append(table_diff)
    return found


def _cut(value: Any, whole: bool) -> str:
    """A key or value on one line (NULL for SQL's), cut on screen."""
    if value is None:
        return "NULL"
    value = str(value).replace("\n", "\\n").replace("\t", "\\t")
    return value if whole or len(value) <= VALUE_WIDTH else value[:VALUE_WIDTH - 1] + "…"


def _rows(diff: row_diff.TableDiff, whole: bool) -> list[tuple[str, ...]]:
    rows = []
    for kind in row_diff.KINDS:
        keys = getattr(diff, kind)
        for key in keys if whole else keys[:SHOWN]:
            rows.append((diff.table, kind, _cut(key, whole), "", "", ""))
            if kind == "changed" and key in diff.absent_old:
                rows.append(("", "", "", "(no row of this key in --against)", "", ""))
            for change in diff.columns.get(key, []) if kind == "changed" else []:
                rows.append(("", "", "", change.column + (f" (not in {change.absent})"
                                                          if change.absent else ""),
                             _cut(change.old, whole), _cut(change.new, whole)))
            if kind == "changed" and key in diff.not_baseline:
                rows.append(("", "", "", "(the --against row is not the baseline's either)",
                             "", ""))
        if not whole and len(keys) > SHOWN:
            rows.append((diff.table, kind, f"… {len(keys) - SHOWN} more", "", "", ""))
    return rows


def table_text(diffs: list[row_diff.TableDiff], whole: bool, against: bool) -> str:
    """The differing keys as an aligned table, then one line a table not compared and a total."""
    header = ("TABLE", "KIND", "KEY", *(("COLUMN", "OLD", "NEW") if against else ()))
    rows = [r[:len(header)] for d in diffs for r in _rows(d, whole)]
    lines = []
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in [header, *rows]]
    lines += [f"{d.table}: not compared: {d.why}" for d in diffs if d.why]
    if not whole and any(len(getattr(d, kind)) > SHOWN for d in diffs for kind in row_diff.KINDS):
        lines.append(f"(the first {SHOWN} keys of each kind per table shown: every key with "
                     "--output FILE or --format jsonl)")
    counts = {kind: sum(len(getattr(d, kind)) for d in diffs) for kind in row_diff.KINDS}
    differing = sum(1 for d in diffs if len(d))
    lines.append(f"{len(diffs)} tables compared with the baseline's row digests: "
                 f"{differing} with differing rows ("
                 + ", ".join(f"{n:,} {kind}" for kind, n in counts.items()) + ")")
    return "\n".join(lines) + "\n"


def jsonl_text(diffs: list[row_diff.TableDiff]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, default=str) + "\n"
                   for d in diffs for record in d.records())


def render(diffs: list[row_diff.TableDiff], request: Request, *, whole: bool) -> str:
    if request.format == "jsonl":
        return jsonl_text(diffs)
    return table_text(diffs, whole, request.against is not None)


def differs(diffs: list[row_diff.TableDiff]) -> bool:
    return any(len(d) or d.why for d in diffs)

