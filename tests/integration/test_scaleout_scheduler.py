"""``msk-triage scheduler`` is a singleton on PostgreSQL: two processes, one leads, the
other stands by and takes over when the leader is killed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scaleout import (
    SCHEDULER,
    SCHEDULER_LEADING,
    SCHEDULER_STANDBY,
    Service,
    query,
    service_env,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]


def _stability_runs(url: str) -> int:
    rows = query(url, "SELECT run_count FROM job_run WHERE job_id = 'advance-stable-studies'")
    return int(str(rows[0][0])) if rows else 0


def test_a_standby_scheduler_takes_over_when_the_leader_dies(
    tmp_path: Path, pg_database: str
) -> None:
    env = service_env(pg_database, tmp_path / "data", MSK_TRIAGE_STABILITY_SWEEP_SECONDS="0.2")
    first = Service(SCHEDULER, tmp_path / "first.log", env).start()
    second = Service(SCHEDULER, tmp_path / "second.log", env)
    try:
        first.wait_for(SCHEDULER_LEADING)
        second.start()
        second.wait_for(SCHEDULER_STANDBY)
        wait_until(lambda: _stability_runs(pg_database) >= 3, 30, "the leader's job runs")
        assert SCHEDULER_LEADING not in second.output()

        first.kill()  # no goodbye: the server drops its session and its lock
        second.wait_for(SCHEDULER_LEADING, timeout=30)
        after_takeover = _stability_runs(pg_database)
        wait_until(
            lambda: _stability_runs(pg_database) >= after_takeover + 3, 30, "the new leader's runs"
        )
        # workers sweep; the scheduler never runs the pipeline
        jobs = {str(row[0]) for row in query(pg_database, "SELECT job_id FROM job_run")}
        assert "pipeline-sweep" not in jobs
        assert second.stop() == 0
    finally:
        first.kill()
        second.kill()
    assert "stopped" in second.output()


def test_on_sqlite_the_scheduler_just_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'msk-triage.db'}"
    scheduler = Service(SCHEDULER, tmp_path / "s.log", service_env(url, data)).start()
    try:
        scheduler.wait_for(SCHEDULER_LEADING)
        assert scheduler.stop() == 0
    finally:
        scheduler.kill()
