"""Index commits done by another process: the listener pool's parent, on SQLite.

SQLite has one writer at a time. Each process's group commit (``commit.py``) batches
only its own objects, so with several listener processes the groups stay small and the
write lock changes hands between processes after nearly every object: measured with
four associations on two processes, fewer instances per second than one process. So
the listener processes hand each object's index entry (``Pending``, its file already
fsynced in the temp dir) to the parent, whose one ``Committer`` commits the objects of
all of them in shared groups. The protocol is unchanged (reserve the row, rename the
file in, fsync the folder, commit): only the process that runs it differs, and an
object is still acknowledged only after the commit that holds it.

``RemoteCommitter`` is the listener process's side, ``serve_commits`` the parent's:
it gets the entries that arrived while the previous group was being committed, all at
once, and commits them as one group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from triage.ingest.commit import (
    Committer,
    DefiniteCommitError,
    Pending,
    TakenError,
    UnknownCommitError,
    maybe_committed,
)
from triage.ingest.errors import DescribedError, describe, retryable

SERVICE = "ingest.commit"

_OK, _TAKEN, _RETRY, _FAILED, _UNKNOWN = "ok", "taken", "retry", "failed", "unknown"


class RetryCommitError(DefiniteCommitError):
    """The commit failed in a way that may pass when tried again (as a retryable
    database error would in this process)."""


class RemoteCommitError(DescribedError):
    """The commit may or may not have happened in the committing process (the call
    failed); the message says why."""


class RemoteCommitter:
    """Commits through ``call(SERVICE, pending)``, answered by ``serve_commit``."""

    def __init__(self, call: Callable[[str, Any], Any]) -> None:
        self._call = call

    def commit(self, pending: Pending) -> None:
        try:
            outcome, reason = self._call(SERVICE, pending)
        except Exception as exc:
            raise RemoteCommitError(f"the index commit failed: {describe(exc)}") from None
        if outcome == _OK:
            return
        if outcome == _TAKEN:
            raise TakenError
        if outcome == _RETRY:
            raise RetryCommitError(str(reason))
        if outcome == _UNKNOWN:
            raise UnknownCommitError(str(reason))
        raise DefiniteCommitError(str(reason))

    def forget_ids(self) -> None:
        """The committing process keeps the cached ids, and forgets them itself."""


def serve_commits(committer: Committer, payloads: list[Any]) -> list[tuple[str, str | None]]:
    """Commit index entries for other processes, together: each one's (outcome, reason)."""
    pendings = [p for p in payloads if isinstance(p, Pending)]
    try:
        committer.commit_all(pendings)
    except Exception as exc:  # an entry's own failure is in its ``error``; this is not
        for pending in pendings:
            if pending.error is None and not pending.done:
                pending.error = exc
    return [
        _outcome(committer, p) if isinstance(p, Pending) else (_FAILED, "not an index entry")
        for p in payloads
    ]


def _outcome(committer: Committer, pending: Pending) -> tuple[str, str | None]:
    exc = pending.error
    if exc is None:
        return _OK, None
    if isinstance(exc, TakenError):
        return _TAKEN, None
    if isinstance(exc, DBAPIError) and retryable(exc):
        if isinstance(exc, IntegrityError):
            committer.forget_ids()  # a cached id may name a row that is gone
        return _RETRY, describe(exc)
    return (_UNKNOWN if maybe_committed(exc) else _FAILED), describe(exc)
