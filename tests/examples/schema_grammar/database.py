"""Schema mutations of the shop: the database and its schemas: extensions, database-level settings,
publications, text search, operators, casts, collations and foreign data."""
from __future__ import annotations

from hypothesis import strategies as st

from .base import NAME, ROLES, Mutation, m, q


@st.composite
def schemas_and_extensions(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m(f"CREATE SCHEMA {q(name)}", name),
        m(f"CREATE SCHEMA {q(name)}; DROP SCHEMA {q(name)}", name),
        m("ALTER SCHEMA reporting RENAME TO r2; ALTER SCHEMA r2 RENAME TO reporting",
          "reporting"),
        Mutation("ALTER EXTENSION citext UPDATE TO '1.6'", "citext", beyond_dump=True),
        m("CREATE EXTENSION pg_trgm", "pg_trgm"),
        m("ALTER TABLE reporting.daily_sales DETACH PARTITION reporting.daily_sales_2024h2",
          "daily_sales_2024h2"),
        m("CREATE TABLE reporting.daily_sales_rest PARTITION OF reporting.daily_sales DEFAULT",
          "daily_sales_rest"),
        m("INSERT INTO events (kind) VALUES ('noop'); ANALYZE events", "events"),
    ]))


@st.composite
def database_level(draw) -> Mutation:
    setting = draw(st.sampled_from(["work_mem = '64MB'", "search_path = reporting, public",
                                    "statement_timeout = 5000"]))
    role = draw(st.sampled_from(ROLES))
    return draw(st.sampled_from([
        m(f"ALTER DATABASE {{db}} SET {setting}", "database"),
        m(f"ALTER ROLE {role} IN DATABASE {{db}} SET {setting}", role),
        m("ALTER DATABASE {db} CONNECTION LIMIT 7", "database"),
        m(f"GRANT CREATE ON DATABASE {{db}} TO {role}", "database"),
        m("REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC", "database"),
        m(f"ALTER DATABASE {{db}} SET {setting}; ALTER DATABASE {{db}} RESET ALL", "database"),
    ]))


@st.composite
def publications(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m("DROP PUBLICATION shop_orders", "shop_orders"),
        m("ALTER PUBLICATION shop_orders DROP TABLE order_items", "shop_orders"),
        m("ALTER PUBLICATION shop_orders ADD TABLE events", "shop_orders"),
        m("ALTER PUBLICATION shop_orders ADD TABLE events WHERE (kind <> 'noise')",
          "shop_orders"),
        m("ALTER PUBLICATION shop_orders ADD TABLE customers (id, email)", "shop_orders"),
        m(f"ALTER PUBLICATION shop_orders SET (publish = "
          f"'{draw(st.sampled_from(['insert', 'insert, update, delete', 'truncate']))}')",
          "shop_orders"),
        m("ALTER PUBLICATION shop_reporting_feed SET (publish_via_partition_root = false)",
          "shop_reporting_feed"),
        m(f"CREATE PUBLICATION {q(name)} FOR "
          f"{draw(st.sampled_from(['ALL TABLES', 'TABLES IN SCHEMA reporting', 'TABLE events']))}",
          name),
        m("ALTER PUBLICATION shop_orders RENAME TO shop_orders_v2", "shop_orders"),
        m("GRANT CREATE ON DATABASE {db} TO shop_app;"
          " ALTER PUBLICATION shop_orders OWNER TO shop_app", "shop_orders"),
        m(f"CREATE PUBLICATION {q(name)}; DROP PUBLICATION {q(name)}", name),
    ]))


@st.composite
def text_search(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m("DROP TEXT SEARCH CONFIGURATION shop_search", "shop_search"),
        m("ALTER TEXT SEARCH CONFIGURATION shop_search DROP MAPPING FOR asciiword",
          "shop_search"),
        m("ALTER TEXT SEARCH CONFIGURATION shop_search ALTER MAPPING FOR email WITH simple",
          "shop_search"),
        m("ALTER TEXT SEARCH CONFIGURATION shop_search OWNER TO shop_app", "shop_search"),
        m(f"CREATE TEXT SEARCH CONFIGURATION {q(name)} (PARSER = default)", name),
        m("ALTER TEXT SEARCH DICTIONARY shop_simple (ACCEPT = false)", "shop_simple"),
        m(f"CREATE TEXT SEARCH DICTIONARY {q(name)} (TEMPLATE = simple)", name),
        m(f"CREATE TEXT SEARCH TEMPLATE {q(name)} (INIT = dsimple_init,"
          " LEXIZE = dsimple_lexize)", name),
        m(f"CREATE TEXT SEARCH PARSER {q(name)} (START = prsd_start, GETTOKEN ="
          " prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype)", name),
        m(f"CREATE TEXT SEARCH CONFIGURATION {q(name)} (COPY = shop_search);"
          f" DROP TEXT SEARCH CONFIGURATION {q(name)}", name),
    ]))


@st.composite
def operators_casts_collations(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m("DROP OPERATOR =~= (money_amount, money_amount)", "=~="),
        m("ALTER OPERATOR =~= (money_amount, money_amount) SET (RESTRICT = eqsel)", "=~="),
        m("ALTER OPERATOR =~= (money_amount, money_amount) OWNER TO shop_app", "=~="),
        m("CREATE OPERATOR <~> (LEFTARG = money_amount, RIGHTARG = money_amount,"
          " FUNCTION = money_amount_close)", "<~>"),
        m(f"CREATE OPERATOR FAMILY {q(name)} USING hash", name),
        m("DROP CAST (order_status AS text)", "order_status"),
        m("CREATE CAST (money_amount AS integer) WITH INOUT", "money_amount"),
        m("COMMENT ON CAST (order_status AS text) IS 'labels'", "order_status"),
        m("DROP COLLATION shop_bytes", "shop_bytes"),
        m(f"CREATE COLLATION {q(name)} (provider = libc, locale = 'POSIX')", name),
        m(f"CREATE COLLATION {q(name)} FROM shop_bytes", name),
        m("ALTER COLLATION shop_bytes OWNER TO shop_app", "shop_bytes"),
        m("COMMENT ON COLLATION shop_bytes IS 'bytewise'", "shop_bytes"),
        m("COMMENT ON OPERATOR =~= (money_amount, money_amount) IS 'close'", "=~="),
    ]))


@st.composite
def foreign_data(draw) -> Mutation:
    role = draw(st.sampled_from(ROLES))
    return draw(st.sampled_from([
        m("ALTER FOREIGN DATA WRAPPER shop_archive_wrapper OPTIONS (ADD debug 'true')",
          "shop_archive_wrapper"),
        m(f"GRANT USAGE ON FOREIGN DATA WRAPPER shop_archive_wrapper TO {role}",
          "shop_archive_wrapper"),
        m("ALTER SERVER shop_archive VERSION '2'", "shop_archive"),
        m("ALTER SERVER shop_archive OPTIONS (SET path '/elsewhere')", "shop_archive"),
        m(f"REVOKE USAGE ON FOREIGN SERVER shop_archive FROM {role}", "shop_archive"),
        m("DROP USER MAPPING FOR shop_app SERVER shop_archive", "shop_archive"),
        m("ALTER USER MAPPING FOR shop_app SERVER shop_archive OPTIONS (SET user_name 'x')",
          "shop_archive"),
        m("CREATE USER MAPPING FOR shop_reporting SERVER shop_archive", "shop_archive"),
        m("ALTER FOREIGN TABLE reporting.archived_orders ADD COLUMN total numeric",
          "archived_orders"),
        m("ALTER FOREIGN TABLE reporting.archived_orders OPTIONS (SET file 'x.csv')",
          "archived_orders"),
        m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN placed_at"
          " OPTIONS (ADD column_name 'placed')", "archived_orders"),
        m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN id DROP NOT NULL",
          "archived_orders"),
        m("DROP FOREIGN TABLE reporting.archived_orders", "archived_orders"),
        m("COMMENT ON SERVER shop_archive IS 'cold storage'", "shop_archive"),
    ]))

