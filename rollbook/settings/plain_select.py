"""Is a profile's query one plain SELECT? Read by PostgreSQL's own parser (pglast), refused in
one line otherwise.

The READ ONLY transaction of the checks' connection is what makes writing to tables impossible;
this check refuses, at profile load, what has no business in a measurement: a second statement,
a data-modifying statement anywhere in the tree, SELECT INTO, row locks. It also lists what the
query calls (functions, operators, types it casts to), by the names PostgreSQL's parser reads,
so that `rollbook.pg.query_guard` can resolve each on the server it will run on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from pglast import ast, parse_sql
from pglast.parser import ParseError, scan

# psycopg's placeholders, which are not SQL: %(name)s, %s, and %% for a literal %.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<format>[sbt%]?)")
WRITING_NODES = {ast.InsertStmt: "INSERT", ast.UpdateStmt: "UPDATE", ast.DeleteStmt: "DELETE",
                 ast.MergeStmt: "MERGE"}
LOCK_STRENGTH = {"LCS_FORKEYSHARE": "FOR KEY SHARE", "LCS_FORSHARE": "FOR SHARE",
                 "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE", "LCS_FORUPDATE": "FOR UPDATE"}


@dataclass(frozen=True)
class Call:
    """Something the query makes the server run: a function, an operator, or a cast to a type
    (whose input and cast functions run). `schema` is None when the search path decides."""

    kind: str  # "function" | "operator" | "type"
    schema: str | None
    name: str
    args: int = 0


@dataclass(frozen=True)
class Parsed:
    statement: ast.Node
    placeholders: tuple[str, ...]  # the %(name)s the query holds, in order, once each


class NotPlainSelect(ValueError):
    """Why a text is not one plain SELECT, in one line."""


def placeholders_to_parameters(text: str, *, bound: bool) -> tuple[str, tuple[str, ...]]:
    """`text` with psycopg's %(name)s as $1, $2… (what PostgreSQL's parser reads), and the names.

    bound: the query's values come from a params query (psycopg then reads every %); without
    one the text goes to the server as it is, and a placeholder could never be filled."""
    names: list[str] = []

    def swap(match: re.Match[str]) -> str:
        name, form = match.group("name"), match.group("format")
        if not bound:
            if name is not None:
                raise NotPlainSelect(f"uses the placeholder %({name})s but the query has no "
                                     "params query to fill it; add params = \"SELECT … AS "
                                     f"{name} …\"")
            return match.group(0)
        if form == "%" and name is None:
            return "%"
        if name is None:
            raise NotPlainSelect("holds a '%' that is not a placeholder: with a params query "
                                 "every % is read by psycopg; write a literal % as %%, a value "
                                 "as %(column)s")
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return PLACEHOLDER.sub(swap, text), tuple(names)


def parse(text: str, *, bound: bool = False) -> Parsed:
    """The one SELECT in `text`, parsed; NotPlainSelect says why there is none."""
    parsable, names = placeholders_to_parameters(text, bound=bound)
    try:
        statements = parse_sql(parsable)
    except ParseError as exc:
        raise NotPlainSelect(f"is not valid SQL for PostgreSQL's parser: {exc}") from None
    if len(statements) != 1:
        raise NotPlainSelect(f"must be one statement: it holds {len(statements)} "
                             "(a ';' between statements)" if statements else
                             "must be a SELECT (checks are read-only), got nothing")
    statement = statements[0].stmt
    if not isinstance(statement, ast.SelectStmt):
        start = next(t.start for t in scan(parsable) if not t.name.endswith("COMMENT"))
        words = " ".join(parsable[start:].split()[:3])
        raise NotPlainSelect(f"must be a SELECT (checks are read-only), got {words!r}")
    for node in nodes(statement):
        if type(node) in WRITING_NODES:
            raise NotPlainSelect(f"must be a plain SELECT: it holds {WRITING_NODES[type(node)]}"
                                 " (a data-modifying statement)")
        if isinstance(node, ast.IntoClause):
            raise NotPlainSelect("must be a plain SELECT: SELECT INTO creates a table")
        if isinstance(node, ast.LockingClause):
            strength = LOCK_STRENGTH.get(getattr(node.strength, "name", ""), "FOR UPDATE")
            raise NotPlainSelect(f"must be a plain SELECT: {strength} locks rows")
        if not isinstance(node, (ast.SelectStmt, ast.CommonTableExpr)) and \
                type(node).__name__.endswith("Stmt"):
            raise NotPlainSelect(f"must be a plain SELECT: it holds a {type(node).__name__}")
    return Parsed(statement, names)


def why_not_plain_select(text: str, *, bound: bool = False) -> str | None:
    """Why `text` is not one plain SELECT, or None when it is."""
    try:
        parse(text, bound=bound)
    except NotPlainSelect as exc:
        return str(exc)
    return None


def nodes(node: object) -> Iterator[ast.Node]:
    """Every node of a parse tree, depth first."""
    if isinstance(node, ast.Node):
        yield node
        for attribute in node:
            yield from nodes(getattr(node, attribute))
    elif isinstance(node, tuple):
        for item in node:
            yield from nodes(item)


def _names(items: tuple) -> tuple[str | None, str]:
    words = [item.sval for item in items if isinstance(item, ast.String)]
    return (words[-2] if len(words) > 1 else None), words[-1]


def calls(statement: ast.Node) -> tuple[Call, ...]:
    """What the statement makes the server run, once each, in the order written."""
    found: list[Call] = []
    for node in nodes(statement):
        call = None
        if isinstance(node, ast.FuncCall):
            schema, name = _names(node.funcname)
            call = Call("function", schema, name, len(node.args or ()))
        elif isinstance(node, ast.A_Expr) and node.name:
            schema, name = _names(node.name)
            call = Call("operator", schema, name)
        elif isinstance(node, ast.TypeName) and node.names:
            schema, name = _names(node.names)
            call = Call("type", schema, name)
        if call is not None and call not in found:
            found.append(call)
    return tuple(found)


def output_columns(statement: ast.Node) -> tuple[str, ...] | None:
    """The column names the SELECT returns as PostgreSQL names them, or None when the parser
    alone cannot tell (a `*`, VALUES, a set operation)."""
    if not isinstance(statement, ast.SelectStmt) or not statement.targetList:
        return None
    names = []
    for target in statement.targetList:
        name = target.name or _column_name(target.val)
        if name is None:
            return None
        names.append(name)
    return tuple(names)


def _column_name(value: ast.Node) -> str | None:
    if isinstance(value, ast.ColumnRef):
        last = value.fields[-1]
        return last.sval if isinstance(last, ast.String) else None
    if isinstance(value, ast.FuncCall):
        return _names(value.funcname)[1]
    if isinstance(value, ast.TypeCast):
        return _column_name(value.arg) or _names(value.typeName.names)[1]
    return "?column?"


def unfilled_placeholders(text: str, params: str | None) -> str | None:
    """Why the %(name)s of `text` cannot all be filled by the params query's columns, or None
    (also when the parser alone cannot name those columns: the run checks them again)."""
    if not text or params is None:
        return None
    try:
        needed = parse(text, bound=True).placeholders
        columns = output_columns(parse(params).statement)
    except NotPlainSelect:
        return None
    missing = [name for name in needed if columns is not None and name not in columns]
    if not missing:
        return None
    return (f"uses %({missing[0]})s but the params query returns only {', '.join(columns)}; "
            f"name a column of the params query AS {missing[0]}")
