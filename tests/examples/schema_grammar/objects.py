"""Schema mutations of the shop: objects beside tables: routines, types, triggers, policies,
privileges, comments, grantors and the rarer kinds."""
from __future__ import annotations

from hypothesis import strategies as st

from .base import NAME, ROLES, ROUTINES, TABLES, Mutation, m, q


@st.composite
def routines_and_types(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m(f"CREATE FUNCTION {q(name)}(integer) RETURNS integer LANGUAGE sql "
          f"{draw(st.sampled_from(['IMMUTABLE', 'STABLE', 'VOLATILE']))} AS 'SELECT $1'", name),
        m("ALTER FUNCTION order_items_check_quantity() "
          f"{draw(st.sampled_from(['SECURITY DEFINER', 'SET search_path = public', 'COST 7', 'LEAKPROOF']))}",
          "order_items_check_quantity"),
        m(f"CREATE AGGREGATE {q(name)}(integer) (SFUNC = int4pl, STYPE = integer"
          f"{draw(st.sampled_from(['', ', INITCOND = 0', ', PARALLEL = SAFE', ', COMBINEFUNC = int4pl']))})",
          name),
        m(f"CREATE PROCEDURE {q(name)}() LANGUAGE sql AS 'SELECT 1'", name),
        m("ALTER TYPE order_status ADD VALUE 'returned'", "order_status"),
        m(f"CREATE TYPE {q(name)} AS (a integer, b text)", name),
        m(f"CREATE TYPE {q(name)} AS RANGE (SUBTYPE = integer)", name),
        m(f"CREATE DOMAIN {q(name)} AS text CHECK (VALUE <> '')", name),
        m("ALTER DOMAIN money_amount SET DEFAULT 0", "money_amount"),
        m(f"CREATE FUNCTION {q(name)}() RETURNS int LANGUAGE sql AS 'SELECT 1';"
          f" DROP FUNCTION {q(name)}()", name),
    ]))


@st.composite
def triggers_and_policies(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m("ALTER TABLE order_items "
          f"{draw(st.sampled_from(['DISABLE', 'ENABLE ALWAYS', 'ENABLE REPLICA']))}"
          " TRIGGER order_items_check_quantity", "order_items_check_quantity"),
        m(f"CREATE TRIGGER {q(name)} AFTER DELETE ON order_items FOR EACH ROW "
          "EXECUTE FUNCTION order_items_check_quantity()", name),
        m(f"CREATE RULE {q(name)} AS ON DELETE TO events DO INSTEAD NOTHING", name),
        m(f"CREATE POLICY {q(name)} ON orders FOR SELECT TO shop_reporting USING (true)", name),
        m("ALTER POLICY orders_app_open ON orders TO shop_app, shop_reporting",
          "orders_app_open"),
        m("ALTER EVENT TRIGGER shop_ddl_noted DISABLE", "shop_ddl_noted"),
        m(f"CREATE EVENT TRIGGER {q(name)} ON sql_drop EXECUTE FUNCTION shop_ddl_noted()",
          name),
    ]))


@st.composite
def privileges(draw) -> Mutation:
    role = draw(st.sampled_from(ROLES))
    table = draw(st.sampled_from(TABLES[:5]))
    return draw(st.sampled_from([
        m(f"GRANT {draw(st.sampled_from(['SELECT', 'DELETE', 'TRUNCATE', 'REFERENCES']))} "
          f"ON {q(table)} TO {role}{draw(st.sampled_from(['', ' WITH GRANT OPTION']))}", table),
        m(f"REVOKE ALL ON {q(table)} FROM {role} CASCADE", table),
        m(f"GRANT UPDATE (kind) ON events TO {role}", "events"),
        m(f"GRANT ALL ON {draw(st.sampled_from(ROUTINES))} TO {role}", role),
        m(f"REVOKE EXECUTE ON {draw(st.sampled_from(ROUTINES))} FROM PUBLIC", "PUBLIC"),
        m(f"GRANT USAGE ON TYPE order_status TO {role}", "order_status"),
        m(f"GRANT CREATE ON SCHEMA reporting TO {role}", "reporting"),
        m(f"ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO {role}", role),
        m(f"ALTER DEFAULT PRIVILEGES FOR ROLE shop_reporting IN SCHEMA reporting GRANT "
          f"SELECT ON SEQUENCES TO {role}", role),
        m(f"ALTER {draw(st.sampled_from(ROUTINES))} OWNER TO {role}", role),
        m(f"ALTER TYPE order_status OWNER TO {role}", "order_status"),
        m(f"ALTER SCHEMA reporting OWNER TO {role}", "reporting"),
        m(f"GRANT SELECT ON {q(table)} TO {role}; REVOKE SELECT ON {q(table)} FROM {role} "
          "CASCADE",  # products: shop_app granted it on to shop_reporting
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
    return m(f"COMMENT ON {target} IS {text}", target.split()[-1].split(".")[-1]
              .replace("{db}", "database"))


@st.composite
def grantors(draw) -> Mutation:
    return draw(st.sampled_from([
        m("SET ROLE shop_app; REVOKE SELECT ON products FROM shop_reporting; RESET ROLE;"
          " GRANT SELECT ON products TO shop_reporting", "products"),
        m("GRANT UPDATE ON products TO shop_app WITH GRANT OPTION; SET ROLE shop_app;"
          " GRANT UPDATE ON products TO shop_reporting; RESET ROLE", "products"),
        m("REVOKE GRANT OPTION FOR SELECT ON products FROM shop_app CASCADE", "products"),
    ]))


@st.composite
def more_objects(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m(f"CREATE SUBSCRIPTION {q(name)} CONNECTION 'dbname=nowhere' PUBLICATION shop_orders"
          f" WITH (connect = false, slot_name = NONE, {draw(st.sampled_from(['synchronous_commit = off', 'enabled = false']))})",
          name),
        m(f"CREATE CONVERSION {q(name)} FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8", name),
        m(f"CREATE ACCESS METHOD {q(name)} TYPE TABLE HANDLER heap_tableam_handler", name),
        m("ALTER DOMAIN money_amount ADD CONSTRAINT r_cap CHECK (VALUE < 1000000) NOT VALID",
          "money_amount"),
        m("ALTER POLICY orders_app_open ON orders WITH CHECK (status <> 'shipped')",
          "orders_app_open"),
        m("ALTER VIEW reporting.order_totals SET (security_invoker = true)", "order_totals"),
        m("ALTER FUNCTION shop_ddl_noted() RENAME TO shop_ddl_seen", "shop_ddl_noted"),
        m("COMMENT ON COLUMN reporting.order_totals.total IS 'x'", "order_totals"),
        m("ALTER EXTENSION citext SET SCHEMA reporting", "citext"),
        m("CREATE EXTENSION pg_trgm SCHEMA reporting", "pg_trgm"),
        m("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC", "PUBLIC"),
        m("ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM postgres", "postgres"),
        m(f"CREATE TRIGGER {q(name)} BEFORE UPDATE ON events FOR EACH ROW WHEN"
          " (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION order_items_check_quantity()",
          name),
        m(f"CREATE POLICY {q(name)} ON orders AS RESTRICTIVE FOR DELETE USING (false)", name),

        m(f"CREATE TYPE {q(name)} AS RANGE (SUBTYPE = text, COLLATION = \"C\")", name),
        m("ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled'", "order_status"),
        m("ALTER DOMAIN money_amount RENAME TO money_sum", "money_amount"),
    ]))

