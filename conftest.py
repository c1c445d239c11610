"""Root conftest: loads rollbook's fixture plugins (pytest only honours pytest_plugins here)."""

pytest_plugins = (
    "fixtures.options",
    "fixtures.reporting",
    "fixtures.database",
    "fixtures.drill",
    "fixtures.service",
    "fixtures.notices",
    "fixtures.profile",
    "fixtures.checks",
    "fixtures.api",
    "pytester",
)
