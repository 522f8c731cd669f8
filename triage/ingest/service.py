"""Durable ingest of one DICOM object: archive file + index row, or nothing.

The protocol for each object (DESIGN.md, durability rules):

1. parse and validate the header (UIDs against the grammar) - refusals write nothing;
2. compare the digest with the latest stored revision: identical means ``DUPLICATE``;
3. write a temp file in the temp dir and fsync it, give it its archive name and fsync
   the folder (``Archive.claim``; outside any database lock);
4. in one short transaction (``triage.ingest.commit``): reserve (SOP instance,
   revision) through the unique constraint, update the study (stability due time,
   content revision, re-triage), commit; success only after the commit. (A crash's
   leftover at the name is replaced in the transaction, once the name is reserved.)
   On SQLite, objects waiting for the write lock share one transaction (group commit);
5. any failure: the archive name is removed again, and the temp file always goes.

Races between associations, threads and processes are settled by the database: a
second writer of the same (SOP instance, revision) finds it taken and starts over at 2.
A crash leaves at most a file no row points to, under the name a re-send then reuses;
never a row without its file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from triage.db.crud import index
from triage.db.crud.retention import mark_restored
from triage.db.engine import write_lock, writer
from triage.db.models import InstanceSource
from triage.ingest import statements
from triage.ingest.archive import Archive, remove_stale_temp
from triage.ingest.commit import Committer, Pending, TakenError, maybe_committed
from triage.ingest.errors import describe, retryable
from triage.ingest.header import HeaderError, InstanceHeader
from triage.ingest.payload import BytesPayload, CopiedFile, MovedFile, Payload, Received
from triage.ingest.result import IngestOutcome, IngestResult, StoreStatus
from triage.settings import Settings

log = logging.getLogger(__name__)

# Attempts at the reserve-and-commit step when writers collide or the database asks
# for a retry (deadlock, serialization failure, a dropped connection).
MAX_ATTEMPTS = 6
# Temp files untouched for this long belong to no one in flight.
STALE_TEMP_SECONDS = 3600.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ingestor:
    """Stores DICOM objects durably and indexes them; safe to share between threads."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        clock: Callable[[], datetime] = utc_now,
        stale_temp_seconds: float = STALE_TEMP_SECONDS,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._clock = clock
        self._stable = timedelta(seconds=settings.study_stable_seconds)
        self.archive = Archive(
            data_dir=settings.data_dir, archive_dir=settings.archive_dir, tmp_dir=settings.tmp_dir
        )
        self.archive.prepare()
        removed = remove_stale_temp(settings.tmp_dir, older_than_seconds=stale_temp_seconds)
        if removed:
            log.info("removed %d stale temp file(s) from %s", removed, settings.tmp_dir)
        self._committer = Committer(engine, self.archive, describe=describe)

    # public API ---------------------------------------------------------------------
    def ingest_bytes(self, data: bytes, *, calling_ae: str, source: str = "dicom") -> IngestResult:
        """Store Part 10 bytes (preamble, file meta and data set as received)."""
        return self._ingest(BytesPayload(data, self.archive), calling_ae, source)

    def ingest_file(
        self,
        path: Path,
        *,
        calling_ae: str,
        source: str = "dicom",
        move: bool = False,
        received: Received | None = None,
    ) -> IngestResult:
        """Store a Part 10 file. ``move``: the file (in the temp dir) becomes ours: it is
        renamed into the archive, or deleted; otherwise it is copied and left alone.
        ``received`` (with ``move``): its digest, size and first bytes, as its writer
        saw them, so that it is not read again."""
        payload: Payload = (
            MovedFile(path, self.archive, received) if move else CopiedFile(path, self.archive)
        )
        return self._ingest(payload, calling_ae, source)

    # the protocol -------------------------------------------------------------------
    def _ingest(self, payload: Payload, calling_ae: str, source: str) -> IngestResult:
        header: InstanceHeader | None = None
        try:
            origin = InstanceSource(source)
            header = payload.header()
            result = self._store(header, payload, calling_ae.strip(), origin)
        except HeaderError as exc:
            result = _refused(exc.status, exc.reason)
        except Exception as exc:
            result = _refused(StoreStatus.OUT_OF_RESOURCES, describe(exc), header)
            log.debug("ingest failure", exc_info=True)
        finally:
            _quietly(payload.discard)
        if not result.ok:
            # The caller reports refusals too; failures of our own deserve an error here.
            level = logging.ERROR if result.status is StoreStatus.OUT_OF_RESOURCES else logging.INFO
            log.log(
                level,
                "not stored (from %s, %s): 0x%04X %s [SOP Instance UID %s]",
                calling_ae,
                source,
                result.status,
                result.reason,
                result.sop_instance_uid or "unknown",
            )
        return result

    def _store(
        self, header: InstanceHeader, payload: Payload, calling_ae: str, source: InstanceSource
    ) -> IngestResult:
        digest, size = payload.digest()
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(min(0.2, 0.005 * 2**attempt))
            with self._engine.connect() as conn:
                latest = statements.latest_revision(conn, sop_instance_uid=header.sop_instance_uid)
            if latest is not None and latest.content_digest == digest:
                self._ensure_archived(latest, payload)
                return _result(header, IngestOutcome.DUPLICATE, latest.revision)
            revision = 0 if latest is None else latest.revision + 1
            now = self._clock()
            relative = self.archive.relative_path(
                study_uid=header.study.study_instance_uid,
                series_uid=header.series.series_instance_uid,
                sop_uid=header.sop_instance_uid,
                revision=revision,
            )
            temp = payload.synced_temp()
            claim = self.archive.claim(temp, relative)
            pending = Pending(
                header=header,
                temp=temp,
                relative=relative,
                revision=revision,
                latest=latest,
                digest=digest,
                size=size,
                calling_ae=calling_ae,
                source=source,
                now=now,
                stable_due_at=now + self._stable,
                placed=claim.fresh,
            )
            try:
                self._committer.commit(pending)
            except BaseException as exc:
                claim.release(keep=maybe_committed(exc))
                if isinstance(exc, TakenError):
                    continue  # a concurrent writer stored this revision: look again
                if not isinstance(exc, DBAPIError) or not retryable(exc):
                    raise
                if isinstance(exc, IntegrityError):
                    self._committer.forget_ids()  # a cached id may name a row that is gone
                last_error = exc
                log.debug("retrying after %s", type(exc.orig).__name__)
                continue
            claim.release(keep=True)
            outcome = IngestOutcome.STORED if latest is None else IngestOutcome.REVISION
            log.debug("stored %s revision %d", header.sop_instance_uid, revision)
            return _result(header, outcome, revision)
        raise RuntimeError(
            f"gave up after {MAX_ATTEMPTS} attempts"
            + (f" ({describe(last_error)})" if last_error else " (concurrent writers)")
        )

    def _ensure_archived(self, latest: index.LatestRevision, payload: Payload) -> None:
        """An identical re-send: put the file back if it went missing from the archive
        (removed by archive retention, or lost); a purged row is then no longer purged
        and its retention age starts again (``triage.retention``)."""
        relative = latest.archive_path
        restored = not self.archive.exists(relative) and self.archive.restore(
            payload.synced_temp(), relative
        )
        if restored or latest.purged:
            with write_lock(self._engine), writer(self._engine).begin() as conn:
                mark_restored(conn, instance_id=latest.instance_id, now=self._clock())
        if restored:
            log.log(
                logging.INFO if latest.purged else logging.WARNING,
                "restored %s archive file %s from an identical re-send",
                "purged" if latest.purged else "missing",
                relative,
            )


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:
        log.debug("ignored error during cleanup", exc_info=True)


def _refused(
    status: StoreStatus, reason: str, header: InstanceHeader | None = None
) -> IngestResult:
    return IngestResult(
        status=status,
        outcome=IngestOutcome.REFUSED,
        reason=reason,
        sop_instance_uid=header.sop_instance_uid if header else None,
        study_instance_uid=header.study.study_instance_uid if header else None,
    )


def _result(header: InstanceHeader, outcome: IngestOutcome, revision: int) -> IngestResult:
    return IngestResult(
        status=StoreStatus.SUCCESS,
        outcome=outcome,
        sop_instance_uid=header.sop_instance_uid,
        study_instance_uid=header.study.study_instance_uid,
        revision=revision,
    )
