"""Functions, procedures and aggregates: their full definition (arguments, result, language,
volatility, security, settings and body), named by their signature's types."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, short_identity

# pg_get_functiondef cannot print an aggregate; its parts are printed instead.
ROUTINES_SQL = f"""\
SELECT (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity,
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
ORDER BY 1"""


@dataclass(frozen=True)
class Routine:
    definition: str


def _read(rows: list[tuple]) -> dict[str, Routine]:
    return {short_identity(identity): Routine(definition) for identity, definition in rows}


FUNCTIONS = Kind("function", "functions", ROUTINES_SQL.format(kinds="<> 'p'"), _read, Routine,
                 ("definition",), brief=lambda r: r.definition)
PROCEDURES = Kind("procedure", "procedures", ROUTINES_SQL.format(kinds="= 'p'"), _read, Routine,
                  ("definition",), brief=lambda r: r.definition)
