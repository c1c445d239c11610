"""Text search objects: configurations (parser and each token type's dictionaries),
dictionaries (template and options), parsers and templates (their functions)."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import IDENTITY, defined, in_schemas

CONFIGURATIONS_SQL = in_schemas("pg_ts_config", "c", "cfgnamespace", f"""\
format('PARSER %%s MAPPINGS %%s', {IDENTITY.format(classid="pg_ts_parser", objid="c.cfgparser")},
       (SELECT string_agg(format('%%s: %%s', t.alias, m.dictionaries), ', ' ORDER BY t.alias)
        FROM (SELECT maptokentype, string_agg(
                         {IDENTITY.format(classid="pg_ts_dict", objid="mapdict")}, ' '
                         ORDER BY mapseqno) AS dictionaries
              FROM pg_ts_config_map WHERE mapcfg = c.oid GROUP BY maptokentype) m
        JOIN ts_token_type(c.cfgparser) t ON t.tokid = m.maptokentype))""")

DICTIONARIES_SQL = in_schemas("pg_ts_dict", "d", "dictnamespace", f"""\
concat_ws(' ', 'TEMPLATE', {IDENTITY.format(classid="pg_ts_template", objid="d.dicttemplate")},
          d.dictinitoption)""")

PARSERS_SQL = in_schemas("pg_ts_parser", "p", "prsnamespace", """\
format('START %%s GETTOKEN %%s END %%s HEADLINE %%s LEXTYPES %%s', p.prsstart::regprocedure,
       p.prstoken::regprocedure, p.prsend::regprocedure, p.prsheadline::regprocedure,
       p.prslextype::regprocedure)""")

TEMPLATES_SQL = in_schemas("pg_ts_template", "t", "tmplnamespace", """\
format('INIT %%s LEXIZE %%s', t.tmplinit::regprocedure, t.tmpllexize::regprocedure)""")

CONFIGURATIONS = defined("text search configuration", "text_search_configurations",
                         CONFIGURATIONS_SQL)
DICTIONARIES = defined("text search dictionary", "text_search_dictionaries", DICTIONARIES_SQL)
PARSERS = defined("text search parser", "text_search_parsers", PARSERS_SQL)
TEMPLATES = defined("text search template", "text_search_templates", TEMPLATES_SQL)
