-- A second example schema, unlike Vibes: identity and bigint keys, a text natural key, a
-- composite primary key, a uuid key, a timestamp column not named created_at, a soft foreign
-- key (events.customer_ref, no constraint), no Alembic. The checks run against it given only a
-- baseline from `rollbook snapshot` and a profile that names the DSN variable.
--
-- It carries one of every kind of object the schema checks compare: a second schema, an
-- extension at an older version, an enum, a domain, a column collation, foreign-key actions and
-- a deferrable constraint, a partitioned table, a view and a materialized view, a trigger and
-- its function, a procedure, an event trigger, extended statistics, a replica identity, roles
-- with grants (on a schema, tables, a column, a sequence, a function) and default privileges,
-- an owner other than the connecting user, row-level security with a policy, and comments.
-- Roles are cluster-wide and tests run in parallel: they are created tolerantly.
DO $$ BEGIN CREATE ROLE shop_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE shop_reporting NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;

CREATE EXTENSION citext VERSION '1.5';
CREATE SCHEMA reporting;
ALTER SCHEMA reporting OWNER TO shop_reporting;
COMMENT ON SCHEMA reporting IS 'read models for the reporting role';

CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
CREATE DOMAIN money_amount AS numeric(10, 2) CONSTRAINT money_amount_not_negative
    CHECK (VALUE >= 0);

CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE products (
    id    serial PRIMARY KEY,
    sku   text COLLATE "C" NOT NULL UNIQUE,
    price money_amount NOT NULL
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    placed_at   timestamptz NOT NULL,
    status      order_status NOT NULL DEFAULT 'new'
);
CREATE INDEX orders_customer_id_placed_at_idx ON orders (customer_id, placed_at);

CREATE TABLE order_items (
    order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no    smallint NOT NULL,
    product_id integer NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_ref bigint,
    kind         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT timestamptz '2024-06-01 00:00+00'
);

INSERT INTO customers (email, created_at)
SELECT 'c' || g || '@shop.example', timestamptz '2023-01-01 00:00+00' + g * interval '1 day'
FROM generate_series(1, 300) g;

INSERT INTO products (sku, price)
SELECT 'SKU-' || lpad(g::text, 4, '0'), (g * 1.25)::numeric(10, 2) FROM generate_series(1, 40) g;

INSERT INTO orders (customer_id, placed_at, status)
SELECT 1 + g % 300, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour',
       ((ARRAY['new', 'paid', 'shipped'])[1 + g % 3])::order_status
FROM generate_series(1, 2000) g;

INSERT INTO order_items (order_id, line_no, product_id, quantity)
SELECT o, l, 1 + (o * 7 + l) % 40, 1 + (o + l) % 4
FROM generate_series(1, 2000) o, generate_series(1, 3) l;

INSERT INTO events (id, customer_ref, kind)
SELECT md5('event' || g)::uuid, CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + g % 300 END, 'login'
FROM generate_series(1, 500) g;

-- The reporting schema: a partitioned table, a view, a materialized view, a procedure.
CREATE TABLE reporting.daily_sales (
    day        date NOT NULL,
    product_id integer NOT NULL,
    quantity   integer NOT NULL,
    PRIMARY KEY (day, product_id)
) PARTITION BY RANGE (day);
CREATE TABLE reporting.daily_sales_2024h1 PARTITION OF reporting.daily_sales
    FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
CREATE TABLE reporting.daily_sales_2024h2 PARTITION OF reporting.daily_sales
    FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
INSERT INTO reporting.daily_sales (day, product_id, quantity)
SELECT o.placed_at::date, i.product_id, sum(i.quantity)
FROM orders o JOIN order_items i ON i.order_id = o.id GROUP BY 1, 2;

CREATE VIEW reporting.order_totals AS
SELECT o.id AS order_id, sum(i.quantity * p.price) AS total
FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
GROUP BY o.id;
COMMENT ON VIEW reporting.order_totals IS 'what each order comes to';

CREATE MATERIALIZED VIEW reporting.product_sales AS
SELECT product_id, sum(quantity) AS quantity FROM order_items GROUP BY product_id;
CREATE UNIQUE INDEX product_sales_product_id_key ON reporting.product_sales (product_id);

CREATE PROCEDURE reporting.refresh_product_sales()
LANGUAGE sql AS $$ REFRESH MATERIALIZED VIEW reporting.product_sales $$;

-- A trigger and its function; a deferrable constraint; row-level security with a policy.
CREATE FUNCTION order_items_check_quantity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.quantity <= 0 THEN
        RAISE EXCEPTION 'quantity must be positive, got %', NEW.quantity;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER order_items_check_quantity BEFORE INSERT OR UPDATE ON order_items
    FOR EACH ROW EXECUTE FUNCTION order_items_check_quantity();
COMMENT ON FUNCTION order_items_check_quantity() IS 'refuses empty order lines';

ALTER TABLE customers ADD CONSTRAINT customers_email_lower CHECK (email = lower(email))
    NOT VALID;
ALTER TABLE customers VALIDATE CONSTRAINT customers_email_lower;
ALTER TABLE orders ADD CONSTRAINT orders_customer_placed_key UNIQUE (customer_id, placed_at)
    DEFERRABLE INITIALLY DEFERRED;

CREATE STATISTICS orders_customer_status (dependencies) ON customer_id, status FROM orders;
ALTER TABLE events REPLICA IDENTITY FULL;

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_app_open ON orders FOR ALL TO shop_app USING (status <> 'shipped');

-- Grants to the application and the reporting roles; comments.
GRANT SELECT, INSERT, UPDATE ON orders, order_items TO shop_app;
GRANT SELECT ON customers, products TO shop_app;
GRANT USAGE ON SEQUENCE orders_id_seq TO shop_app;
GRANT SELECT (id, email) ON customers TO shop_reporting;
GRANT USAGE ON SCHEMA reporting TO shop_reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO shop_reporting;
GRANT EXECUTE ON PROCEDURE reporting.refresh_product_sales() TO shop_reporting;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO shop_reporting;
COMMENT ON TABLE orders IS 'one row per checkout';
COMMENT ON COLUMN customers.email IS 'lower-case login address';

-- An event trigger, which belongs to the database rather than to a schema.
CREATE FUNCTION shop_ddl_noted() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER shop_ddl_noted ON ddl_command_end EXECUTE FUNCTION shop_ddl_noted();

-- What pg_dump --schema-only prints beyond the above (tests/test_schema_oracle.py): a column's
-- statistics target and storage, a table clustered on an index, publications and their
-- tables, text search objects, a collation, an operator, a cast, a foreign-data wrapper with a
-- server, a user mapping and a foreign table.
ALTER TABLE orders ALTER COLUMN placed_at SET STATISTICS 500;
ALTER TABLE events ALTER COLUMN kind SET STORAGE MAIN;
ALTER TABLE orders CLUSTER ON orders_customer_id_placed_at_idx;

CREATE PUBLICATION shop_orders FOR TABLE orders, order_items WITH (publish = 'insert, update');
CREATE PUBLICATION shop_reporting_feed FOR TABLE reporting.daily_sales
    WITH (publish_via_partition_root = true);

CREATE TEXT SEARCH DICTIONARY shop_simple (TEMPLATE = simple, STOPWORDS = english);
CREATE TEXT SEARCH CONFIGURATION shop_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION shop_search ALTER MAPPING FOR asciiword WITH shop_simple;
COMMENT ON TEXT SEARCH CONFIGURATION shop_search IS 'product search';

CREATE COLLATION shop_bytes (provider = libc, locale = 'C');

CREATE FUNCTION money_amount_close(money_amount, money_amount) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT abs($1 - $2) < 0.01 $$;
CREATE OPERATOR =~= (LEFTARG = money_amount, RIGHTARG = money_amount,
                     FUNCTION = money_amount_close, COMMUTATOR = =~=);

CREATE CAST (order_status AS text) WITH INOUT AS ASSIGNMENT;

CREATE FOREIGN DATA WRAPPER shop_archive_wrapper;
CREATE SERVER shop_archive FOREIGN DATA WRAPPER shop_archive_wrapper OPTIONS (path '/archive');
CREATE USER MAPPING FOR shop_app SERVER shop_archive OPTIONS (user_name 'archive');
CREATE FOREIGN TABLE reporting.archived_orders (id bigint NOT NULL, placed_at timestamptz)
    SERVER shop_archive OPTIONS (file 'orders.csv');
GRANT USAGE ON FOREIGN SERVER shop_archive TO shop_app;
-- A grant made by a grantee WITH GRANT OPTION, not by the owner.
GRANT SELECT ON products TO shop_app WITH GRANT OPTION;
SET ROLE shop_app;
GRANT SELECT ON products TO shop_reporting;
RESET ROLE;
