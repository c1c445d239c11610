"""The record: evidence, checklist, recovery-time clock, the rollback record, redaction."""
