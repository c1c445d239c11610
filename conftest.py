"""Root conftest: rollbook's own tests use pytester. The plugin itself comes through its
`pytest11` entry points (pyproject.toml)."""

pytest_plugins = ("pytester",)
