"""The Vibes HTTP API: a Starlette app served by uvicorn (``python -m rollbook_vibes.api``).

Modules: ``config`` (environment), ``app`` (routes), ``store`` (SQL), ``passwords`` (scrypt),
``maintenance`` (the flag file), ``logs`` (masked logging), ``__main__`` (revision guard, serve).
"""
