"""A small archive on a frozen clock: studies stored through the real ingest, triaged by
the study state machine, with or without worklist items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from pydicom.dataset import Dataset
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from rules.sr import build
from tests.conftest import Clock
from triage.db.crud.studies import get_study, mark_stable_studies_ready, mark_triaged
from triage.db.engine import write_lock, writer
from triage.db.models import Instance, ItemState, Study, TriageState, WorklistItem
from triage.ingest.result import IngestOutcome
from triage.ingest.service import Ingestor
from triage.settings import Settings

RETENTION_DAYS = 30


@pytest.fixture
def retention_settings(db_settings: Settings) -> Settings:
    return db_settings.model_copy(
        update={"retention_days": RETENTION_DAYS, "study_stable_seconds": 0.0}
    )


@pytest.fixture
def ingestor(retention_settings: Settings, engine: Engine, clock: Clock) -> Ingestor:
    return Ingestor(settings=retention_settings, engine=engine, clock=clock)


@dataclass
class StoredStudy:
    uid: str
    datasets: list[Dataset]


class Archive:
    """Stores studies and moves them through triage and review, at the clock's time."""

    def __init__(self, ingestor: Ingestor, engine: Engine, clock: Clock) -> None:
        self.ingestor = ingestor
        self.engine = engine
        self.clock = clock

    def store(self, objects: int = 2, *, study: build.Study | None = None) -> StoredStudy:
        study = study or build.Study()
        datasets = [build.us_image(study=study) for _ in range(objects - 1)]
        datasets.append(
            build.sr_document(build.diagnostic_report(findings=["No DVT."]), study=study)
        )
        for ds in datasets:
            assert self.send(ds) is IngestOutcome.STORED
        return StoredStudy(study.study_instance_uid, datasets)

    def send(self, ds: Dataset) -> IngestOutcome:
        result = self.ingestor.ingest_bytes(build.to_bytes(ds), calling_ae="TEST")
        assert result.ok, result.reason
        return result.outcome

    def triage(self, *only: StoredStudy) -> None:
        """Every study whose content is stable (or only these) is triaged, as the pipeline
        would do; the others stay ready."""
        now = self.clock()
        uids = {study.uid for study in only}
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            mark_stable_studies_ready(session, now=now)
            ready = select(Study).where(col(Study.triage_state) == TriageState.READY.value)
            for study in session.exec(ready).all():
                assert study.id is not None
                if uids and study.study_instance_uid not in uids:
                    continue
                assert mark_triaged(
                    session, study_id=study.id, content_revision=study.content_revision, now=now
                )

    def add_item(self, study_uid: str, state: ItemState) -> None:
        now = self.clock()
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            study = get_study(session, study_instance_uid=study_uid)
            assert study is not None
            assert study.id is not None
            session.add(
                WorklistItem(
                    study_id=study.id,
                    state=state,
                    flagged_at=now,
                    due_at=now + timedelta(days=3),
                    created_at=now,
                    updated_at=now,
                    closed_at=now if state is ItemState.CLOSED else None,
                )
            )

    def set_item_state(self, study_uid: str, state: ItemState) -> None:
        with write_lock(self.engine), Session(writer(self.engine)) as session, session.begin():
            study = get_study(session, study_instance_uid=study_uid)
            assert study is not None
            session.execute(
                update(WorklistItem)
                .where(col(WorklistItem.study_id) == study.id)
                .values(state=state)
            )

    def instances(self, study_uid: str) -> list[Instance]:
        with Session(self.engine) as session:
            study = get_study(session, study_instance_uid=study_uid)
            assert study is not None
            return list(
                session.exec(
                    select(Instance).where(Instance.study_id == study.id).order_by(col(Instance.id))
                ).all()
            )

    def purged_at(self, study_uid: str) -> list[datetime | None]:
        return [row.purged_at for row in self.instances(study_uid)]

    def files(self, study_uid: str) -> list[bool]:
        data_dir = self.ingestor.archive.data_dir
        return [(data_dir / row.archive_path).is_file() for row in self.instances(study_uid)]


@pytest.fixture
def archive(ingestor: Ingestor, engine: Engine, clock: Clock) -> Archive:
    return Archive(ingestor, engine, clock)
