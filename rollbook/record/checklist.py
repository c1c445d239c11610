"""The runbook's rollback checklist, in four states.

Every item starts "out of scope": no step of this drill covers it. A step that declares it covers
an item makes it "not done" until the step ends; the step's evidence (or, when it passed without
marking the item, its detail) makes it "done", its failure leaves it "not done" with the failure
as evidence, and a step that could not check it (skipped, or marked so) leaves it "could not
verify". A drill with anything "could not verify" is not a pass.
"""
from __future__ import annotations

from dataclasses import dataclass

DONE, NOT_DONE = "done", "not done"
COULD_NOT_VERIFY, OUT_OF_SCOPE = "could not verify", "out of scope"
STATUSES = (DONE, NOT_DONE, COULD_NOT_VERIFY, OUT_OF_SCOPE)
NOT_COVERED = "no step of this drill covers it"

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

# The items a timed runbook phase covers whichever drill runs it.
PHASE_COVERS: dict[str, tuple[str, ...]] = {
    "Database Rollback": ("Database migration rolled back",),
    "Application Rollback": ("Application code reverted", "Configuration restored"),
    "Service Restart": ("Services restarted",),
    "Validation Testing": ("Data integrity verified",),
}


@dataclass
class ChecklistItem:
    stage: str
    text: str
    status: str = OUT_OF_SCOPE
    evidence: str = NOT_COVERED


class Checklist:
    def __init__(self) -> None:
        self.items = {text: ChecklistItem(stage, text)
                      for stage, texts in RUNBOOK_CHECKLIST.items() for text in texts}

    def mark(self, text: str, status: str, evidence: str) -> None:
        if text not in self.items:
            raise KeyError(f"{text!r} is not an item of the runbook's checklist")
        if status not in STATUSES:
            raise ValueError(f"unknown checklist status {status!r}; one of {', '.join(STATUSES)}")
        item = self.items[text]
        item.status, item.evidence = status, evidence

    def done(self, text: str, evidence: str) -> None:
        self.mark(text, DONE, evidence)

    def out_of_scope(self, text: str, why: str) -> None:
        self.mark(text, OUT_OF_SCOPE, why)

    def could_not_verify(self, text: str, why: str) -> None:
        self.mark(text, COULD_NOT_VERIFY, why)

    def step_started(self, covers: tuple[str, ...], title: str) -> None:
        for text in covers:
            self.mark(text, NOT_DONE, f"step {title!r} did not finish")

    def step_ended(self, covers: tuple[str, ...], *, status: str, evidence: str) -> None:
        """A covering step ended: what it did not mark itself takes the step's outcome."""
        for text in covers:
            if status != DONE or self.items[text].status == NOT_DONE:
                self.mark(text, status, evidence)

    def with_status(self, status: str) -> list[ChecklistItem]:
        return [item for item in self.items.values() if item.status == status]

    def to_list(self) -> list[dict]:
        return [vars(item).copy() for item in self.items.values()]

    @classmethod
    def from_list(cls, rows: list[dict]) -> "Checklist":
        checklist = cls()
        for row in rows:
            checklist.mark(row["text"], row["status"], row["evidence"])
        return checklist
