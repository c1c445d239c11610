"""rollbook: a database rollback runbook turned into code.

The engine here knows nothing of pytest.
"""
