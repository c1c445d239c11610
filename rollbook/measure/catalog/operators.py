"""Operators (CREATE OPERATOR): operand and result types, function, commutator, negator,
selectivity estimators, HASHES and MERGES; operator classes and families with their members."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import IDENTITY, defined, in_schemas

OPERATORS_SQL = in_schemas("pg_operator", "o", "oprnamespace", """\
format('(%%s, %%s) RETURNS %%s FUNCTION %%s COMMUTATOR %%s NEGATOR %%s RESTRICT %%s '
       'JOIN %%s%%s%%s', o.oprleft::regtype, o.oprright::regtype, o.oprresult::regtype,
       o.oprcode::regprocedure, o.oprcom::regoperator, o.oprnegate::regoperator,
       o.oprrest::regprocedure, o.oprjoin::regprocedure, CASE WHEN o.oprcanhash THEN ' HASHES' END,
       CASE WHEN o.oprcanmerge THEN ' MERGES' END)""")

OPERATOR_CLASSES_SQL = in_schemas("pg_opclass", "c", "opcnamespace", f"""\
format('FOR TYPE %%s USING %%s FAMILY %%s%%s STORAGE %%s', c.opcintype::regtype,
       (SELECT amname FROM pg_am WHERE oid = c.opcmethod),
       {IDENTITY.format(classid="pg_opfamily", objid="c.opcfamily")},
       CASE WHEN c.opcdefault THEN ' DEFAULT' END, c.opckeytype::regtype)""")

OPERATOR_FAMILIES_SQL = in_schemas("pg_opfamily", "f", "opfnamespace", """\
concat_ws(', ',
    (SELECT string_agg(format('OPERATOR %%s %%s', a.amopstrategy, a.amopopr::regoperator),
                       ', ' ORDER BY a.amopstrategy, a.amopopr::regoperator::text)
     FROM pg_amop a WHERE a.amopfamily = f.oid),
    (SELECT string_agg(format('FUNCTION %%s %%s', p.amprocnum, p.amproc::regprocedure),
                       ', ' ORDER BY p.amprocnum, p.amproc::regprocedure::text)
     FROM pg_amproc p WHERE p.amprocfamily = f.oid))""")

OPERATORS = defined("operator", "operators", OPERATORS_SQL)
OPERATOR_CLASSES = defined("operator class", "operator_classes", OPERATOR_CLASSES_SQL)
OPERATOR_FAMILIES = defined("operator family", "operator_families", OPERATOR_FAMILIES_SQL)
