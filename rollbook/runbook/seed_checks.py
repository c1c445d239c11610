"""What a column's CHECK constraints (and its domain's) allow, for the seeder.

Each constraint is read in PostgreSQL's own parse of `pg_get_constraintdef` (pglast: the
server's parser, no home-made one): a conjunction of what one column may hold — one of a list
(`IN`, `= ANY`, `=`), a range (`<`, `<=`, `>`, `>=`, `BETWEEN`), a length (`length`,
`char_length`), `IS NOT NULL` — with `x IS NULL OR ...` and other `OR`s read by their first
readable branch. What cannot be read that way (two columns compared, a regular expression) is
named, so a failed seed says which constraint it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

LENGTH_FUNCTIONS = {"length", "char_length", "character_length", "octet_length"}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


@dataclass
class Allowed:
    """What one column may hold, by its CHECK constraints."""

    values: tuple[Any, ...] | None = None  # one of these
    lo: Decimal | None = None
    lo_open: bool = False
    hi: Decimal | None = None
    hi_open: bool = False
    min_len: int | None = None
    max_len: int | None = None
    unread: list[str] = field(default_factory=list)  # constraints on it not read

    def bounded(self) -> bool:
        return self.lo is not None or self.hi is not None

    def merged(self, other: "Allowed | None") -> "Allowed":
        """Both sets of rules (a domain's under a column's own)."""
        if other is None:
            return self
        both = Allowed(unread=[*self.unread, *other.unread])
        for values in (self.values, other.values):
            if values is not None:
                both.values = values if both.values is None else tuple(
                    v for v in both.values if v in values)
        for rules in (self, other):
            if rules.lo is not None and (both.lo is None or rules.lo >= both.lo):
                both.lo, both.lo_open = rules.lo, rules.lo_open
            if rules.hi is not None and (both.hi is None or rules.hi <= both.hi):
                both.hi, both.hi_open = rules.hi, rules.hi_open
            if rules.min_len is not None:
                both.min_len = max(both.min_len or 0, rules.min_len)
            if rules.max_len is not None:
                both.max_len = min(rules.max_len, both.max_len if both.max_len is not None
                                   else rules.max_len)
        return both

    def admits(self, value: Any) -> bool:
        """Whether a listed value also keeps the range and length rules."""
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            number = Decimal(value)
            if self.lo is not None and (number < self.lo or (self.lo_open and number == self.lo)):
                return False
            if self.hi is not None and (number > self.hi or (self.hi_open and number == self.hi)):
                return False
        length = len(str(value))
        return not ((self.min_len is not None and length < self.min_len)
                    or (self.max_len is not None and length > self.max_len))


class _Unreadable(Exception):
    pass


def read(definitions: list[tuple[str, str]], *, domain: bool = False) -> dict[str, Allowed]:
    """Column -> what it may hold, from (constraint name, pg_get_constraintdef) pairs of one
    table (of one domain with `domain`: its column is "value")."""
    found: dict[str, Allowed] = {}
    for name, definition in definitions:
        try:
            expression = _expression(definition, domain)
        except ParseError:
            continue  # not a CHECK this parser reads: the insert itself will say
        try:
            for part in _conjuncts(expression):
                _apply(part, found)
        except _Unreadable:
            for column in _columns(expression):
                found.setdefault(column, Allowed()).unread.append(name)
    return found


def _expression(definition: str, domain: bool):
    statement = parse_sql(("ALTER DOMAIN d ADD " if domain else "ALTER TABLE t ADD ")
                          + definition)[0].stmt
    constraint = statement.def_ if domain else statement.cmds[0].def_
    if constraint.contype != enums.ConstrType.CONSTR_CHECK:
        raise ParseError("not a CHECK", 0)
    return constraint.raw_expr


def _conjuncts(node) -> list:
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        return [part for arg in node.args for part in _conjuncts(arg)]
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.OR_EXPR:
        for branch in node.args:  # one branch satisfied satisfies the OR
            if _is_null_test(branch, enums.NullTestType.IS_NULL):
                continue
            try:
                trial: dict[str, Allowed] = {}
                parts = _conjuncts(branch)
                for part in parts:
                    _apply(part, trial)
                return parts
            except _Unreadable:
                continue
        raise _Unreadable
    return [node]


def _apply(node, found: dict[str, Allowed]) -> None:
    if _is_null_test(node, enums.NullTestType.IS_NOT_NULL):
        return
    if not isinstance(node, ast.A_Expr) or not node.name:
        raise _Unreadable
    op = node.name[-1].sval
    kind = node.kind
    if kind == enums.A_Expr_Kind.AEXPR_OP_ANY and op == "=":
        array = _strip(node.rexpr)
        if not isinstance(array, ast.A_ArrayExpr):
            raise _Unreadable
        _values(found, _column(node.lexpr), tuple(_constant(e) for e in array.elements or ()))
    elif kind == enums.A_Expr_Kind.AEXPR_IN and op == "=":
        _values(found, _column(node.lexpr), tuple(_constant(e) for e in node.rexpr))
    elif kind == enums.A_Expr_Kind.AEXPR_BETWEEN:
        low, high = node.rexpr
        _compare(found, node.lexpr, ">=", low)
        _compare(found, node.lexpr, "<=", high)
    elif kind == enums.A_Expr_Kind.AEXPR_OP and op in FLIPPED:
        if _is_reference(node.lexpr):
            _compare(found, node.lexpr, op, node.rexpr)
        else:
            _compare(found, node.rexpr, FLIPPED[op], node.lexpr)
    else:
        raise _Unreadable


def _compare(found: dict[str, Allowed], side, op: str, other) -> None:
    value = _constant(other)
    side = _strip(side)
    if isinstance(side, ast.FuncCall) and side.funcname[-1].sval in LENGTH_FUNCTIONS:
        allowed = found.setdefault(_column(side.args[0]), Allowed())
        if not isinstance(value, int):
            raise _Unreadable
        if op in ("<", "<="):
            limit = value - (op == "<")
            allowed.max_len = limit if allowed.max_len is None else min(allowed.max_len, limit)
        elif op in (">", ">="):
            limit = value + (op == ">")
            allowed.min_len = limit if allowed.min_len is None else max(allowed.min_len, limit)
        elif op == "=":
            allowed.min_len = allowed.max_len = value
        return
    column = _column(side)
    if op == "=":
        _values(found, column, (value,))
        return
    if op == "<>":
        return  # values are made from the row number: one excluded constant is never hit
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _Unreadable  # a bound on text or time: not read
    allowed = found.setdefault(column, Allowed())
    bound = Decimal(value)
    if op in (">", ">=") and (allowed.lo is None or bound >= allowed.lo):
        allowed.lo, allowed.lo_open = bound, op == ">"
    elif op in ("<", "<=") and (allowed.hi is None or bound <= allowed.hi):
        allowed.hi, allowed.hi_open = bound, op == "<"


def _values(found: dict[str, Allowed], column: str, values: tuple[Any, ...]) -> None:
    allowed = found.setdefault(column, Allowed())
    allowed.values = values if allowed.values is None else tuple(
        v for v in allowed.values if v in values)


def _strip(node):
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


def _is_reference(node) -> bool:
    node = _strip(node)
    return isinstance(node, ast.ColumnRef) or (
        isinstance(node, ast.FuncCall) and node.funcname[-1].sval in LENGTH_FUNCTIONS)


def _column(node) -> str:
    node = _strip(node)
    if not isinstance(node, ast.ColumnRef) or not isinstance(node.fields[-1], ast.String):
        raise _Unreadable
    return node.fields[-1].sval


def _constant(node) -> Any:
    node = _strip(node)
    if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP and \
            node.name[-1].sval == "-" and node.lexpr is None:  # a negative literal
        value = _constant(node.rexpr)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return -value
    if not isinstance(node, ast.A_Const) or node.isnull:
        raise _Unreadable
    val = node.val
    if isinstance(val, ast.Integer):
        return val.ival
    if isinstance(val, ast.Float):
        return Decimal(val.fval)
    if isinstance(val, ast.Boolean):
        return val.boolval
    if isinstance(val, ast.String):
        try:  # a number written as a string constant ('-1.5'::numeric), printed alike
            number = Decimal(val.sval)
        except ArithmeticError:
            return val.sval
        return number if number.is_finite() and str(number) == val.sval else val.sval
    raise _Unreadable


def _is_null_test(node, kind) -> bool:
    return isinstance(node, ast.NullTest) and node.nulltesttype == kind


def _columns(node) -> set[str]:
    """Every column a constraint names (to blame the ones it could not read)."""
    found = set()

    def visit(n):
        if isinstance(n, ast.ColumnRef) and isinstance(n.fields[-1], ast.String):
            found.add(n.fields[-1].sval)
        elif isinstance(n, ast.Node):
            for attr in n:
                visit(getattr(n, attr))
        elif isinstance(n, (tuple, list)):
            for item in n:
                visit(item)

    visit(node)
    return found
