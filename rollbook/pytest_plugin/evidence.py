"""Evidence into the Allure report, redacted: text, JSON, files, and whole check results."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import allure

from rollbook.record.evidence import CheckResult
from rollbook.record.redact import redact_text


@lru_cache(maxsize=128)
def _redacted(text: str) -> str:
    """redact_text of `text`, once per text: the checks attach the same SQL to many tests (the
    schema catalog's statements to every table's), each a scan of every secret pattern."""
    return redact_text(text)


def attach_text(name: str, text: str) -> None:
    allure.attach(_redacted(text), name=name, attachment_type=allure.attachment_type.TEXT)


def attach_json(name: str, value) -> None:
    allure.attach(_redacted(json.dumps(value, indent=2, default=str)), name=name,
                  attachment_type=allure.attachment_type.JSON)


def attach_file(name: str, path: Path) -> None:
    attach_text(name, path.read_text(errors="replace", encoding="utf-8"))


def attach_result(result: CheckResult) -> None:
    """One Allure step per result, holding the SQL as sent and what was observed."""
    with allure.step(f"{'ok' if result.ok else 'FAILED'}: {result.name}"):
        if result.sql:
            attach_text("SQL", ";\n\n".join(result.sql) + ";")
        attach_json("observed", result.observed)
