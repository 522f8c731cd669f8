"""Scheduled jobs: module-level, idempotent functions with fixed ids.

Each job takes ``engine`` and ``settings`` as keywords, records every run in ``job_run``
(``runs.recorded_job``) and is registered in ``registry.JOBS``; ``triage.scheduler``
turns the registry into APScheduler jobs. Job bodies are tested without a scheduler.
"""
