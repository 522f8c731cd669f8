"""How ingest failures are told apart and described (without patient data)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

# SQLSTATEs that ask the client to retry the transaction.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


class DescribedError(Exception):
    """An error whose message is safe to log and to answer with as it is."""


def retryable(exc: DBAPIError) -> bool:
    """Whether the transaction may succeed when tried again (a lost race, a deadlock,
    a serialization failure, a dropped connection)."""
    if exc.connection_invalidated or isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def describe(exc: BaseException) -> str:
    # SQLAlchemy errors carry statement parameters (patient names); the driver's
    # message does not.
    if isinstance(exc, DescribedError):
        return str(exc)
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"database error: {type(exc.orig).__name__}: {str(exc.orig).strip()[:300]}"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"
