"""Row-level-security policies: command, permissive or restrictive, roles, USING and WITH
CHECK. (Whether a table enables or forces row-level security is a table option.)"""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, display_name

POLICIES_SQL = """\
SELECT n.nspname, c.relname, pol.polname, pol.polcmd, pol.polpermissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(pol.polroles) r ORDER BY 1),
       pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""

COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


@dataclass(frozen=True)
class Policy:
    table: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None


def _read(rows: list[tuple]) -> dict[str, Policy]:
    return {f"{display_name(nsp, rel)}.{name}": Policy(
                display_name(nsp, rel), COMMANDS.get(cmd, cmd), permissive, tuple(roles), using,
                check)
            for nsp, rel, name, cmd, permissive, roles, using, check in rows}


def _brief(p: Policy) -> str:
    kind = "permissive" if p.permissive else "restrictive"
    return f"{kind} FOR {p.command} TO {', '.join(p.roles)} USING ({p.using})"


POLICIES = Kind("policy", "policies", POLICIES_SQL, _read, Policy,
                ("command", "permissive", "roles", "using", "with_check"), brief=_brief,
                table_of=lambda name, p: p.table)
