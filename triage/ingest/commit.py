"""Indexing archived objects: the database half of the ingest protocol.

Each object becomes a ``Pending`` row set (instance, and study/series when new, plus
the study's stability and revision bookkeeping). On PostgreSQL every object gets its
own short transaction; writers lock rows, not the database, and PostgreSQL already
flushes concurrent commits together.

The writer has claimed the archive name before (``Archive.claim``): normally its own
file is already there, durably. In the transaction the index rows are written first:
the unique (SOP instance, revision) reserves the name; where the claim found a crash's
leftover at the name, the file is renamed over it only now, by the one writer holding
that reservation, and the folder is fsynced; then the transaction commits. Files renamed
in whose rows do not commit are renamed back to their temp name (or removed); a fresh
claim's name is removed by its writer (``Claim.release``).

On SQLite, writers take turns on one lock, so objects that arrive while another is
being committed are committed together (group commit): the thread that gets the lock
indexes everything waiting, in one transaction, and every waiting thread learns its own
outcome. One BEGIN/COMMIT (one WAL fsync), one fsync per folder and one hand-over of the
lock per group rather than per object; each object is still acknowledged only after the
commit that holds it. If a statement fails, the group is rolled back and each object
retried on its own, so one bad object never fails the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError

from triage.db.crud import index
from triage.db.engine import write_lock, writer
from triage.db.models import InstanceSource
from triage.ingest import statements
from triage.ingest.archive import Archive
from triage.ingest.errors import DescribedError
from triage.ingest.header import InstanceHeader

log = logging.getLogger(__name__)

# Objects indexed in one group transaction at most (bounds a group's latency).
MAX_GROUP = 64
# Bound on the cached series ids (they never change once committed).
_CACHE_LIMIT = 50_000


class TakenError(Exception):
    """The (SOP instance, revision) was reserved by a concurrent writer."""


class UnknownCommitError(DescribedError):
    """The commit failed and whether it happened cannot be told now."""


class GroupError(DescribedError):
    """The group transaction holding this object failed."""


def maybe_committed(exc: BaseException) -> bool:
    """Whether an object whose commit raised ``exc`` may be committed all the same: its
    archive file must then stay (a row may point to it)."""
    definite = (TakenError, GroupError, DBAPIError, OSError, DefiniteCommitError)
    return isinstance(exc, UnknownCommitError) or not isinstance(exc, definite)


class DefiniteCommitError(DescribedError):
    """The commit did not happen (its transaction was rolled back), for the reason given."""


@dataclass(eq=False)
class Pending:
    """One archived object waiting to be indexed, and then its outcome."""

    header: InstanceHeader
    temp: Path  # the synced temp file
    relative: str  # its archive name, relative to the data dir
    revision: int
    latest: index.LatestRevision | None
    digest: str
    size: int
    calling_ae: str
    source: InstanceSource
    now: datetime
    stable_due_at: datetime
    placed: bool = False  # the claimed name holds this file already (a fresh claim)
    done: bool = False
    error: BaseException | None = None
    ids: tuple[int, int] | None = None  # (study id, series id) once indexed


class Committer:
    """Commits ``Pending`` objects; safe to share between threads."""

    def __init__(
        self, engine: Engine, archive: Archive, *, describe: Callable[[BaseException], str]
    ) -> None:
        self._engine = engine
        self._archive = archive
        self._writer = writer(engine)
        self._group = engine.dialect.name == "sqlite"
        self._lock = write_lock(engine)
        self._describe = describe
        self._queue: list[Pending] = []
        self._queue_lock = threading.Lock()
        self._series: dict[str, tuple[int, int]] = {}
        self._series_lock = threading.Lock()

    def commit(self, pending: Pending) -> None:
        """Index ``pending``; returns once it is committed, raises what went wrong
        (``TakenError`` when its revision was taken meanwhile)."""
        if not self._group:
            self._run([pending])
        else:
            with self._queue_lock:
                self._queue.append(pending)
            while True:
                with self._lock:
                    if pending.done:  # a previous holder committed it with its group
                        break
                    with self._queue_lock:
                        group = self._queue[:MAX_GROUP]
                        del self._queue[:MAX_GROUP]
                    self._run(group)
        if pending.error is not None:
            raise pending.error

    def forget_ids(self) -> None:
        with self._series_lock:
            self._series.clear()

    # one transaction ----------------------------------------------------------------
    def _run(self, group: list[Pending]) -> None:
        failed: Exception | None = None
        placed: list[Pending] = []
        with self._writer.connect() as conn:
            tx = conn.begin()
            try:
                self._index(conn, group)  # reserves each (SOP instance, revision)
                # The reservations are ours until commit: rename the files that are
                # not at their names yet in, then make the renames durable (a folder
                # once however many went into it).
                folders = []
                for pending in group:
                    if pending.error is None and not pending.placed:
                        folders.append(self._archive.place(pending.temp, pending.relative))
                        placed.append(pending)
                self._archive.sync(folders)
            except Exception as exc:
                _quietly(tx.rollback)
                self._unplace(placed)
                failed = exc
            except BaseException as exc:  # interrupted: nobody's object is committed
                _quietly(tx.rollback)
                self._unplace(placed)
                for pending in group:
                    pending.error, pending.done = exc, True
                raise
            else:
                self._commit(conn, tx, group)
        if failed is not None:
            if len(group) == 1:
                group[0].error, group[0].done = self._definite(failed), True
                return
            log.debug("group of %d failed (%s); one at a time", len(group), failed)
            for pending in group:
                pending.error, pending.ids = None, None
                self._run([pending])
            return
        for pending in group:
            if pending.error is None and pending.ids is not None:
                self._remember(pending.header, *pending.ids)
            pending.done = True

    def _commit(self, conn: Connection, tx: RootTransaction, group: list[Pending]) -> None:
        try:
            tx.commit()
        except Exception as exc:
            # This connection's state is unknown now: never hand it out again.
            _quietly(conn.invalidate)
            for pending in group:
                if pending.error is not None:
                    continue
                # The commit may have happened even though it reported failure: look
                # before removing a file an index row might now point to.
                committed = self._committed(pending)
                if committed is None:
                    pending.error = UnknownCommitError(
                        f"the commit was not confirmed ({self._describe(exc)}); the file is kept"
                    )
                elif not committed:
                    self._unplace([pending])
                    pending.error = (
                        self._definite(exc) if len(group) == 1 else GroupError(self._describe(exc))
                    )

    def _definite(self, exc: Exception) -> Exception:
        """``exc``, of a transaction known to be rolled back, as an error that says so
        (``maybe_committed`` is False for it); database errors stay as they are, for the
        caller's retry."""
        if isinstance(exc, DBAPIError | OSError | TakenError | DefiniteCommitError):
            return exc
        error = DefiniteCommitError(self._describe(exc))
        error.__cause__ = exc
        return error

    def _unplace(self, placed: list[Pending]) -> None:
        """Take back files whose rows were not committed: to their temp name, so the
        object can be tried again, or gone."""
        for pending in placed:
            self._archive.unplace(pending.relative, pending.temp)

    def _index(self, conn: Connection, group: list[Pending]) -> None:
        """Reserve each object's (SOP instance, revision) and record the content
        changes of their studies: new objects of one study with the same attributes
        change its row once."""
        merged: list[list[Pending]] = []
        for p in group:
            moved_from = self._reserve(conn, p)
            if p.error is not None:
                continue
            if p.latest is not None:  # a revision: its own update, as it corrects
                self._touch(conn, [p], correct=True, delta=1 if moved_from else 0)
                if moved_from is not None:  # a SOP instance re-sent under another study
                    statements.touch_study(
                        conn,
                        study_id=moved_from,
                        now=p.now,
                        stable_due_at=p.stable_due_at,
                        instance_delta=-1,
                    )
                continue
            for batch in merged:
                first = batch[0]
                if (
                    first.ids == p.ids
                    and first.header.study == p.header.study
                    and first.header.series.modality == p.header.series.modality
                ):
                    batch.append(p)
                    break
            else:
                merged.append([p])
        for batch in merged:
            self._touch(conn, batch, correct=False, delta=len(batch))

    def _reserve(self, conn: Connection, p: Pending) -> int | None:
        """Insert the object's row (``TakenError`` in ``p.error`` when its revision is
        taken); the study it was in before, when a revision moved it to another."""
        header = p.header
        study_id, series_id = self._ids(conn, p)
        instance_id = statements.insert_instance(
            conn,
            {
                "study_id": study_id,
                "series_id": series_id,
                "sop_instance_uid": header.sop_instance_uid,
                "revision": p.revision,
                "is_latest": True,
                "sop_class_uid": header.sop_class_uid,
                "transfer_syntax_uid": header.transfer_syntax_uid,
                "instance_number": header.instance_number,
                "size_bytes": p.size,
                "content_digest": p.digest,
                "archive_path": p.relative,
                "calling_ae": p.calling_ae,
                "source": p.source.value,
                "received_at": p.now,
            },
        )
        if instance_id is None:
            p.error = TakenError()
            return None
        p.ids = study_id, series_id
        if p.latest is None:
            return None
        index.supersede_revisions(conn, sop_instance_uid=header.sop_instance_uid, below=p.revision)
        return p.latest.study_id if p.latest.study_id != study_id else None

    def _touch(self, conn: Connection, batch: list[Pending], *, correct: bool, delta: int) -> None:
        last = max(batch, key=lambda p: p.now)
        assert last.ids is not None
        statements.touch_study(
            conn,
            study_id=last.ids[0],
            now=last.now,
            stable_due_at=max(p.stable_due_at for p in batch),
            instance_delta=delta,
            instances=len(batch),
            attributes=last.header.study,
            correct=correct,
            modality=last.header.series.modality,
        )

    def _ids(self, conn: Connection, p: Pending) -> tuple[int, int]:
        """(study id, series id) for the object, creating the rows if needed."""
        uid = p.header.series.series_instance_uid
        known = self._series.get(uid) or index.find_series(conn, series_instance_uid=uid)
        if known is not None:
            # An existing series keeps its study, even if this header names another one.
            series_id, study_id = known
            return study_id, series_id
        study_id = index.ensure_study(
            conn, attributes=p.header.study, now=p.now, stable_due_at=p.stable_due_at
        )
        series_id, series_study_id = index.ensure_series(
            conn, study_id=study_id, attributes=p.header.series, now=p.now
        )
        return series_study_id, series_id

    def _remember(self, header: InstanceHeader, study_id: int, series_id: int) -> None:
        """Cache a committed series' ids: they never change (rows are never deleted)."""
        uid = header.series.series_instance_uid
        with self._series_lock:
            if uid in self._series:
                return  # known: the ids never change
            if len(self._series) >= _CACHE_LIMIT:
                self._series.clear()
            self._series[uid] = (series_id, study_id)

    def _committed(self, p: Pending) -> bool | None:
        """Whether the object's row exists; None when the database cannot tell now."""
        try:
            with self._engine.connect() as conn:
                stored = index.revision_digest(
                    conn, sop_instance_uid=p.header.sop_instance_uid, revision=p.revision
                )
        except Exception:
            return None
        return stored == p.digest


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:
        log.debug("ignored error during cleanup", exc_info=True)
