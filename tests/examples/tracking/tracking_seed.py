"""The tracking example's seeder of one table, named in its profile: every registered model in
the one workspace 'default', as a single-tenant tracker holds them."""


def registered_models(conn, table, rows):
    return conn.execute(
        "INSERT INTO tracking.registered_models (name, creation_time)"
        " SELECT 'model-' || g, 1700000000000 + g FROM generate_series(1, %s) g",
        (rows,)).rowcount
