"""The runbook's steps that change things, for disposable targets only: migrations,
backup/restore, the service and its maintenance mode, notices, planted faults."""
