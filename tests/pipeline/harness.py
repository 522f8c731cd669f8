"""Studies built with ``rules.sr.build``, ingested through the real ingest, and a
pipeline driven with a settable clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from rules.sr import build
from tests.conftest import Clock
from triage.db.crud.studies import get_study
from triage.db.models import Flag, Instance, Study, TriageRun, WorklistItem
from triage.ingest.service import Ingestor
from triage.pipeline.sweep import Sweeper, SweepResult, run_pipeline_sweep
from triage.settings import Settings

STABLE_SECONDS = 60.0


@dataclass
class StudyBuilder:
    """Objects of one study: reports and images sharing patient and study attributes."""

    study: build.Study = field(default_factory=lambda: build.Study(accession_number="ACC-T"))

    @property
    def uid(self) -> str:
        return self.study.study_instance_uid

    def report(
        self,
        *findings: str,
        impressions: Sequence[str] = (),
        indications: Sequence[str] = (),
        predecessors: Sequence[Dataset] = (),
    ) -> Dataset:
        return build.sr_document(
            build.diagnostic_report(
                findings=findings, impressions=impressions, indications=indications
            ),
            study=self.study,
            predecessors=predecessors,
        )

    def image(self, comments: str | None = None, *, reason: str | None = None) -> Dataset:
        return build.us_image(
            study=self.study, image_comments=comments, reason_for_procedure=reason
        )


class Pipeline:
    """Ingest at a time, sweep at a time, and look at what was stored."""

    def __init__(self, *, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.ingestor = Ingestor(settings=settings, engine=engine, clock=clock)

    def send(self, *datasets: Dataset, at: float | None = None) -> None:
        if at is not None:
            self.clock.at(at)
        for ds in datasets:
            result = self.ingestor.ingest_bytes(build.to_bytes(ds), calling_ae="PACS")
            assert result.ok, result.reason

    def sweep(self, at: float | None = None) -> int:
        """The registered job body, at ``at`` seconds after T0 (default: now)."""
        now = self.clock.at(at) if at is not None else self.clock()
        return run_pipeline_sweep(engine=self.engine, settings=self.settings, now=now)

    def sweeper(self, worker: str = "w1", **kwargs: Any) -> Sweeper:
        return Sweeper(
            engine=self.engine, settings=self.settings, worker=worker, clock=self.clock, **kwargs
        )

    def batch(self, worker: str = "w1") -> SweepResult:
        return self.sweeper(worker).batch()

    # -- what is stored ------------------------------------------------------------------

    def study(self, uid: str) -> Study:
        with Session(self.engine) as session:
            found = get_study(session, study_instance_uid=uid)
        assert found is not None
        return found

    def flags(self, uid: str) -> dict[str, Flag]:
        study_id = self.study(uid).id
        with Session(self.engine) as session:
            rows = session.exec(select(Flag).where(col(Flag.study_id) == study_id)).all()
        return {row.finding: row for row in rows}

    def item(self, uid: str) -> WorklistItem | None:
        study_id = self.study(uid).id
        with Session(self.engine) as session:
            return session.exec(
                select(WorklistItem).where(col(WorklistItem.study_id) == study_id)
            ).first()

    def runs(self, uid: str) -> list[TriageRun]:
        study_id = self.study(uid).id
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(TriageRun)
                    .where(col(TriageRun.study_id) == study_id)
                    .order_by(col(TriageRun.id))
                ).all()
            )

    def archive_file(self, sop_instance_uid: str) -> Path:
        with Session(self.engine) as session:
            path = session.exec(
                select(Instance.archive_path)
                .where(col(Instance.sop_instance_uid) == sop_instance_uid)
                .order_by(col(Instance.revision).desc())
            ).first()
        assert path is not None
        return self.settings.data_dir / str(path)
