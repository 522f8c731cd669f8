"""The finishing transaction of a triage: the study's outcome, its flags, its worklist
item and a TriageRun row, all or nothing. The caller owns the transaction (several
studies may share one).

It starts with ``mark_triaged``, conditional on the content revision the triage read:
if the study changed meanwhile (a new instance) or another worker already recorded this
revision, nothing else is written and the result is dropped - the study is triaged
again once stable. So each study revision is recorded at most once, whoever races.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlmodel import Session, SQLModel

from triage.db.crud.studies import mark_triaged
from triage.db.models import Flag, Study, TriageRun
from triage.pipeline.assess import Assessment
from triage.pipeline.merge import StudyFlag
from triage.settings import Settings
from triage.worklist.sync import sync_item_for_study

STUDY: Table = SQLModel.metadata.tables[Study.__tablename__]
FLAG: Table = SQLModel.metadata.tables[Flag.__tablename__]
TRIAGE_RUN: Table = SQLModel.metadata.tables[TriageRun.__tablename__]

ACTOR = "system:pipeline"

# Columns of a flag that a re-triage may change (first_flagged_at never does).
_FLAG_FIELDS = (
    "rule",
    "rule_version",
    "ruleset_version",
    "priority",
    "certainty",
    "laterality",
    "evidence",
    "measurements",
)


@dataclass(frozen=True, slots=True)
class Triaged:
    """A finished triage, waiting to be stored."""

    study_id: int
    content_revision: int
    assessment: Assessment
    ruleset_version: str
    worker: str
    started_at: datetime


def store_triage(session: Session, *, result: Triaged, now: datetime, settings: Settings) -> bool:
    """Record ``result``; False (and nothing written) when the study moved on."""
    if not mark_triaged(
        session, study_id=result.study_id, content_revision=result.content_revision, now=now
    ):
        return False
    outcome = result.assessment
    session.execute(
        update(STUDY)
        .where(STUDY.c.id == result.study_id)
        .values(
            triage_outcome=outcome.outcome.value,
            triage_detail=outcome.detail,
            ruleset_version=result.ruleset_version,
            claimed_by=None,
            claim_expires_at=None,
        )
    )
    replace_flags(
        session,
        study_id=result.study_id,
        flags=outcome.flags,
        ruleset_version=result.ruleset_version,
        now=now,
    )
    sync_item_for_study(session, study_id=result.study_id, now=now, settings=settings, actor=ACTOR)
    session.execute(
        insert(TRIAGE_RUN).values(
            study_id=result.study_id,
            content_revision=result.content_revision,
            worker=result.worker,
            started_at=result.started_at,
            finished_at=now,
            outcome=outcome.outcome.value,
            flag_count=len(outcome.flags),
            ruleset_version=result.ruleset_version,
            detail=outcome.detail,
        )
    )
    return True


def replace_flags(
    session: Session,
    *,
    study_id: int,
    flags: tuple[StudyFlag, ...],
    ruleset_version: str,
    now: datetime,
) -> None:
    """Make the study's Flag rows exactly ``flags``: findings that stay keep their row
    and ``first_flagged_at`` (and ``updated_at`` unless something changed)."""
    existing = {
        row.finding: row
        for row in session.execute(select(FLAG).where(FLAG.c.study_id == study_id)).all()
    }
    wanted = {flag.finding: _values(flag, ruleset_version) for flag in flags}
    gone = [existing[f].id for f in existing if f not in wanted]
    if gone:
        session.execute(delete(FLAG).where(FLAG.c.id.in_(gone)))
    new = [
        {**values, "study_id": study_id, "first_flagged_at": now, "updated_at": now}
        for finding, values in wanted.items()
        if finding not in existing
    ]
    if new:
        session.execute(insert(FLAG), new)
    for finding, values in wanted.items():
        row = existing.get(finding)
        if row is not None and any(getattr(row, k) != v for k, v in values.items()):
            session.execute(
                update(FLAG).where(FLAG.c.id == row.id).values(**values, updated_at=now)
            )


def _values(flag: StudyFlag, ruleset_version: str) -> dict[str, Any]:
    return {
        "finding": flag.finding,
        "rule": flag.rule,
        "rule_version": flag.rule_version,
        "ruleset_version": ruleset_version,
        "priority": flag.priority,
        "certainty": flag.certainty,
        "laterality": flag.laterality,
        "evidence": list(flag.evidence),
        "measurements": list(flag.measurements),
    }
