"""Schema mutations of the shop: tables, their columns, storage, options, constraints, indexes,
sequences and views."""
from __future__ import annotations

from hypothesis import strategies as st

from .base import FREE_COLUMNS, NAME, ROLES, TABLES, TEXT_COLUMNS, Mutation, m, q


@st.composite
def columns(draw) -> Mutation:
    table, column, decl = draw(st.sampled_from(FREE_COLUMNS))
    t = q(table)
    return draw(st.sampled_from([
        m(f"ALTER TABLE {t} DROP COLUMN {column}; ALTER TABLE {t} ADD COLUMN {column} {decl}"
          f" DEFAULT now()" if "timestamptz" in decl else
          f"ALTER TABLE {t} DROP COLUMN {column}; ALTER TABLE {t} ADD COLUMN {column} {decl}"
          f" DEFAULT {'0' if 'bigint' in decl else repr('x')}", table),
        m(f"ALTER TABLE {t} ALTER COLUMN {column} SET STATISTICS "
          f"{draw(st.sampled_from([0, 10, 500, -1]))}", f"{table}.{column}"),
        m(f"ALTER TABLE {t} ALTER COLUMN {column} SET (n_distinct = 42)",
          f"{table}.{column}"),
        m(f"ALTER TABLE {t} ALTER COLUMN {column} DROP NOT NULL", f"{table}.{column}"),
        m(f"ALTER TABLE {t} ALTER COLUMN {column} SET DEFAULT NULL", f"{table}.{column}"),
        m(f"ALTER TABLE {t} ADD COLUMN {q(draw(NAME))} "
          f"{draw(st.sampled_from(['integer', 'text', 'numeric(5,2)', 'int[]']))}", table),
        m(f"ALTER TABLE {t} RENAME COLUMN {column} TO tmp_col;"
          f" ALTER TABLE {t} RENAME COLUMN tmp_col TO {column}", table),
    ]))


@st.composite
def storage(draw) -> Mutation:
    table, column = draw(st.sampled_from(TEXT_COLUMNS))
    return draw(st.sampled_from([
        m(f"ALTER TABLE {q(table)} ALTER COLUMN {column} SET STORAGE "
          f"{draw(st.sampled_from(['PLAIN', 'MAIN', 'EXTERNAL', 'EXTENDED']))}",
          f"{table}.{column}"),
        m(f"ALTER TABLE {q(table)} ALTER COLUMN {column} SET COMPRESSION "
          f"{draw(st.sampled_from(['pglz', 'default']))}", f"{table}.{column}"),
    ]))


@st.composite
def table_options(draw) -> Mutation:
    table = draw(st.sampled_from(TABLES[:5]))
    t = q(table)
    return draw(st.sampled_from([
        m(f"ALTER TABLE {t} SET (fillfactor = {draw(st.integers(50, 100))})", table),
        m(f"ALTER TABLE {t} SET (autovacuum_enabled = false)", table),
        m(f"ALTER TABLE {t} SET (toast.autovacuum_enabled = false)", table),
        m(f"ALTER TABLE {t} RESET (fillfactor)", table),
        m("ALTER TABLE customers CLUSTER ON customers_email_key", "customers"),
        m("ALTER TABLE orders SET WITHOUT CLUSTER", "orders"),
        m(f"ALTER TABLE {t} REPLICA IDENTITY FULL", table),
        m(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY", table),
        m(f"ALTER TABLE {t} SET UNLOGGED", table) if table == "events"
        else m(f"ALTER TABLE {t} OWNER TO {draw(st.sampled_from(ROLES))}", table),
    ]))


@st.composite
def constraints_and_indexes(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} CHECK (kind <> '')", name),
        m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} CHECK (kind <> '') NOT VALID", name),
        m("ALTER TABLE orders DROP CONSTRAINT orders_customer_placed_key",
          "orders_customer_placed_key"),
        m(f"ALTER TABLE orders RENAME CONSTRAINT orders_customer_placed_key TO {q(name)}",
          name),
        m(f"CREATE INDEX {q(name)} ON events "
          f"{draw(st.sampled_from(['(kind)', '(kind DESC)', '(lower(kind))', '(kind) WHERE customer_ref IS NULL', '(kind) INCLUDE (created_at)', 'USING hash (kind)']))}",
          name),
        m("DROP INDEX orders_customer_id_placed_at_idx", "orders_customer_id_placed_at_idx"),
        m("ALTER INDEX orders_customer_id_placed_at_idx SET (fillfactor = 70)",
          "orders_customer_id_placed_at_idx"),
        m("ALTER INDEX orders_customer_id_placed_at_idx RENAME TO ocp;"
          " ALTER INDEX ocp RENAME TO orders_customer_id_placed_at_idx", "ocp"),
        m(f"CREATE STATISTICS {q(name)} (ndistinct) ON kind, customer_ref FROM events", name),
        m("ALTER STATISTICS orders_customer_status SET STATISTICS 50",
          "orders_customer_status"),
        m("DROP STATISTICS orders_customer_status", "orders_customer_status"),
    ]))


@st.composite
def sequences_and_views(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m(f"ALTER SEQUENCE orders_id_seq {draw(st.sampled_from(['INCREMENT BY 5', 'CACHE 10', 'CYCLE', 'MAXVALUE 99999999', 'START WITH 7', 'AS integer']))}",
          "orders_id_seq"),
        m(f"CREATE SEQUENCE {q(name)}", name),
        m("SELECT setval('orders_id_seq', 424242)", "orders_id_seq"),
        m(f"CREATE VIEW {q(name)} AS SELECT id FROM orders", name),
        m("ALTER VIEW reporting.order_totals SET (security_barrier = true)", "order_totals"),
        m("ALTER VIEW reporting.order_totals ALTER COLUMN total SET DEFAULT 0", "order_totals"),
        m("DROP VIEW reporting.order_totals", "order_totals"),
        m("REFRESH MATERIALIZED VIEW reporting.product_sales WITH NO DATA", "product_sales"),
        m("REFRESH MATERIALIZED VIEW reporting.product_sales", "product_sales"),
        m(f"CREATE MATERIALIZED VIEW {q(name)} AS SELECT 1 AS one"
          f"{draw(st.sampled_from(['', ' WITH NO DATA']))}", name),
        m(f"CREATE TABLE {q(name)} (id int); DROP TABLE {q(name)}", name),
        m(f"CREATE VIEW {q(name)} AS SELECT 1; DROP VIEW {q(name)}", name),
    ]))


@st.composite
def more_tables(draw) -> Mutation:
    name = draw(NAME)
    return draw(st.sampled_from([
        m("ALTER TABLE customers ALTER COLUMN id SET GENERATED BY DEFAULT", "customers.id"),
        m("ALTER TABLE customers ALTER COLUMN id SET INCREMENT BY 3", "customers"),
        m(f"ALTER TABLE events ADD COLUMN {q(name)} text GENERATED ALWAYS AS (upper(kind))"
          " STORED", "events"),
        m(f"ALTER TABLE events ADD CONSTRAINT {q(name)} EXCLUDE USING btree (id WITH =)", name),
        m(f"CREATE TABLE {q(name)} () INHERITS (events)", name),
        m("ALTER TABLE orders ALTER CONSTRAINT orders_customer_id_fkey DEFERRABLE",
          "orders_customer_id_fkey"),
        m("ALTER TABLE reporting.daily_sales_2024h1 SET (fillfactor = 80)",
          "daily_sales_2024h1"),
        m(f"CREATE INDEX {q(name)} ON reporting.daily_sales (quantity)", name),
        m("ALTER TABLE events ALTER COLUMN kind SET DATA TYPE varchar(50)", "events.kind"),
        m("ALTER TABLE events ALTER COLUMN kind SET (n_distinct_inherited = 5)", "events.kind"),
        m("ALTER MATERIALIZED VIEW reporting.product_sales SET (fillfactor = 50)",
          "product_sales"),
        m("ALTER MATERIALIZED VIEW reporting.product_sales CLUSTER ON"
          " product_sales_product_id_key", "product_sales"),
        m("ALTER MATERIALIZED VIEW reporting.product_sales ALTER COLUMN quantity SET"
          " STATISTICS 100", "product_sales"),
        m("ALTER FOREIGN TABLE reporting.archived_orders ALTER COLUMN id SET STATISTICS 5",
          "archived_orders"),
        m("ALTER SEQUENCE orders_id_seq OWNED BY NONE", "orders_id_seq"),
        m("ALTER SEQUENCE orders_id_seq SET UNLOGGED", "orders_id_seq"),
        m("ALTER TABLE events SET ACCESS METHOD heap", "events"),
        m(f"CREATE INDEX {q(name)} ON events ((lower(kind))); ALTER INDEX {q(name)} ALTER"
          " COLUMN 1 SET STATISTICS 77", name),
    ]))

