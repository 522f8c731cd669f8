"""One scheduler at a time across processes and hosts (``msk-triage scheduler``).

On PostgreSQL leadership is a session advisory lock held on a dedicated connection: the
process that holds it runs the singleton jobs, a second one polls for it as a hot
standby. When the leader dies its connection closes, the server releases the lock and
the standby takes over within a poll interval. A leader that loses its connection
(the server restarted, a network cut) stops its jobs and stands by again. On SQLite
(one host, one database file) there is nothing to elect: the scheduler just runs.

Jobs are idempotent, so the brief overlap possible when a leader's connection is cut
but it has not noticed yet does no harm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# pg_try_advisory_lock key: "msk-triage scheduler" (64-bit; the migration lock differs).
SCHEDULER_LOCK_KEY = 0x6D736B7363686564
POLL_SECONDS = 1.0


class Leadership:
    """The advisory lock on its own connection (autocommit: never idle in transaction)."""

    def __init__(self, engine: Engine, key: int = SCHEDULER_LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            )
        except BaseException:
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def check(self) -> bool:
        """Still the leader? False when the lock's connection is gone."""
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": self._key},
            ).scalar()
        except Exception:
            log.warning("lost the scheduler lock's database connection", exc_info=True)
            self._discard()
            return False
        if not held:
            self._discard()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except Exception:
            log.debug("could not unlock (the connection is gone: so is the lock)", exc_info=True)
        self._discard()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()  # never back to the pool: its session may hold the lock
            conn.close()
        except Exception:
            log.debug("ignored error closing the lock connection", exc_info=True)


def lead(
    engine: Engine,
    *,
    stop: threading.Event,
    start: Callable[[], object],
    halt: Callable[[], object],
    on_standby: Callable[[], object] = lambda: None,
    poll_seconds: float = POLL_SECONDS,
    key: int = SCHEDULER_LOCK_KEY,
) -> None:
    """Run ``start`` while this process leads and ``halt`` when it stops leading, until
    ``stop`` is set. On SQLite: ``start``, wait for ``stop``, ``halt``."""
    if engine.dialect.name != "postgresql":
        start()
        try:
            stop.wait()
        finally:
            halt()
        return
    leadership = Leadership(engine, key)
    standing_by = False
    try:
        while not stop.is_set():
            try:
                acquired = leadership.try_acquire()
            except Exception:
                log.warning("cannot reach the database to take the scheduler lock", exc_info=True)
                acquired = False
            if not acquired:
                if not standing_by:
                    on_standby()
                    standing_by = True
                stop.wait(poll_seconds)
                continue
            standing_by = False
            start()
            try:
                while not stop.wait(poll_seconds):
                    if not leadership.check():
                        log.error("no longer holding the scheduler lock: stopping the jobs")
                        break
            finally:
                halt()
    finally:
        leadership.release()
