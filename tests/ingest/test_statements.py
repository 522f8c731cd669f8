"""The per-object statements run on the driver (``triage.ingest.statements``): the same
results as through SQLAlchemy, and driver errors raised as SQLAlchemy's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import T0
from triage.db.crud import index
from triage.db.crud.index import SeriesAttributes, StudyAttributes
from triage.ingest import statements

from .conftest import Rows

ATTRIBUTES = StudyAttributes(
    study_instance_uid="1.2.3",
    patient_id="P1",
    patient_name="Doe^Jane",
    accession_number="A1",
    procedure_codes=({"value": "US1", "scheme": "L", "meaning": "US leg"},),
)


def _study(conn: Connection) -> tuple[int, int]:
    study = index.ensure_study(conn, attributes=StudyAttributes("1.2.3"), now=T0, stable_due_at=T0)
    series, _ = index.ensure_series(
        conn, study_id=study, attributes=SeriesAttributes("1.2.3.4"), now=T0
    )
    return study, series


def _instance(
    study: int, series: int, revision: int = 0, sop: str = "1.2.3.4.5"
) -> dict[str, object]:
    return {
        "study_id": study,
        "series_id": series,
        "sop_instance_uid": sop,
        "revision": revision,
        "is_latest": True,
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.88.11",
        "transfer_syntax_uid": "1.2.840.10008.1.2.1",
        "instance_number": 1,
        "size_bytes": 10,
        "content_digest": f"{revision:064d}",
        "archive_path": f"archive/{sop}.r{revision}.dcm",
        "calling_ae": "PACS",
        "source": "dicom",
        "received_at": T0,
    }


def test_an_instance_is_reserved_once_and_its_latest_revision_found(engine: Engine) -> None:
    with engine.begin() as conn:
        study, series = _study(conn)
        first = statements.insert_instance(conn, _instance(study, series))
        assert first is not None
        assert statements.insert_instance(conn, _instance(study, series)) is None  # taken
        assert statements.insert_instance(conn, _instance(study, series, 1)) is not None
        latest = statements.latest_revision(conn, sop_instance_uid="1.2.3.4.5")
        assert statements.latest_revision(conn, sop_instance_uid="9.9") is None
    assert latest is not None
    assert (latest.revision, latest.study_id, latest.purged) == (1, study, False)
    assert latest.content_digest == f"{1:064d}"
    assert latest == index_latest(engine)


def index_latest(engine: Engine) -> index.LatestRevision | None:
    with engine.connect() as conn:
        return index.latest_revision(conn, sop_instance_uid="1.2.3.4.5")


def test_several_objects_of_a_study_change_its_row_once(engine: Engine, rows: Rows) -> None:
    due = T0 + timedelta(seconds=60)
    with engine.begin() as conn:
        study, _ = _study(conn)
        statements.touch_study(
            conn,
            study_id=study,
            now=T0,
            stable_due_at=due,
            instance_delta=3,
            instances=3,
            attributes=ATTRIBUTES,
            modality="SR",
        )
        statements.touch_study(
            conn,
            study_id=study,
            now=T0,
            stable_due_at=due,
            instance_delta=1,
            attributes=StudyAttributes("1.2.3", patient_name="Other^Name"),
            modality="US",
        )
    (row,) = rows("study")
    assert (row["instance_count"], row["content_revision"]) == (4, 4)
    assert row["patient_name"] == "Doe^Jane"  # a later object only fills gaps
    assert row["triage_state"] == "receiving"
    with engine.connect() as conn:
        from sqlmodel import Session

        from triage.db.models import Study

        stored = Session(bind=conn).get(Study, study)
    assert stored is not None
    assert stored.modalities == ["SR", "US"]
    assert stored.procedure_codes == list(ATTRIBUTES.procedure_codes)
    assert stored.stable_due_at == due  # a UTC timestamp, converted as SQLAlchemy does


def test_a_revision_corrects_what_it_carries(engine: Engine, rows: Rows) -> None:
    with engine.begin() as conn:
        study, _ = _study(conn)
        statements.touch_study(
            conn, study_id=study, now=T0, stable_due_at=T0, instance_delta=1,
            attributes=ATTRIBUTES,
        )  # fmt: skip
        statements.touch_study(
            conn, study_id=study, now=T0, stable_due_at=T0, instance_delta=0,
            attributes=StudyAttributes("1.2.3", patient_name="Doe^Janet"), correct=True,
        )  # fmt: skip
    (row,) = rows("study")
    assert (row["patient_name"], row["patient_id"]) == ("Doe^Janet", "P1")


def test_a_driver_error_is_sqlalchemys_without_the_parameters(engine: Engine) -> None:
    with engine.begin() as conn:
        study, series = _study(conn)
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        statements.insert_instance(conn, _instance(study + 1000, series))  # no such study
    assert isinstance(raised.value, DBAPIError)
    assert "PACS" not in str(raised.value)  # values (patient names, here the AE) stay out


def test_a_study_that_is_not_there_is_an_error(engine: Engine) -> None:
    with pytest.raises(LookupError), engine.begin() as conn:
        statements.touch_study(conn, study_id=12345, now=T0, stable_due_at=T0, instance_delta=1)
