"""The runbook's rollback checklist; each item is marked by the step that does it, with evidence."""
from __future__ import annotations

from dataclasses import dataclass

DONE, NOT_DONE, NOT_APPLICABLE = "done", "not done", "not applicable"

RUNBOOK_CHECKLIST: dict[str, tuple[str, ...]] = {
    "Pre-Rollback": (
        "Rollback trigger identified and documented",
        "Impact assessment completed",
        "Maintenance mode enabled",
        "Stakeholders notified",
        "Backup of current state created",
        "Rollback team assembled",
    ),
    "During Rollback": (
        "Database migration rolled back",
        "Application code reverted",
        "Services restarted",
        "Configuration restored",
        "Data integrity verified",
        "Performance validated",
    ),
    "Post-Rollback": (
        "Functional testing completed",
        "Performance validation passed",
        "Integration tests successful",
        "Monitoring restored",
        "Users notified",
        "Documentation updated",
        "Root cause analysis initiated",
        "Maintenance mode disabled",
    ),
}


@dataclass
class ChecklistItem:
    stage: str
    text: str
    status: str = NOT_DONE
    evidence: str = "no step of this drill performs it"


class Checklist:
    """Every runbook item starts as "not done"; only a step that performed it can change that."""

    def __init__(self) -> None:
        self.items = {text: ChecklistItem(stage, text)
                      for stage, texts in RUNBOOK_CHECKLIST.items() for text in texts}

    def mark(self, text: str, status: str, evidence: str) -> None:
        if text not in self.items:
            raise KeyError(f"{text!r} is not an item of the runbook's checklist")
        if status not in (DONE, NOT_DONE, NOT_APPLICABLE):
            raise ValueError(f"unknown checklist status {status!r}")
        item = self.items[text]
        item.status, item.evidence = status, evidence

    def done(self, text: str, evidence: str) -> None:
        self.mark(text, DONE, evidence)

    def not_applicable(self, text: str, why: str) -> None:
        self.mark(text, NOT_APPLICABLE, why)

    def to_list(self) -> list[dict]:
        return [vars(item).copy() for item in self.items.values()]

    @classmethod
    def from_list(cls, rows: list[dict]) -> "Checklist":
        checklist = cls()
        for row in rows:
            checklist.mark(row["text"], row["status"], row["evidence"])
        return checklist
