"""What only rollbook's own tests use: pytester, pytest-alembic's runner, three markers.

Loaded only when tests/ is collected, so `pytest drills/` and `pytest checks/` show none of
it. The rollbook plugin itself comes through its `pytest11` entry points (pyproject.toml).
pytest-alembic's entry point is off (`-p no:pytest_alembic` in pyproject.toml): its
collector binds to this very file and breaks under pytest 9. tests/test_vibes_migrations.py
imports its built-in tests and defines alembic_config and alembic_engine; the runner those
tests take comes from here.
"""
# httpx loads httpcore on its first request and keeps httpcore's exception classes to map them
# to its own; pytester's sys.modules snapshot drops an httpcore first loaded inside a test, and
# later transport errors would escape as httpcore's. Both are loaded here, before any snapshot.
import httpcore  # noqa: F401
import httpx  # noqa: F401
from pytest_alembic.plugin.fixtures import alembic_runner  # noqa: F401  (a fixture)

pytest_plugins = ("pytester",)

MARKERS = (
    "alembic: pytest-alembic's built-in tests (tests/test_vibes_migrations.py)",
    "docker: needs a Docker engine (testcontainers)",
    "local_pg: needs a local PostgreSQL installation (e.g. Debian's postgresql-15)",
)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
