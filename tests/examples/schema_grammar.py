"""A grammar of schema mutations of the example shop (tests/examples/shop), for the oracle test
(tests/test_schema_oracle.py): every kind of object and option `pg_dump --schema-only` prints.

A Mutation is SQL run on a fresh copy of the shop and the name its difference lines must carry
when pg_dump's output changes. `{db}` in the SQL stands for the copy's database name. No-op
mutations (created and dropped again, renamed and renamed back, data and statistics touched)
are in the same grammar: pg_dump says whether anything changed, never the grammar.
"""
from __future__ import annotations

from typing import NamedTuple

from hypothesis import strategies as st


class Mutation(NamedTuple):
    sql: str
    names: str  # a name some difference line must contain when pg_dump's output changed
    # what rollbook compares beyond pg_dump: an extension's version (pg_dump restores the
    # default one); the verdict must fail although the dump is the same
    beyond_dump: bool = False


TABLES = ("customers", "products", "orders", "order_items", "events",
          "reporting.daily_sales", "reporting.daily_sales_2024h1")
# (table, column, type) of columns nothing else depends on
FREE_COLUMNS = (("events", "kind", "text NOT NULL"), ("events", "customer_ref", "bigint"),
                ("events", "created_at", "timestamptz"), ("customers", "created_at",
                                                          "timestamptz NOT NULL"))
TEXT_COLUMNS = (("events", "kind"), ("customers", "email"), ("products", "sku"))
ROLES = ("shop_app", "shop_reporting")
INDEXES = ("orders_customer_id_placed_at_idx", "customers_email_key", "products_sku_key")
NAME = st.sampled_from(("planted", "extra_one", "Mixed Case"))
ROUTINES = ("FUNCTION order_items_check_quantity()", "PROCEDURE reporting.refresh_product_sales()",
            "FUNCTION shop_ddl_noted()")


# A database with a subscription cannot be dropped: what cleans up after a mutation runs this
# in it first. (The grammar's subscriptions have no slot, so dropping one connects nowhere.)
DROP_SUBSCRIPTIONS = """\
DO $$ DECLARE s name; BEGIN
    FOR s IN SELECT subname FROM pg_subscription
             WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    LOOP EXECUTE format('DROP SUBSCRIPTION %I', s); END LOOP;
END $$"""


def q(name: str) -> str:
    """A possibly schema-qualified name, each part quoted."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _m(sql: str, names: str) -> Mutation:
    return Mutation(sql, names)


@st.composite
def columns(draw) -> Mutation:
    table, column, decl = draw(st.sampled_from(FREE_COLUMNS))
    t = q(table)
    return draw(st.sampled_from([
        _m(f"ALTER TABLE {t} DROP COLUMN {column}; ALTER TABLE {t} ADD COLUMN {column} {decl}"
           f" DEFAULT now()" if "timestamptz" in decl else
           f"ALTER TABLE {t} DROP COLUMN {column}; ALTER TABLE {t} ADD COLUMN {column} {decl}"
           f" DEFAULT {'0' if 'bigint' in decl else repr('x')}", table),
        _m(f"ALTER TABLE {t} ALTER COLUMN {column} SET STATISTICS "
           f"{draw(st.sampled_from([0, 10, 500, -1]))}", f"{table}.{column}"),
        _m(f"ALTER TABLE {t} ALTER COLUMN {column} SET (n_distinct = 42)",
           f"{table}.{column}"),
        _m(f"ALTER TABLE {t} ALTER COLUMN {column} DROP NOT NULL", f"{table}.{column}"),
        _m(f"ALTER TABLE {t} ALTER COLUMN {column} SET DEFAULT NULL", f"{table}.{column}"),
        _m(f"ALTER TABLE {t} ADD COLUMN {q(draw(NAME))} "
           f"{draw(st.sampled_from(['integer', 'text', 'numeric(5,2)', 'int[]']))}", table),
        _m(f"ALTER TABLE {t} RENAME COLUMN {column} TO tmp_col;"
           f" ALTER TABLE {t} RENAME COLUMN tmp_col TO {column}", table),
    ]))


@st.composite
def storage(draw) -> Mutation:
    table, column = draw(st.sampled_from(TEXT_COLUMNS))
    return draw(st.sampled_from([
        _m(f"ALTER TABLE {q(table)} ALTER COLUMN {column} SET STORAGE "
           f"{draw(st.sampled_from(['PLAIN', 'MAIN', 'EXTERNAL', 'EXTENDED']))}",
           f"{table}.{column}"),
        _m(f"ALTER TABLE {q(table)} ALTER COLUMN {column} SET COMPRESSION "
           f"{draw(st.sampled_from(['pglz', 'default']))}", f"{table}.{column}"),
    ]))


@st.composite
def table_options(draw) -> Mutation:
    table = draw(st.sampled_from(TABLES[:5]))
    t = q(table)
    return draw(st.sampled_from([
        _m(f"ALTER TABLE {t} SET (fillfactor = {draw(st.integers(50, 100))})", table),
        _m(f"ALTER TABLE {t} SET (autovacuum_enabled = false)", table),
        _m(f"ALTER TABLE {t} SET (toast.autovacuum_enabled = false)", table),
        _m(f"ALTER TABLE {t} RESET (fillfactor)", table),
        _m("ALTER TABLE customers CLUSTER ON customers_email_key", "customers"),
        _m("ALTER TABLE orders SET WITHOUT CLUSTER", "orders"),
        _m(f"ALTER TABLE {t} REPLICA IDENTITY FULL", table),
        _m(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY", table),
        _m(f"ALTER TABLE {t} SET UNLOGGED", table) if table == "events"
        else _m(f"ALTER TABLE {t} OWNER TO {draw(st.sampled_from(ROLES))}", table),
    ]))


@st.composite
def constraints_and_indexes(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} CHECK (kind <> '')", name),
        _m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} CHECK (kind <> '') NOT VALID", name),
        _m("ALTER TABLE orders DROP CONSTRAINT orders_customer_placed_key",
           "orders_customer_placed_key"),
        _m(f"ALTER TABLE orders RENAME CONSTRAINT orders_customer_placed_key TO {q(name)}",
           name),
        _m(f"CREATE INDEX {q(name)} ON events "
           f"{draw(st.sampled_from(['(kind)', '(kind DESC)', '(lower(kind))', '(kind) WHERE customer_ref IS NULL', '(kind) INCLUDE (created_at)', 'USING hash (kind)']))}",
           name),
        _m("DROP INDEX orders_customer_id_placed_at_idx", "orders_customer_id_placed_at_idx"),
        _m("ALTER INDEX orders_customer_id_placed_at_idx SET (fillfactor = 70)",
           "orders_customer_id_placed_at_idx"),
        _m("ALTER INDEX orders_customer_id_placed_at_idx RENAME TO ocp;"
           " ALTER INDEX ocp RENAME TO orders_customer_id_placed_at_idx", "ocp"),
        _m(f"CREATE STATISTICS {q(name)} (ndistinct) ON kind, customer_ref FROM events", name),
        _m("ALTER STATISTICS orders_customer_status SET STATISTICS 50",
           "orders_customer_status"),
        _m("DROP STATISTICS orders_customer_status", "orders_customer_status"),
    ]))


@st.composite
def sequences_and_views(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m(f"ALTER SEQUENCE orders_id_seq {draw(st.sampled_from(['INCREMENT BY 5', 'CACHE 10', 'CYCLE', 'MAXVALUE 99999999', 'START WITH 7', 'AS integer']))}",
           "orders_id_seq"),
        _m(f"CREATE SEQUENCE {q(name)}", name),
        _m("SELECT setval('orders_id_seq', 424242)", "orders_id_seq"),
        _m(f"CREATE VIEW {q(name)} AS SELECT id FROM orders", name),
        _m("ALTER VIEW reporting.order_totals SET (security_barrier = true)", "order_totals"),
        _m("ALTER VIEW reporting.order_totals ALTER COLUMN total SET DEFAULT 0", "order_totals"),
        _m("DROP VIEW reporting.order_totals", "order_totals"),
        _m("REFRESH MATERIALIZED VIEW reporting.product_sales WITH NO DATA", "product_sales"),
        _m("REFRESH MATERIALIZED VIEW reporting.product_sales", "product_sales"),
        _m(f"CREATE MATERIALIZED VIEW {q(name)} AS SELECT 1 AS one"
           f"{draw(st.sampled_from(['', ' WITH NO DATA']))}", name),
        _m(f"CREATE TABLE {q(name)} (id int); DROP TABLE {q(name)}", name),
        _m(f"CREATE VIEW {q(name)} AS SELECT 1; DROP VIEW {q(name)}", name),
    ]))


@st.composite
def routines_and_types(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m(f"CREATE FUNCTION {q(name)}(integer) RETURNS integer LANGUAGE sql "
           f"{draw(st.sampled_from(['IMMUTABLE', 'STABLE', 'VOLATILE']))} AS 'SELECT $1'", name),
        _m("ALTER FUNCTION order_items_check_quantity() "
           f"{draw(st.sampled_from(['SECURITY DEFINER', 'SET search_path = public', 'COST 7', 'LEAKPROOF']))}",
           "order_items_check_quantity"),
        _m(f"CREATE AGGREGATE {q(name)}(integer) (SFUNC = int4pl, STYPE = integer"
           f"{draw(st.sampled_from(['', ', INITCOND = 0', ', PARALLEL = SAFE', ', COMBINEFUNC = int4pl']))})",
           name),
        _m(f"CREATE PROCEDURE {q(name)}() LANGUAGE sql AS 'SELECT 1'", name),
        _m("ALTER TYPE order_status ADD VALUE 'returned'", "order_status"),
        _m(f"CREATE TYPE {q(name)} AS (a integer, b text)", name),
        _m(f"CREATE TYPE {q(name)} AS RANGE (SUBTYPE = integer)", name),
        _m(f"CREATE DOMAIN {q(name)} AS text CHECK (VALUE <> '')", name),
        _m("ALTER DOMAIN money_amount SET DEFAULT 0", "money_amount"),
        _m(f"CREATE FUNCTION {q(name)}() RETURNS int LANGUAGE sql AS 'SELECT 1';"
           f" DROP FUNCTION {q(name)}()", name),
    ]))


@st.composite
def triggers_and_policies(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m("ALTER TABLE order_items "
           f"{draw(st.sampled_from(['DISABLE', 'ENABLE ALWAYS', 'ENABLE REPLICA']))}"
           " TRIGGER order_items_check_quantity", "order_items_check_quantity"),
        _m(f"CREATE TRIGGER {q(name)} AFTER DELETE ON order_items FOR EACH ROW "
           "EXECUTE FUNCTION order_items_check_quantity()", name),
        _m(f"CREATE RULE {q(name)} AS ON DELETE TO events DO INSTEAD NOTHING", name),
        _m(f"CREATE POLICY {q(name)} ON orders FOR SELECT TO shop_reporting USING (true)", name),
        _m("ALTER POLICY orders_app_open ON orders TO shop_app, shop_reporting",
           "orders_app_open"),
        _m("ALTER EVENT TRIGGER shop_ddl_noted DISABLE", "shop_ddl_noted"),
        _m(f"CREATE EVENT TRIGGER {q(name)} ON sql_drop EXECUTE FUNCTION shop_ddl_noted()",
           name),
    ]))


@st.composite
def privileges(draw) -> Mutation:
    role = draw(st.sampled_from(ROLES))
    table = draw(st.sampled_from(TABLES[:5]))
    return draw(st.sampled_from([
        _m(f"GRANT {draw(st.sampled_from(['SELECT', 'DELETE', 'TRUNCATE', 'REFERENCES']))} "
           f"ON {q(table)} TO {role}{draw(st.sampled_from(['', ' WITH GRANT OPTION']))}", table),
        _m(f"REVOKE ALL ON {q(table)} FROM {role} CASCADE", table),
        _m(f"GRANT UPDATE (kind) ON events TO {role}", "events"),
        _m(f"GRANT ALL ON {draw(st.sampled_from(ROUTINES))} TO {role}", role),
        _m(f"REVOKE EXECUTE ON {draw(st.sampled_from(ROUTINES))} FROM PUBLIC", "PUBLIC"),
        _m(f"GRANT USAGE ON TYPE order_status TO {role}", "order_status"),
        _m(f"GRANT CREATE ON SCHEMA reporting TO {role}", "reporting"),
        _m(f"ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO {role}", role),
        _m(f"ALTER DEFAULT PRIVILEGES FOR ROLE shop_reporting IN SCHEMA reporting GRANT "
           f"SELECT ON SEQUENCES TO {role}", role),
        _m(f"ALTER {draw(st.sampled_from(ROUTINES))} OWNER TO {role}", role),
        _m(f"ALTER TYPE order_status OWNER TO {role}", "order_status"),
        _m(f"ALTER SCHEMA reporting OWNER TO {role}", "reporting"),
        _m(f"GRANT SELECT ON {q(table)} TO {role}; REVOKE SELECT ON {q(table)} FROM {role}",
           table),
    ]))


@st.composite
def comments(draw) -> Mutation:
    text = draw(st.sampled_from(["'planted'", "NULL", "'it''s'"]))
    target = draw(st.sampled_from([
        "TABLE orders", "COLUMN events.kind", "INDEX orders_customer_id_placed_at_idx",
        "CONSTRAINT orders_customer_placed_key ON orders", "TRIGGER order_items_check_quantity"
        " ON order_items", "POLICY orders_app_open ON orders", "TYPE order_status",
        "DOMAIN money_amount", "SEQUENCE orders_id_seq", "VIEW reporting.order_totals",
        "MATERIALIZED VIEW reporting.product_sales", "SCHEMA reporting", "SCHEMA public",
        "FUNCTION order_items_check_quantity()", "EXTENSION citext",
        "EVENT TRIGGER shop_ddl_noted", "STATISTICS orders_customer_status",
        "TABLE events", "DATABASE {db}"]))
    return _m(f"COMMENT ON {target} IS {text}", target.split()[-1].split(".")[-1]
              .replace("{db}", "database"))


@st.composite
def schemas_and_extensions(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m(f"CREATE SCHEMA {q(name)}", name),
        _m(f"CREATE SCHEMA {q(name)}; DROP SCHEMA {q(name)}", name),
        _m("ALTER SCHEMA reporting RENAME TO r2; ALTER SCHEMA r2 RENAME TO reporting",
           "reporting"),
        Mutation("ALTER EXTENSION citext UPDATE TO '1.6'", "citext", beyond_dump=True),
        _m("CREATE EXTENSION pg_trgm", "pg_trgm"),
        _m("ALTER TABLE reporting.daily_sales DETACH PARTITION reporting.daily_sales_2024h2",
           "daily_sales_2024h2"),
        _m("CREATE TABLE reporting.daily_sales_rest PARTITION OF reporting.daily_sales DEFAULT",
           "daily_sales_rest"),
        _m("INSERT INTO events (kind) VALUES ('noop'); ANALYZE events", "events"),
    ]))


@st.composite
def database_level(draw) -> Mutation:
    setting = draw(st.sampled_from(["work_mem = '64MB'", "search_path = reporting, public",
                                    "statement_timeout = 5000"]))
    role = draw(st.sampled_from(ROLES))
    return draw(st.sampled_from([
        _m(f"ALTER DATABASE {{db}} SET {setting}", "database"),
        _m(f"ALTER ROLE {role} IN DATABASE {{db}} SET {setting}", role),
        _m("ALTER DATABASE {db} CONNECTION LIMIT 7", "database"),
        _m(f"GRANT CREATE ON DATABASE {{db}} TO {role}", "database"),
        _m("REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC", "database"),
        _m(f"ALTER DATABASE {{db}} SET {setting}; ALTER DATABASE {{db}} RESET ALL", "database"),
    ]))


@st.composite
def publications(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m("DROP PUBLICATION shop_orders", "shop_orders"),
        _m("ALTER PUBLICATION shop_orders DROP TABLE order_items", "shop_orders"),
        _m("ALTER PUBLICATION shop_orders ADD TABLE events", "shop_orders"),
        _m("ALTER PUBLICATION shop_orders ADD TABLE events WHERE (kind <> 'noise')",
           "shop_orders"),
        _m("ALTER PUBLICATION shop_orders ADD TABLE customers (id, email)", "shop_orders"),
        _m(f"ALTER PUBLICATION shop_orders SET (publish = "
           f"'{draw(st.sampled_from(['insert', 'insert, update, delete', 'truncate']))}')",
           "shop_orders"),
        _m("ALTER PUBLICATION shop_reporting_feed SET (publish_via_partition_root = false)",
           "shop_reporting_feed"),
        _m(f"CREATE PUBLICATION {q(name)} FOR "
           f"{draw(st.sampled_from(['ALL TABLES', 'TABLES IN SCHEMA reporting', 'TABLE events']))}",
           name),
        _m("ALTER PUBLICATION shop_orders RENAME TO shop_orders_v2", "shop_orders"),
        _m("GRANT CREATE ON DATABASE {db} TO shop_app;"
           " ALTER PUBLICATION shop_orders OWNER TO shop_app", "shop_orders"),
        _m(f"CREATE PUBLICATION {q(name)}; DROP PUBLICATION {q(name)}", name),
    ]))


@st.composite
def text_search(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m("DROP TEXT SEARCH CONFIGURATION shop_search", "shop_search"),
        _m("ALTER TEXT SEARCH CONFIGURATION shop_search DROP MAPPING FOR asciiword",
           "shop_search"),
        _m("ALTER TEXT SEARCH CONFIGURATION shop_search ALTER MAPPING FOR email WITH simple",
           "shop_search"),
        _m("ALTER TEXT SEARCH CONFIGURATION shop_search OWNER TO shop_app", "shop_search"),
        _m(f"CREATE TEXT SEARCH CONFIGURATION {q(name)} (PARSER = default)", name),
        _m("ALTER TEXT SEARCH DICTIONARY shop_simple (ACCEPT = false)", "shop_simple"),
        _m(f"CREATE TEXT SEARCH DICTIONARY {q(name)} (TEMPLATE = simple)", name),
        _m(f"CREATE TEXT SEARCH TEMPLATE {q(name)} (INIT = dsimple_init,"
           " LEXIZE = dsimple_lexize)", name),
        _m(f"CREATE TEXT SEARCH PARSER {q(name)} (START = prsd_start, GETTOKEN ="
           " prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype)", name),
        _m(f"CREATE TEXT SEARCH CONFIGURATION {q(name)} (COPY = shop_search);"
           f" DROP TEXT SEARCH CONFIGURATION {q(name)}", name),
    ]))


@st.composite
def operators_casts_collations(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m("DROP OPERATOR =~= (money_amount, money_amount)", "=~="),
        _m("ALTER OPERATOR =~= (money_amount, money_amount) SET (RESTRICT = eqsel)", "=~="),
        _m("ALTER OPERATOR =~= (money_amount, money_amount) OWNER TO shop_app", "=~="),
        _m("CREATE OPERATOR <~> (LEFTARG = money_amount, RIGHTARG = money_amount,"
           " FUNCTION = money_amount_close)", "<~>"),
        _m(f"CREATE OPERATOR FAMILY {q(name)} USING hash", name),
        _m("DROP CAST (order_status AS text)", "order_status"),
        _m("CREATE CAST (money_amount AS integer) WITH INOUT", "money_amount"),
        _m("COMMENT ON CAST (order_status AS text) IS 'labels'", "order_status"),
        _m("DROP COLLATION shop_bytes", "shop_bytes"),
        _m(f"CREATE COLLATION {q(name)} (provider = libc, locale = 'POSIX')", name),
        _m(f"CREATE COLLATION {q(name)} FROM shop_bytes", name),
        _m("ALTER COLLATION shop_bytes OWNER TO shop_app", "shop_bytes"),
        _m("COMMENT ON COLLATION shop_bytes IS 'bytewise'", "shop_bytes"),
        _m("COMMENT ON OPERATOR =~= (money_amount, money_amount) IS 'close'", "=~="),
    ]))


@st.composite
def foreign_data(draw) -> Mutation:
    role = draw(st.sampled_from(ROLES))
    return draw(st.sampled_from([
        _m("ALTER FOREIGN DATA WRAPPER shop_archive_wrapper OPTIONS (ADD debug 'true')",
           "shop_archive_wrapper"),
        _m(f"GRANT USAGE ON FOREIGN DATA WRAPPER shop_archive_wrapper TO {role}",
           "shop_archive_wrapper"),
        _m("ALTER SERVER shop_archive VERSION '2'", "shop_archive"),
        _m("ALTER SERVER shop_archive OPTIONS (SET path '/elsewhere')", "shop_archive"),
        _m(f"REVOKE USAGE ON FOREIGN SERVER shop_archive FROM {role}", "shop_archive"),
        _m("DROP USER MAPPING FOR shop_app SERVER shop_archive", "shop_archive"),
        _m("ALTER USER MAPPING FOR shop_app SERVER shop_archive OPTIONS (SET user_name 'x')",
           "shop_archive"),
        _m("CREATE USER MAPPING FOR shop_reporting SERVER shop_archive", "shop_archive"),
        _m("ALTER FOREIGN TABLE reporting.archived_orders ADD COLUMN total numeric",
           "archived_orders"),
        _m("ALTER FOREIGN TABLE reporting.archived_orders OPTIONS (SET file 'x.csv')",
           "archived_orders"),
        _m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN placed_at"
           " OPTIONS (ADD column_name 'placed')", "archived_orders"),
        _m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN id DROP NOT NULL",
           "archived_orders"),
        _m("DROP FOREIGN TABLE reporting.archived_orders", "archived_orders"),
        _m("COMMENT ON SERVER shop_archive IS 'cold storage'", "shop_archive"),
    ]))


@st.composite
def grantors(draw) -> Mutation:
    return draw(st.sampled_from([
        _m("SET ROLE shop_app; REVOKE SELECT ON products FROM shop_reporting; RESET ROLE;"
           " GRANT SELECT ON products TO shop_reporting", "products"),
        _m("GRANT UPDATE ON products TO shop_app WITH GRANT OPTION; SET ROLE shop_app;"
           " GRANT UPDATE ON products TO shop_reporting; RESET ROLE", "products"),
        _m("REVOKE GRANT OPTION FOR SELECT ON products FROM shop_app CASCADE", "products"),
    ]))


# Statements that do not depend on each other, for running in either order: pg_dump orders
# what they make itself, but for a table's columns. (Two grants on one object are left out:
# pg_dump prints them in the order of the object's ACL, which means nothing.)
INDEPENDENT = (
    "CREATE TABLE r_table (id integer)", "CREATE VIEW r_view AS SELECT 1 AS one",
    "CREATE FUNCTION r_function() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
    "CREATE INDEX r_index ON events (kind)", "GRANT SELECT ON events TO shop_app",
    "GRANT USAGE ON SCHEMA reporting TO shop_app", "COMMENT ON TABLE events IS 'r'",
    "CREATE PUBLICATION r_publication FOR TABLE events", "CREATE SEQUENCE r_sequence",
    "CREATE TYPE r_type AS ENUM ('x')", "ALTER TABLE orders ADD COLUMN r_one integer",
    "ALTER TABLE orders ADD COLUMN r_two text", "CREATE SCHEMA r_schema",
    "ALTER PUBLICATION shop_orders ADD TABLE events",
)


@st.composite
def more_tables(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m("ALTER TABLE customers ALTER COLUMN id SET GENERATED BY DEFAULT", "customers.id"),
        _m("ALTER TABLE customers ALTER COLUMN id SET INCREMENT BY 3", "customers"),
        _m(f"ALTER TABLE events ADD COLUMN {q(name)} text GENERATED ALWAYS AS (upper(kind))"
           " STORED", "events"),
        _m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} EXCLUDE USING btree (id WITH =)", name),
        _m(f"CREATE TABLE {q(name)} () INHERITS (events)", name),
        _m("ALTER TABLE orders ALTER CONSTRAINT orders_customer_id_fkey DEFERRABLE",
           "orders_customer_id_fkey"),
        _m("ALTER TABLE reporting.daily_sales_2024h1 SET (fillfactor = 80)",
           "daily_sales_2024h1"),
        _m(f"CREATE INDEX {q(name)} ON reporting.daily_sales (quantity)", name),
        _m("ALTER TABLE events ALTER COLUMN kind SET DATA TYPE varchar(50)", "events.kind"),
        _m("ALTER TABLE events ALTER COLUMN kind SET (n_distinct_inherited = 5)", "events.kind"),
        _m("ALTER MATERIALIZED VIEW reporting.product_sales SET (fillfactor = 50)",
           "product_sales"),
        _m("ALTER MATERIALIZED VIEW reporting.product_sales CLUSTER ON"
           " product_sales_product_id_key", "product_sales"),
        _m("ALTER MATERIALIZED VIEW reporting.product_sales ALTER COLUMN quantity SET"
           " STATISTICS 100", "product_sales"),
        _m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN id SET STATISTICS 5",
           "archived_orders"),
        _m("ALTER SEQUENCE orders_id_seq OWNED BY NONE", "orders_id_seq"),
        _m("ALTER SEQUENCE orders_id_seq SET UNLOGGED", "orders_id_seq"),
        _m("ALTER TABLE events SET ACCESS METHOD heap", "events"),
        _m(f"CREATE INDEX {q(name)} ON events ((lower(kind))); ALTER INDEX {q(name)} ALTER"
           " COLUMN 1 SET STATISTICS 77", name),
    ]))


@st.composite
def more_objects(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        _m(f"CREATE SUBSCRIPTION {q(name)} CONNECTION 'dbname=nowhere' PUBLICATION shop_orders"
           f" WITH (connect = false, slot_name = NONE, {draw(st.sampled_from(['synchronous_commit = off', 'enabled = false']))})",
           name),
        _m(f"CREATE CONVERSION {q(name)} FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8", name),
        _m(f"CREATE ACCESS METHOD {q(name)} TYPE TABLE HANDLER heap_tableam_handler", name),
        _m("ALTER DOMAIN money_amount ADD CONSTRAINT r_cap CHECK (VALUE < 1000000) NOT VALID",
           "money_amount"),
        _m("ALTER POLICY orders_app_open ON orders WITH CHECK (status <> 'shipped')",
           "orders_app_open"),
        _m("ALTER VIEW reporting.order_totals SET (security_invoker = true)", "order_totals"),
        _m("ALTER FUNCTION shop_ddl_noted() RENAME TO shop_ddl_seen", "shop_ddl_noted"),
        _m("COMMENT ON COLUMN reporting.order_totals.total IS 'x'", "order_totals"),
        _m("ALTER EXTENSION citext SET SCHEMA reporting", "citext"),
        _m("CREATE EXTENSION pg_trgm SCHEMA reporting", "pg_trgm"),
        _m("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC", "PUBLIC"),
        _m("ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM postgres", "postgres"),
        _m(f"CREATE TRIGGER {q(name)} BEFORE UPDATE ON events FOR EACH ROW WHEN"
           " (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION order_items_check_quantity()",
           name),
        _m(f"CREATE POLICY {q(name)} ON orders AS RESTRICTIVE FOR DELETE USING (false)", name),

        _m(f"CREATE TYPE {q(name)} AS RANGE (SUBTYPE = text, COLLATION = \"C\")", name),
        _m("ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled'", "order_status"),
        _m("ALTER DOMAIN money_amount RENAME TO money_sum", "money_amount"),
    ]))


RULES = (columns(), storage(), table_options(), constraints_and_indexes(),
         sequences_and_views(), routines_and_types(), triggers_and_policies(), privileges(),
         comments(), schemas_and_extensions(), database_level(), publications(), text_search(),
         operators_casts_collations(), foreign_data(), grantors(), more_tables(),
         more_objects())


def mutations() -> st.SearchStrategy[Mutation]:
    return st.one_of(*RULES)
