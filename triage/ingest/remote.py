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

``RemoteCommitter`` is the listener process's side, ``serve_commit`` the parent's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from triage.ingest.commit import Committer, Pending, TakenError
from triage.ingest.errors import DescribedError, describe, retryable

SERVICE = "ingest.commit"

_OK, _TAKEN, _RETRY, _FAILED = "ok", "taken", "retry", "failed"


class RetryCommitError(DescribedError):
    """The commit failed in a way that may pass when tried again (as a retryable
    database error would in this process)."""


class RemoteCommitError(DescribedError):
    """The commit failed in the committing process; the message says why."""


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
        raise RemoteCommitError(str(reason))

    def forget_ids(self) -> None:
        """The committing process keeps the cached ids, and forgets them itself."""


def serve_commit(committer: Committer, pending: Any) -> tuple[str, str | None]:
    """Commit an object for another process: (outcome, reason)."""
    if not isinstance(pending, Pending):
        return _FAILED, f"not an index entry: {type(pending).__name__}"
    try:
        committer.commit(pending)
    except TakenError:
        return _TAKEN, None
    except DBAPIError as exc:
        if not retryable(exc):
            return _FAILED, describe(exc)
        if isinstance(exc, IntegrityError):
            committer.forget_ids()  # a cached id may name a row that is gone
        return _RETRY, describe(exc)
    except Exception as exc:
        return _FAILED, describe(exc)
    return _OK, None
