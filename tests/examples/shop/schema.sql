-- A second example schema, unlike Vibes: identity and bigint keys, a text natural key, a
-- composite primary key, a uuid key, a timestamp column not named created_at, a soft foreign
-- key (events.customer_ref, no constraint), no Alembic. The checks run against it given only a
-- baseline from `rollbook snapshot` and a profile that names the DSN variable.
CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE products (
    id    serial PRIMARY KEY,
    sku   text NOT NULL UNIQUE,
    price numeric(10, 2) NOT NULL CHECK (price >= 0)
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    placed_at   timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'new'
);
CREATE INDEX orders_customer_id_placed_at_idx ON orders (customer_id, placed_at);

CREATE TABLE order_items (
    order_id   bigint NOT NULL REFERENCES orders (id),
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
       (ARRAY['new', 'paid', 'shipped'])[1 + g % 3]
FROM generate_series(1, 2000) g;

INSERT INTO order_items (order_id, line_no, product_id, quantity)
SELECT o, l, 1 + (o * 7 + l) % 40, 1 + (o + l) % 4
FROM generate_series(1, 2000) o, generate_series(1, 3) l;

INSERT INTO events (id, customer_ref, kind)
SELECT md5('event' || g)::uuid, CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + g % 300 END, 'login'
FROM generate_series(1, 500) g;
