"""The statements ingest runs for every object, prepared once and run on the driver.

``triage.db.crud.index`` builds them as SQLAlchemy Core constructs. Run through
SQLAlchemy, each costs about 15 µs of Python (execution context, result objects); on
the driver's cursor, under 2 µs. Here each one is compiled once per dialect by
SQLAlchemy itself, so the SQL, the parameter order and the value conversions (UTC
timestamps, JSON, booleans) are SQLAlchemy's, and run on the connection's DBAPI cursor,
inside the caller's transaction. A driver error is raised as SQLAlchemy's ``DBAPIError``
(parameters hidden: they hold patient names), its connection invalidated on a
disconnect, so callers handle it exactly as before.

And fewer of them: the objects of one study that are committed together change the
study row once (``touch_study`` with ``instances`` > 1).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Integer, bindparam, func, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

from triage.db.crud import index
from triage.db.crud.index import INSTANCE, STUDY, LatestRevision, StudyAttributes
from triage.db.models import TriageState

_INSTANCE_KEYS = (
    "study_id",
    "series_id",
    "sop_instance_uid",
    "revision",
    "is_latest",
    "sop_class_uid",
    "transfer_syntax_uid",
    "instance_number",
    "size_bytes",
    "content_digest",
    "archive_path",
    "calling_ae",
    "source",
    "received_at",
)


def _touch(mode: str) -> Any:
    """As ``index._touch``, with the number of objects (``p_revisions``) counted in one go."""
    values: dict[str, Any] = {
        "last_received_at": bindparam("p_now", type_=STUDY.c.last_received_at.type),
        "stable_due_at": bindparam("p_due", type_=STUDY.c.stable_due_at.type),
        "triage_state": TriageState.RECEIVING.value,
        "content_revision": STUDY.c.content_revision + bindparam("p_revisions", type_=Integer()),
        "instance_count": STUDY.c.instance_count + bindparam("p_delta", type_=Integer()),
    }
    if mode != "bare":
        for name in index._DESCRIPTIVE:
            column = STUDY.c[name]
            new = bindparam(f"p_{name}", type_=column.type)
            values[name] = (
                func.coalesce(column, new) if mode == "fill" else func.coalesce(new, column)
            )
    return (
        update(STUDY)
        .where(STUDY.c.id == bindparam("p_id"))
        .values(**values)
        .returning(STUDY.c.modalities, STUDY.c.procedure_codes)
    )


_SOURCES: dict[str, tuple[Any, tuple[str, ...] | None]] = {
    "latest": (index._LATEST, None),
    "touch fill": (_touch("fill"), None),
    "touch correct": (_touch("correct"), None),
    "touch bare": (_touch("bare"), None),
}


class _Prepared:
    """One statement compiled for one dialect, run on the DBAPI cursor."""

    def __init__(self, statement: Any, dialect: Dialect, keys: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        assert isinstance(compiled, SQLCompiler)
        self._compiled = compiled
        self.sql = compiled.string
        # name -> conversion, for the parameters whose type needs one
        self._processors: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)  # type: ignore[arg-type]
        self._order = list(compiled.positiontup or []) if dialect.positional else None

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Execute with ``values``; the DBAPI cursor, to fetch from and close."""
        params = self._compiled.construct_params(dict(values))
        for name, process in self._processors.items():
            value = params.get(name)
            if value is not None:
                params[name] = process(value)
        # A list, not a tuple: freed tuples are kept on CPython's free lists (thousands
        # of them per size), which looks like memory growing with the number of objects.
        bound: Any = params if self._order is None else [params[n] for n in self._order]
        fairy = conn.connection
        dialect = conn.dialect
        cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            gone = dialect.is_disconnect(exc, fairy.dbapi_connection, cursor)
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                self.sql,
                None,
                exc,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=gone,
                dialect=dialect,
            ) from exc
        return cursor


_prepared: dict[tuple[str, str], _Prepared] = {}
_prepared_lock = threading.Lock()


def _get(conn: Connection, name: str) -> _Prepared:
    key = (conn.dialect.name, name)
    found = _prepared.get(key)
    if found is None:
        with _prepared_lock:
            found = _prepared.get(key)
            if found is None:
                if name == "insert instance":
                    statement: Any = index._insert(conn, INSTANCE, ("sop_instance_uid", "revision"))
                    keys: tuple[str, ...] | None = _INSTANCE_KEYS
                else:
                    statement, keys = _SOURCES[name]
                found = _prepared[key] = _Prepared(statement, conn.dialect, keys)
    return found


def latest_revision(conn: Connection, *, sop_instance_uid: str) -> LatestRevision | None:
    """As ``index.latest_revision``."""
    cursor = _get(conn, "latest").run(conn, {"p_sop": sop_instance_uid})
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    instance_id, revision, digest, path, study_id, purged_at = row
    return LatestRevision(
        instance_id=int(instance_id),
        revision=int(revision),
        content_digest=str(digest),
        archive_path=str(path),
        study_id=int(study_id),
        purged=purged_at is not None,
    )


def insert_instance(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """As ``index.insert_instance`` (``values``: the instance columns): reserve (SOP
    instance, revision); its id, or None when another writer holds it already."""
    cursor = _get(conn, "insert instance").run(conn, values)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else int(row[0])


def touch_study(
    conn: Connection,
    *,
    study_id: int,
    now: datetime,
    stable_due_at: datetime,
    instance_delta: int,
    instances: int = 1,
    attributes: StudyAttributes | None = None,
    correct: bool = False,
    modality: str | None = None,
) -> None:
    """As ``index.record_content_change``, for ``instances`` objects of the study at once
    (its content revision moves on by that many)."""
    mode, params = index.touch_parameters(
        study_id=study_id,
        now=now,
        stable_due_at=stable_due_at,
        instance_delta=instance_delta,
        attributes=attributes,
        correct=correct,
    )
    params["p_revisions"] = instances
    cursor = _get(conn, f"touch {mode}").run(conn, params)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        raise LookupError(f"study {study_id} is not in the index")
    modalities: list[str] = list(_json(row[0]) or [])
    stored_codes = _json(row[1])
    # The row is locked by the update above, so this read-modify-write is safe.
    extra: dict[str, Any] = {}
    if modality and modality not in modalities:
        extra["modalities"] = sorted([*modalities, modality])
    if attributes is not None and attributes.procedure_codes:
        codes = list(attributes.procedure_codes)
        if not stored_codes or (correct and codes != stored_codes):
            extra["procedure_codes"] = codes
    if extra:  # rare (a study's first object, a new modality): through SQLAlchemy
        extra["p_id"] = study_id
        conn.execute(update(STUDY).where(STUDY.c.id == bindparam("p_id")), extra)


def _json(value: Any) -> Any:
    """A JSON column as the driver returns it: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else value
