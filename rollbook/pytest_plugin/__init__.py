"""rollbook's pytest plugin: options, fixtures, the drill harness and reporting.

Each module is registered through its own `pytest11` entry point (see pyproject.toml), so
installing rollbook is all a project does to get them.
"""
