"""Per-item failures of a worklist job: one bad item must not stop the others (or stay
first in line, blocking every later run), yet the run must still show as failed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from triage.jobs.runs import describe_error

log = logging.getLogger(__name__)


class ItemsFailedError(RuntimeError):
    """Some items of a job run failed; the others were handled."""


class ItemFailures:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.failed: list[int] = []
        self._first: Exception | None = None

    @contextmanager
    def item(self, item_id: int) -> Iterator[None]:
        """Run one item's transaction; a failure is logged and remembered."""
        try:
            yield
        except Exception as exc:
            log.exception("job %s: worklist item %d failed", self.job_id, item_id)
            self.failed.append(item_id)
            self._first = self._first or exc

    def raise_if_any(self) -> None:
        """After the run: fail it (so ``job_run`` records it) if any item failed."""
        if self._first is None:
            return
        shown = ", ".join(str(i) for i in self.failed[:10])
        more = "" if len(self.failed) <= 10 else f" and {len(self.failed) - 10} more"
        raise ItemsFailedError(
            f"{len(self.failed)} worklist item(s) failed ({shown}{more}); first: "
            f"{describe_error(self._first)}"
        ) from self._first
