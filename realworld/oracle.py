"""A pytest plugin (`-p realworld.oracle`) that holds each every-revision drill to pg_dump.

It changes nothing the drill does. When a drill's call ends (before its database is dropped),
it dumps the parent's template (the database before the upgrade, never touched by the drill)
and the drill's copy after the downgrade with the server's own pg_dump, compares them
(realworld/pgdump.py), and sets what pg_dump shows beside what rollbook reported: the subjects
(a table, or another object) with a schema or data difference on each side. It appends one
JSON line per revision to $REALWORLD_OUT; `agree` is false when the two differ.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psycopg
import pytest

from realworld import pgdump

DRILL = "test_revision_downgrade_on_data"
FIRST_LINE = re.compile(r"^\S+: downgrade to \S+ left \d+ difference\(s\) from the baseline:$")
DATA_CHECKS = ("content", "row count", "unique", "orphans", "time range")
SCRIPT_LINE = re.compile(r" raised \w+ in (\S+\.py):(\d+): ")


def rollbook_subjects(lines: list[str], index_tables: dict[str, str]) -> set[tuple[str, str]]:
    """The (schema|data, subject) pairs rollbook's difference lines name."""
    found = set()
    for line in lines:
        head, _, rest = line.partition(": ")
        if head in DATA_CHECKS:
            target = rest.split(":", 1)[0].split(" -> ")[0].strip()
            table = target.rsplit(".", 1)[0] if head in ("orphans", "time range") else target
            found.add(("data", table.split(" ")[0]))
        elif head == "key type":
            found.add(("schema", rest.split(":", 1)[0].rsplit(".", 1)[0]))
        elif head.startswith("sequence ") and " ahead of " in head:
            found.add(("data", "sequence " + head.split(" ")[1]))
        else:
            kind, _, name = head.partition(" ")
            if " on " in name:
                found.add(("schema", name.rsplit(" on ", 1)[1]))
            elif kind == "column":
                found.add(("schema", name.rsplit(".", 1)[0]))
            elif kind == "index":
                found.add(("schema", index_tables.get(name, f"index {name}")))
            elif kind in ("table", "view"):
                found.add(("schema", name))
            else:
                found.add(("schema", f"{kind} {name}"))
    return found


def _source_line(scripts: str, name: str, line: str) -> str:
    for path in sorted(Path(scripts).rglob(name)):
        return f"{name}:{line}: {path.read_text().splitlines()[int(line) - 1].strip()}"
    return f"{name}:{line}"


def _revision(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        present = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall() if present \
            else []
    return ",".join(r[0] for r in rows) or "base"


def _dumps(server, database: str) -> tuple[str, str]:
    tool = str(server.installation.tool("pg_dump"))
    dsn, env = server.client_dsn(database), server.client_env()
    return (pgdump.dump(tool, dsn, env, "--schema-only"),
            pgdump.dump(tool, dsn, env, "--data-only"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if item.originalname != DRILL or "REALWORLD_OUT" not in os.environ:
        return
    args = item.funcargs
    step, server, templates = args["revision_step"], args["pg_server"], args["parent_templates"]
    error = outcome.excinfo[1] if outcome.excinfo else None
    message = str(getattr(error, "message", error) or "")
    lines = message.splitlines()
    entry = {"revision": step.revision, "parent": step.parent, "passed": error is None,
             "rollbook": lines}
    template = templates.made.get(step.parent)
    copies = args["revision_database"]
    where = SCRIPT_LINE.search(message)
    if where:  # the line of the project's script the migration raised at, as evidence
        entry["source"] = _source_line(templates.migrations("").scripts.dir, *where.groups())
    if template is None or not copies:
        entry.update(compared=False, why="no database at the parent was made")
    elif _revision(server.dsn(copies[0])) != step.parent:
        entry.update(compared=False, why="the drill's database is not at the parent")
    elif lines and not FIRST_LINE.match(lines[0]):
        entry.update(compared=False, why="the drill failed before comparing")
    else:
        before, after = _dumps(server, template.name), _dumps(server, copies[0])
        kept = args["drill"].record.facts.get("rows_kept", {})
        oracle = pgdump.compare(before[0], after[0], before[1], after[1], kept)
        entries = {**pgdump.schema_entries(before[0]), **pgdump.schema_entries(after[0])}
        index_tables = {e.name: e.subject for e in entries.values() if e.type == "INDEX"}
        said = rollbook_subjects(lines[1:], index_tables)
        shown = oracle.subjects()
        entry.update(compared=True, agree=said == shown,
                     rollbook_only=sorted(map(list, said - shown)),
                     pg_dump_only=sorted(map(list, shown - said)),
                     pg_dump={"schema": oracle.schema, "data": oracle.data})
    with Path(os.environ["REALWORLD_OUT"]).open("a") as out:
        out.write(json.dumps(entry) + "\n")
