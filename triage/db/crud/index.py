"""The statements ingest runs to index one archived object.

Written for the hot path: Core statements on one connection, a handful per instance,
races between concurrent writers settled by unique constraints (``ON CONFLICT``), never
by reading first and hoping. All functions run inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, Integer, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from triage.db.models import Instance, Series, Study, TriageState

STUDY: Table = SQLModel.metadata.tables[Study.__tablename__]
SERIES: Table = SQLModel.metadata.tables[Series.__tablename__]
INSTANCE: Table = SQLModel.metadata.tables[Instance.__tablename__]


@dataclass(frozen=True, slots=True)
class StudyAttributes:
    study_instance_uid: str
    patient_id: str | None = None
    patient_name: str | None = None
    accession_number: str | None = None
    study_date: date | None = None
    study_time: time | None = None
    study_description: str | None = None
    procedure_codes: tuple[dict[str, str], ...] = ()
    institution_name: str | None = None
    referring_physician_name: str | None = None


@dataclass(frozen=True, slots=True)
class SeriesAttributes:
    series_instance_uid: str
    modality: str | None = None
    series_number: int | None = None
    series_description: str | None = None
    body_part_examined: str | None = None
    station_name: str | None = None
    manufacturer: str | None = None
    manufacturer_model_name: str | None = None


@dataclass(frozen=True, slots=True)
class LatestRevision:
    instance_id: int
    revision: int
    content_digest: str
    archive_path: str
    study_id: int
    purged: bool = False  # archive retention removed its file


# Study attributes that a later instance may fill in or (as a revision) correct.
_DESCRIPTIVE = (
    "patient_id",
    "patient_name",
    "accession_number",
    "study_date",
    "study_time",
    "study_description",
    "institution_name",
    "referring_physician_name",
)

# Statements are built once and executed with parameters: building SQLAlchemy
# constructs per call costs more than running them.
_LATEST = (
    select(
        INSTANCE.c.id,
        INSTANCE.c.revision,
        INSTANCE.c.content_digest,
        INSTANCE.c.archive_path,
        INSTANCE.c.study_id,
        INSTANCE.c.purged_at,
    )
    .where(INSTANCE.c.sop_instance_uid == bindparam("p_sop"))
    .order_by(INSTANCE.c.revision.desc())
    .limit(1)
)
_REVISION_DIGEST = select(INSTANCE.c.content_digest).where(
    INSTANCE.c.sop_instance_uid == bindparam("p_sop"),
    INSTANCE.c.revision == bindparam("p_revision"),
)
_STUDY_ID = select(STUDY.c.id).where(STUDY.c.study_instance_uid == bindparam("p_uid"))
_SERIES_ID = select(SERIES.c.id, SERIES.c.study_id).where(
    SERIES.c.series_instance_uid == bindparam("p_uid")
)
_SUPERSEDE = (
    update(INSTANCE)
    .where(
        INSTANCE.c.sop_instance_uid == bindparam("p_sop"),
        INSTANCE.c.revision < bindparam("p_below"),
        INSTANCE.c.is_latest.is_(True),
    )
    .values(is_latest=False)
)
_STUDY_BY_ID = STUDY.c.id == bindparam("p_id")


def _touch(mode: str) -> Any:
    """UPDATE for a content change. mode "fill": descriptive values fill gaps; "correct":
    non-empty new values win; "bare": descriptive values untouched."""
    values: dict[str, Any] = {
        "last_received_at": bindparam("p_now", type_=STUDY.c.last_received_at.type),
        "stable_due_at": bindparam("p_due", type_=STUDY.c.stable_due_at.type),
        "triage_state": TriageState.RECEIVING.value,
        "content_revision": STUDY.c.content_revision + 1,
        "instance_count": STUDY.c.instance_count + bindparam("p_delta", type_=Integer()),
    }
    if mode != "bare":
        for name in _DESCRIPTIVE:
            column = STUDY.c[name]
            new = bindparam(f"p_{name}", type_=column.type)
            values[name] = (
                func.coalesce(column, new) if mode == "fill" else func.coalesce(new, column)
            )
    return (
        update(STUDY)
        .where(_STUDY_BY_ID)
        .values(**values)
        .returning(STUDY.c.modalities, STUDY.c.procedure_codes)
    )


_TOUCH = {mode: _touch(mode) for mode in ("fill", "correct", "bare")}
_UPSERTS: dict[tuple[str, str], Any] = {}


def _insert(conn: Connection, table: Table, conflict: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect."""
    key = (conn.dialect.name, table.name)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        dialect_insert = postgresql.insert if key[0] == "postgresql" else sqlite.insert
        stmt = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        _UPSERTS[key] = stmt
    return stmt


def latest_revision(conn: Connection, *, sop_instance_uid: str) -> LatestRevision | None:
    row = conn.execute(_LATEST, {"p_sop": sop_instance_uid}).first()
    if row is None:
        return None
    return LatestRevision(
        instance_id=row.id,
        revision=row.revision,
        content_digest=row.content_digest,
        archive_path=row.archive_path,
        study_id=row.study_id,
        purged=row.purged_at is not None,
    )


def revision_digest(conn: Connection, *, sop_instance_uid: str, revision: int) -> str | None:
    """The content digest stored for one revision of a SOP instance, if it exists."""
    digest = conn.execute(
        _REVISION_DIGEST, {"p_sop": sop_instance_uid, "p_revision": revision}
    ).scalar()
    return None if digest is None else str(digest)


def ensure_study(
    conn: Connection, *, attributes: StudyAttributes, now: datetime, stable_due_at: datetime
) -> int:
    """The study's id, creating the row if it does not exist (race-safe)."""
    values = asdict(attributes)
    values.update(
        procedure_codes=list(attributes.procedure_codes),
        modalities=[],
        first_received_at=now,
        last_received_at=now,
        instance_count=0,
        content_revision=0,
        stable_due_at=stable_due_at,
        triage_state=TriageState.RECEIVING.value,
    )
    study_id = conn.execute(_insert(conn, STUDY, ("study_instance_uid",)), values).scalar()
    if study_id is None:  # it existed, or a concurrent writer just committed it
        study_id = conn.execute(_STUDY_ID, {"p_uid": attributes.study_instance_uid}).scalar_one()
    return int(study_id)


def find_series(conn: Connection, *, series_instance_uid: str) -> tuple[int, int] | None:
    """(series id, its study id) of an indexed series, or None."""
    row = conn.execute(_SERIES_ID, {"p_uid": series_instance_uid}).first()
    return None if row is None else (int(row.id), int(row.study_id))


def ensure_series(
    conn: Connection, *, study_id: int, attributes: SeriesAttributes, now: datetime
) -> tuple[int, int]:
    """(series id, the study id it belongs to), creating the row if needed (race-safe)."""
    values = asdict(attributes)
    values.update(study_id=study_id, first_received_at=now)
    series_id = conn.execute(_insert(conn, SERIES, ("series_instance_uid",)), values).scalar()
    if series_id is not None:
        return int(series_id), study_id
    row = conn.execute(_SERIES_ID, {"p_uid": attributes.series_instance_uid}).one()
    # A series UID reused under another study keeps its first study; the instance is
    # indexed under the series' study so the two never disagree.
    return int(row.id), int(row.study_id)


def insert_instance(
    conn: Connection,
    *,
    study_id: int,
    series_id: int,
    sop_instance_uid: str,
    revision: int,
    sop_class_uid: str,
    transfer_syntax_uid: str,
    instance_number: int | None,
    size_bytes: int,
    content_digest: str,
    archive_path: str,
    calling_ae: str,
    source: str,
    received_at: datetime,
) -> int | None:
    """Reserve (SOP instance, revision); None when another writer holds it already."""
    instance_id = conn.execute(
        _insert(conn, INSTANCE, ("sop_instance_uid", "revision")),
        {
            "study_id": study_id,
            "series_id": series_id,
            "sop_instance_uid": sop_instance_uid,
            "revision": revision,
            "is_latest": True,
            "sop_class_uid": sop_class_uid,
            "transfer_syntax_uid": transfer_syntax_uid,
            "instance_number": instance_number,
            "size_bytes": size_bytes,
            "content_digest": content_digest,
            "archive_path": archive_path,
            "calling_ae": calling_ae,
            "source": source,
            "received_at": received_at,
        },
    ).scalar()
    return None if instance_id is None else int(instance_id)


def supersede_revisions(conn: Connection, *, sop_instance_uid: str, below: int) -> None:
    conn.execute(_SUPERSEDE, {"p_sop": sop_instance_uid, "p_below": below})


def touch_parameters(
    *,
    study_id: int,
    now: datetime,
    stable_due_at: datetime,
    instance_delta: int,
    attributes: StudyAttributes | None,
    correct: bool,
) -> tuple[str, dict[str, Any]]:
    """The mode (``bare``, ``fill``, ``correct``) and parameters of a study's touch."""
    params: dict[str, Any] = {
        "p_id": study_id,
        "p_now": now,
        "p_due": stable_due_at,
        "p_delta": instance_delta,
    }
    if attributes is None:
        return "bare", params
    for name in _DESCRIPTIVE:
        params[f"p_{name}"] = getattr(attributes, name)
    return ("correct" if correct else "fill"), params


def record_content_change(
    conn: Connection,
    *,
    study_id: int,
    now: datetime,
    stable_due_at: datetime,
    instance_delta: int,
    attributes: StudyAttributes | None = None,
    correct: bool = False,
    modality: str | None = None,
) -> None:
    """The study's content changed: count it, push its stable time out, and put it back
    to ``receiving`` (a triaged study then needs re-triage).

    ``attributes`` fill in what the study lacks; with ``correct`` (a revision) their
    non-empty values replace the stored ones.
    """
    mode, params = touch_parameters(
        study_id=study_id,
        now=now,
        stable_due_at=stable_due_at,
        instance_delta=instance_delta,
        attributes=attributes,
        correct=correct,
    )
    row = conn.execute(_TOUCH[mode], params).one()
    # The row is locked by the update above, so this read-modify-write is safe.
    extra: dict[str, Any] = {}
    modalities: list[str] = list(row.modalities or [])
    if modality and modality not in modalities:
        extra["modalities"] = sorted([*modalities, modality])
    if attributes is not None and attributes.procedure_codes:
        codes = list(attributes.procedure_codes)
        if not row.procedure_codes or (correct and codes != row.procedure_codes):
            extra["procedure_codes"] = codes
    if extra:
        extra["p_id"] = study_id
        conn.execute(update(STUDY).where(_STUDY_BY_ID), extra)
