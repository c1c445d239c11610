"""Every object of the selected schemas that can have an owner, privileges or a comment, as
one SQL CTE shared by the owners, grants and comments comparators.

`scoped` holds (classid, objid, owner, acl, acltype, relnsp, relname): acltype is the object
type acldefault() takes ('r' relation, 's' sequence, 'f' routine, 'T' type, 'n' schema, 'F'
foreign-data wrapper, 'S' foreign server; NULL for objects without privileges) and
relnsp/relname the relation the object belongs to, if any (a relation itself; an index's
table; the table whose column owns a sequence).
Objects created by an extension, and objects on its relations, are left out.
"""
from __future__ import annotations

from rollbook.measure.catalog.base import display_name, short_identity

# Catalogs whose objects sit in a schema and have an owner (or none) but no privileges:
# (catalog, owner column or None, namespace column), each read alike
NAMESPACED = (
    ("pg_collation", "collowner", "collnamespace"), ("pg_operator", "oprowner", "oprnamespace"),
    ("pg_opclass", "opcowner", "opcnamespace"), ("pg_opfamily", "opfowner", "opfnamespace"),
    ("pg_ts_config", "cfgowner", "cfgnamespace"), ("pg_ts_dict", "dictowner", "dictnamespace"),
    ("pg_ts_parser", None, "prsnamespace"), ("pg_ts_template", None, "tmplnamespace"),
    ("pg_conversion", "conowner", "connamespace"),
)


def _namespaced(catalog: str, owner: str | None, namespace: str) -> str:
    """The CTE's rows of `catalog`'s objects in the selected schemas, then the next UNION."""
    return (f"    SELECT '{catalog}'::regclass, o.oid, {f'o.{owner}' if owner else 'NULL'},"
            " NULL, NULL, 0\n"
            f"    FROM {catalog} o JOIN pg_namespace n ON n.oid = o.{namespace}\n"
            "    WHERE n.nspname = ANY(%(schemas)s)\n  UNION ALL\n")


_OBJECTS_BEFORE = """\
WITH objects(classid, objid, owner, acl, acltype, relid) AS (
    SELECT 'pg_namespace'::regclass, n.oid, n.nspowner, n.nspacl, 'n'::"char", 0::oid
    FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_class'::regclass, c.oid, CASE WHEN c.relkind NOT IN ('i', 'I') THEN c.relowner END,
           c.relacl, CASE WHEN c.relkind = 'S' THEN 's' WHEN c.relkind NOT IN ('i', 'I')
                          THEN 'r' END::"char",
           coalesce(ix.indrelid, owned.refobjid, c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
    LEFT JOIN pg_depend owned ON c.relkind = 'S' AND owned.classid = 'pg_class'::regclass
         AND owned.objid = c.oid AND owned.refclassid = 'pg_class'::regclass
         AND owned.deptype IN ('a', 'i') AND owned.refobjsubid > 0
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I') AND n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_proc'::regclass, p.oid, p.proowner, p.proacl, 'f', 0
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_type'::regclass, t.oid, t.typowner, t.typacl, 'T', 0
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_class k ON k.oid = t.typrelid
    WHERE t.typtype IN ('e', 'd', 'c', 'r') AND (t.typtype <> 'c' OR k.relkind = 'c')
      AND n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_event_trigger'::regclass, et.oid, et.evtowner, NULL, NULL, 0
    FROM pg_event_trigger et
  UNION ALL
    SELECT 'pg_extension'::regclass, e.oid, NULL, NULL, NULL, 0
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE n.nspname = ANY(%(schemas)s) OR n.nspname = 'pg_catalog'
  UNION ALL
    SELECT 'pg_statistic_ext'::regclass, s.oid, s.stxowner, NULL, NULL, s.stxrelid
    FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
    WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
"""
_OBJECTS_AFTER = """\
    SELECT 'pg_am'::regclass, o.oid, NULL, NULL, NULL, 0 FROM pg_am o WHERE o.oid >= 16384
  UNION ALL
    SELECT 'pg_cast'::regclass, o.oid, NULL, NULL, NULL, 0 FROM pg_cast o WHERE o.oid >= 16384
  UNION ALL
    SELECT 'pg_foreign_data_wrapper'::regclass, o.oid, o.fdwowner, o.fdwacl, 'F', 0
    FROM pg_foreign_data_wrapper o
  UNION ALL
    SELECT 'pg_foreign_server'::regclass, o.oid, o.srvowner, o.srvacl, 'S', 0
    FROM pg_foreign_server o
  UNION ALL
    SELECT 'pg_publication'::regclass, o.oid, o.pubowner, NULL, NULL, 0 FROM pg_publication o
  UNION ALL
    SELECT 'pg_subscription'::regclass, o.oid, o.subowner, NULL, NULL, 0 FROM pg_subscription o
    WHERE o.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
    SELECT 'pg_constraint'::regclass, con.oid, NULL, NULL, NULL, con.conrelid
    FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
    WHERE n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_trigger'::regclass, tg.oid, NULL, NULL, NULL, tg.tgrelid
    FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT tg.tgisinternal AND n.nspname = ANY(%(schemas)s)
  UNION ALL
    SELECT 'pg_policy'::regclass, pol.oid, NULL, NULL, NULL, pol.polrelid
    FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(%(schemas)s)
), scoped AS (
    SELECT o.classid, o.objid, o.owner, o.acl, o.acltype, rn.nspname AS relnsp,
           r.relname AS relname
    FROM objects o
    LEFT JOIN pg_class r ON r.oid = o.relid
    LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
    WHERE NOT EXISTS (SELECT 1 FROM pg_depend e
                      WHERE e.deptype = 'e' AND ((e.classid = o.classid AND e.objid = o.objid)
                            OR (e.classid = 'pg_class'::regclass AND e.objid = o.relid)))
)
"""
OBJECTS_CTE = (_OBJECTS_BEFORE + "".join(_namespaced(*row) for row in NAMESPACED)
               + _OBJECTS_AFTER)


def object_name(kind: str, identity: str) -> str:
    """An object as pg_identify_object() names it, e.g. "table column users.email"."""
    return f"{kind} {short_identity(identity)}"


def relation_of(relnsp: str | None, relname: str | None) -> str | None:
    return display_name(relnsp, relname) if relname else None
