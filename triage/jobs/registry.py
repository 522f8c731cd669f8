"""Every scheduled job, with its fixed id and how often it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage import retention, stability
from triage.pipeline import sweep as pipeline_sweep
from triage.settings import Settings
from triage.worklist import pool as worklist_pool
from triage.worklist import sla as worklist_sla


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    func: Callable[..., Any]  # module-level; keywords engine and settings
    interval_seconds: Callable[[Settings], float]


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        id=stability.JOB_ID,
        func=stability.advance_stable_studies,
        interval_seconds=lambda settings: settings.stability_sweep_seconds,
    ),
    JobSpec(
        id=pipeline_sweep.JOB_ID,
        func=pipeline_sweep.run_pipeline_sweep,
        interval_seconds=lambda settings: settings.pipeline_sweep_seconds,
    ),
    JobSpec(
        id=retention.JOB_ID,
        func=retention.purge_expired_files,
        interval_seconds=lambda settings: settings.retention_sweep_seconds,
    ),
    JobSpec(
        id=worklist_sla.JOB_ID,
        func=worklist_sla.escalate_overdue_items,
        interval_seconds=lambda settings: settings.sla_sweep_seconds,
    ),
    JobSpec(
        # the pool waits for someone to come on shift: checked as often as the SLA
        id=worklist_pool.JOB_ID,
        func=worklist_pool.assign_pool_items,
        interval_seconds=lambda settings: settings.sla_sweep_seconds,
    ),
)


def job_ids() -> list[str]:
    return [spec.id for spec in JOBS]
