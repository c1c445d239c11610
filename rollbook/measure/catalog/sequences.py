"""Sequences: their definition and the column that owns them, never their last_value (data)."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import UNRECORDED, Kind, display_name

# A sequence is owned by a column through pg_depend: deptype 'a' for serial, 'i' for identity.
SEQUENCES_SQL = """\
SELECT n.nspname, s.relname, format_type(seq.seqtypid, NULL), seq.seqincrement,
       owner.nspname, owner.relname, owner.attname, seq.seqstart, seq.seqmin, seq.seqmax,
       seq.seqcache, seq.seqcycle, s.relpersistence = 'u'
FROM pg_sequence seq
JOIN pg_class s ON s.oid = seq.seqrelid
JOIN pg_namespace n ON n.oid = s.relnamespace
LEFT JOIN LATERAL (
    SELECT tn.nspname, t.relname, a.attname
    FROM pg_depend d
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      AND d.refobjsubid > 0
    LIMIT 1) owner ON true
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""


@dataclass(frozen=True)
class Sequence:
    name: str
    data_type: str
    increment: int
    owned_by: str | None  # "table.column"
    start: int
    minimum: int
    maximum: int
    cache: int
    cycle: bool
    unlogged: bool


def _read(rows: list[tuple]) -> dict[str, Sequence]:
    return {display_name(nsp, name): Sequence(
                display_name(nsp, name), data_type, increment,
                f"{display_name(onsp, orel)}.{ocol}" if orel else None,
                start, minimum, maximum, cache, cycle, unlogged)
            for nsp, name, data_type, increment, onsp, orel, ocol, start, minimum, maximum,
            cache, cycle, unlogged in rows}


def _owner_table(name: str, sequence: Sequence) -> str | None:
    owner = sequence.owned_by
    return owner.rsplit(".", 1)[0] if owner and owner != UNRECORDED else None


SEQUENCES = Kind("sequence", "sequences", SEQUENCES_SQL, _read, Sequence,
                 ("data_type", "increment", "owned_by", "start", "minimum", "maximum", "cache",
                  "cycle", "unlogged"),
                 brief=lambda s: s.data_type, table_of=_owner_table)
