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
from pathlib import Path

import httpcore  # noqa: F401
import httpx  # noqa: F401
import pytest
from pytest_alembic.plugin.fixtures import alembic_runner  # noqa: F401  (a fixture)

pytest_plugins = ("pytester",)

MARKERS = (
    "alembic: pytest-alembic's built-in tests (tests/test_vibes_migrations.py)",
    "docker: needs a Docker engine (testcontainers)",
    "local_pg: needs a local PostgreSQL installation (e.g. Debian's postgresql-15)",
)


TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Every warning is an error in rollbook's own tests (and only there: a user's drills and
    checks record the warnings their project raises). Put first among the test's marks, so it
    is applied first and any filterwarnings mark of the test, its class or module wins."""
    for item in items:
        if TESTS in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings("error"), append=False)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
