"""Functions, procedures and aggregates: their full definition (arguments, result, language,
volatility, security, settings and body), named by their signature."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, display_name

# pg_get_functiondef cannot print an aggregate; its parts are printed instead.
ROUTINES_SQL = f"""\
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
       CASE p.prokind WHEN 'a' THEN format(
           'AGGREGATE (SFUNC = %%s, STYPE = %%s, FINALFUNC = %%s, INITCOND = %%s) RETURNS %%s',
           ag.aggtransfn, format_type(ag.aggtranstype, NULL), ag.aggfinalfn, ag.agginitval,
           pg_get_function_result(p.oid))
       ELSE pg_get_functiondef(p.oid) END
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE p.prokind {{kinds}} AND n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid="'pg_proc'", objid="p.oid")}
ORDER BY 1, 2, 3"""


@dataclass(frozen=True)
class Routine:
    definition: str


def _read(rows: list[tuple]) -> dict[str, Routine]:
    return {display_name(nsp, f"{name}({arguments})"): Routine(definition)
            for nsp, name, arguments, definition in rows}


FUNCTIONS = Kind("function", "functions", ROUTINES_SQL.format(kinds="<> 'p'"), _read, Routine,
                 ("definition",), brief=lambda r: r.definition)
PROCEDURES = Kind("procedure", "procedures", ROUTINES_SQL.format(kinds="= 'p'"), _read, Routine,
                  ("definition",), brief=lambda r: r.definition)
