"""The oracle: PostgreSQL's own pg_dump of the parent before the upgrade and of the drill's
database after the downgrade, and what differs between them, per table (or other object).

`pg_dump --schema-only` is split into its archive entries (the `-- Name: N; Type: T; Schema:
S; Owner: O` headers pg_dump writes); an entry whose text differs, or that only one side has,
is a schema difference of the relation it belongs to. `pg_dump --data-only` gives each table's
rows (COPY blocks), compared as sorted multisets of rows keyed by column name, and each
sequence's setval. Rows the drill wrote on the revision and kept are set aside by count: a
table differs when a parent row is gone or changed, or when the rows added are not exactly the
rows kept. A sequence differs when it went back (rows written move it forward).
"""
from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field

HEADER = re.compile(r"^-- (?:Data for )?Name: (?P<name>.*?); Type: (?P<type>.*?); "
                    r"Schema: (?P<schema>.*?); Owner: (?P<owner>.*)$")
COPY = re.compile(r"^COPY (?P<table>\S+) \((?P<columns>.*)\) FROM stdin;$")
SETVAL = re.compile(r"^SELECT pg_catalog\.setval\('(?P<sequence>[^']+)', (?P<value>\d+), "
                    r"(?P<called>true|false)\);$")
INDEX_ON = re.compile(r"\bON (?:ONLY )?(?P<table>\S+) USING\b")
# entries named "<table> <object>": what belongs to one table
TABLE_FIRST = {"CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "POLICY", "RULE", "DEFAULT",
               "ROW SECURITY", "CHECK CONSTRAINT"}
# what pg_dump writes between entries for the session, not the schema (and psql's \restrict
# lines, a random key per dump)
SESSION_LINES = ("--", "\\restrict", "\\unrestrict", "SET ", "SELECT pg_catalog.set_config(")
RELATIONS = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"}


def short(name: str) -> str:
    """A relation as rollbook names it: bare in public, schema-qualified elsewhere."""
    return name[len("public."):] if name.startswith("public.") else name


def dump(pg_dump: str, dsn: str, env: dict[str, str], *what: str) -> str:
    done = subprocess.run([pg_dump, "--no-password", *what, "--dbname", dsn], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump {' '.join(what)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Entry:
    type: str
    name: str
    schema: str
    text: str

    @property
    def subject(self) -> str:
        """The table (or other object) this entry belongs to, as rollbook names it."""
        qualify = (lambda n: short(f"{self.schema}.{n}")) if self.schema != "-" else short
        if self.type in RELATIONS:
            return qualify(self.name)
        if self.type in TABLE_FIRST:
            return qualify(self.name.split(" ", 1)[0])
        if self.type == "INDEX":
            found = INDEX_ON.search(self.text)
            return short(found["table"]) if found else qualify(self.name)
        if self.type in ("COMMENT", "ACL"):
            kind, _, what = self.name.partition(" ")
            if kind == "COLUMN":
                return qualify(what.rsplit(".", 1)[0])
            if kind in ("TABLE", "VIEW"):
                return qualify(what)
        if self.type == "SEQUENCE OWNED BY":
            return qualify(self.name)
        return f"{self.type.lower()} {qualify(self.name)}"


def schema_entries(text: str) -> dict[tuple[str, str, str], Entry]:
    """pg_dump --schema-only's entries, by (type, schema, name); each one's statements with
    comments, blank lines and psql's \\restrict lines (a random key per dump) left out."""
    entries: dict[tuple[str, str, str], Entry] = {}
    current: re.Match | None = None
    lines: list[str] = []

    def close():
        if current is not None:
            key = (current["type"], current["schema"], current["name"])
            entries[key] = Entry(current["type"], current["name"], current["schema"],
                                 "\n".join(lines))

    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            close()
            current, lines = header, []
        elif line.strip() and not line.startswith(SESSION_LINES):
            lines.append(line)
    close()
    return entries


@dataclass
class Data:
    rows: dict[str, Counter] = field(default_factory=dict)  # table -> Counter of row texts
    sequences: dict[str, tuple[int, bool]] = field(default_factory=dict)


def data_of(text: str) -> Data:
    """pg_dump --data-only's rows per table (each as `column=value` pairs in column order,
    so a column's place does not count) and each sequence's value."""
    data = Data()
    copying: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        if copying is not None:
            if line == "\\.":
                copying = None
                continue
            table, columns = copying
            data.rows[table][" | ".join(sorted(
                f"{c}={v}" for c, v in zip(columns, line.split("\t"), strict=True)))] += 1
            continue
        found = COPY.match(line)
        if found:
            table = short(found["table"])
            copying = (table, [c.strip() for c in found["columns"].split(",")])
            data.rows.setdefault(table, Counter())
            continue
        setval = SETVAL.match(line)
        if setval:
            data.sequences[short(setval["sequence"])] = (int(setval["value"]),
                                                         setval["called"] == "true")
    return data


@dataclass
class Differences:
    """What pg_dump shows differs, per subject: `schema` and `data`, each subject with the
    pg_dump lines that show it (- before the upgrade, + after the downgrade)."""

    schema: dict[str, list[str]] = field(default_factory=dict)
    data: dict[str, list[str]] = field(default_factory=dict)

    def subjects(self) -> set[tuple[str, str]]:
        return {("schema", s) for s in self.schema} | {("data", s) for s in self.data}


def compare(before_schema: str, after_schema: str, before_data: str, after_data: str,
            kept: dict[str, int]) -> Differences:
    found = Differences()
    old, new = schema_entries(before_schema), schema_entries(after_schema)
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.text == b.text:
            continue
        subject = (a or b).subject
        lines = found.schema.setdefault(subject, [])
        lines += [f"- {line}" for line in (a.text.splitlines() if a else [])
                  if b is None or line not in b.text.splitlines()]
        lines += [f"+ {line}" for line in (b.text.splitlines() if b else [])
                  if a is None or line not in a.text.splitlines()]
        if a is None or b is None:
            lines.insert(0, f"{'-' if b is None else '+'} -- {key[0]} {key[2]} "
                            f"{'only before' if b is None else 'only after'}")
    before, after = data_of(before_data), data_of(after_data)
    for table in sorted(set(before.rows) | set(after.rows)):
        if table not in before.rows or table not in after.rows:
            continue  # a table one side lacks: the schema says it
        gone = before.rows[table] - after.rows[table]
        added = after.rows[table] - before.rows[table]
        if gone or sum(added.values()) != kept.get(table, 0):
            found.data[table] = (
                [f"- {row}" for row in sorted(gone.elements())][:20]
                + [f"+ {row}" for row in sorted(added.elements())][:20]
                + [f"({sum(gone.values())} parent rows gone or changed, "
                   f"{sum(added.values())} added, {kept.get(table, 0)} written and kept)"])
    for sequence in sorted(set(before.sequences) & set(after.sequences)):
        if after.sequences[sequence] < before.sequences[sequence]:
            found.data[f"sequence {sequence}"] = [
                f"- setval('{sequence}', {before.sequences[sequence][0]})",
                f"+ setval('{sequence}', {after.sequences[sequence][0]})"]
    return found
