"""The drills' "Every acknowledged write is in the database": what the writers were told was
saved, looked for in the database after the rollback."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rollbook.pg.connect import connect
from rollbook.runbook.writers import Tally
from rollbook_vibes.traffic import journals_titled

STEP = "Every acknowledged write is in the database"


@contextmanager
def acknowledged_writes_kept(drill, dsn: str, tally: Tally) -> Iterator[dict[str, int]]:
    """The step that finds every write the API acknowledged: the writers' counts go into the
    record and to the block, which may assert more of them inside the step; a write the API
    acknowledged and the database lost fails it."""
    with drill.step(STEP) as step:
        with connect(dsn, read_only=True) as conn:
            present = journals_titled(conn, tally.acknowledged)
        counts = tally.summary()
        lost = len(tally.acknowledged) - present
        drill.attach_json("writers", counts | {"present": present, "lost": lost,
                                               "failures (first 20)": tally.failures})
        step.detail = (f"written {counts['attempted']}, refused {counts['refused']}, failed "
                       f"{counts['failed']}, acknowledged {counts['acknowledged']}, kept "
                       f"{present}, lost {lost}")
        drill.fact("writes_during_rollback", step.detail)
        yield counts
        assert lost == 0, f"{lost} acknowledged writes are missing"
