"""Scale-out on PostgreSQL: 2 ``msk-triage listener`` + 2 ``msk-triage worker`` + a
``msk-triage scheduler``, one database, one shared archive folder, fed by dcmtk with
every study split across both listeners. Every study is triaged, each revision exactly
once, with the expected flags."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from rules.sr import build
from tests.integration.conftest import AE_TITLE, Serve, dcmtk_env, free_port

from .scaleout import (
    LISTENER,
    LISTENER_READY,
    SCHEDULER,
    SCHEDULER_LEADING,
    WORKER,
    WORKER_READY,
    Service,
    query,
    service_env,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STUDIES = 24


@dataclass
class Planned:
    uid: str
    datasets: list[Dataset]
    findings: set[str]


def _plan(n: int) -> Planned:
    study = build.Study(accession_number=f"SCALE{n:03d}", patient_id=f"P{n:03d}")

    def report(text: str, predecessors: list[Dataset] | None = None) -> Dataset:
        return build.sr_document(
            build.diagnostic_report(findings=[text]), study=study, predecessors=predecessors or []
        )

    def image(comments: str | None = None) -> Dataset:
        return build.us_image(study=study, image_comments=comments)

    kind = n % 6
    if kind == 0:
        datasets, findings = [image(), report("Baker's cyst, right."), image()], {"bakers_cyst"}
    elif kind == 1:
        datasets, findings = [image(), report("No Baker's cyst. No DVT."), image()], set()
    elif kind == 2:
        datasets, findings = [image(), image()], set()  # no report
    elif kind == 3:
        datasets, findings = [image("Knee joint effusion."), image()], {"joint_effusion"}
    elif kind == 4:
        first = report("Baker's cyst.")
        datasets, findings = [first, image(), report("Calf abscess.", [first])], {"abscess"}
    else:
        datasets = [report("Left: Baker's cyst."), image(), report("Right: gout, tophus.")]
        findings = {"bakers_cyst", "gout"}
    return Planned(study.study_instance_uid, datasets, findings)


def _send(tool: str, port: int, files: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [tool, "-aec", AE_TITLE, "-aet", "DCMTKSCU", "127.0.0.1", str(port), *map(str, files)],
        env=dcmtk_env(nodelay=True),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.postgres
def test_two_listeners_and_two_workers_triage_every_study_once(
    tmp_path: Path, pg_database: str
) -> None:
    data = tmp_path / "archive"  # the one folder every process shares
    settings = {
        "MSK_TRIAGE_STUDY_STABLE_SECONDS": "2",
        "MSK_TRIAGE_PIPELINE_BATCH_SIZE": "2",
        "MSK_TRIAGE_PIPELINE_SWEEP_SECONDS": "0.5",
        "MSK_TRIAGE_STABILITY_SWEEP_SECONDS": "0.5",
        "MSK_TRIAGE_BIND_ADDRESS": "127.0.0.1",
        "MSK_TRIAGE_AE_TITLE": AE_TITLE,
    }
    ports = [free_port(), free_port()]
    listeners = [
        Service(
            LISTENER,
            tmp_path / f"listener{n}.log",
            service_env(pg_database, data, MSK_TRIAGE_DICOM_PORT=str(port), **settings),
        )
        for n, port in enumerate(ports)
    ]
    workers = [
        Service(
            WORKER,
            tmp_path / f"worker{n}.log",
            service_env(pg_database, data, MSK_TRIAGE_WORKER_ID=f"worker{n}", **settings),
        )
        for n in range(2)
    ]
    scheduler = Service(SCHEDULER, tmp_path / "scheduler.log", service_env(pg_database, data))
    services = [*listeners, *workers, scheduler]

    plans = [_plan(n) for n in range(STUDIES)]
    halves: list[list[Path]] = [[], []]
    sops: set[str] = set()
    for n, plan in enumerate(plans):
        for i, ds in enumerate(plan.datasets):
            path = tmp_path / "in" / f"{n:03d}-{i}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(build.to_bytes(ds))
            halves[(n + i) % 2].append(path)  # each study split across both listeners
            sops.add(str(ds.SOPInstanceUID))
    try:
        for service in services:
            service.start()
        for listener in listeners:
            listener.wait_for(LISTENER_READY)
        for worker in workers:
            worker.wait_for(WORKER_READY)
        scheduler.wait_for(SCHEDULER_LEADING)

        senders = [_send("storescu", ports[0], halves[0]), _send("dcmsend", ports[1], halves[1])]
        for sender in senders:
            _, err = sender.communicate(timeout=120)
            assert sender.returncode == 0, err

        def all_triaged() -> bool:
            rows = query(
                pg_database,
                "SELECT count(*) FROM study WHERE triage_state = 'triaged' "
                "AND triaged_revision = content_revision",
            )
            return rows[0][0] == STUDIES

        wait_until(all_triaged, 60, "every study to be triaged")
        codes = [service.stop() for service in services]
    finally:
        for service in services:
            service.kill()
    assert codes == [0] * len(services)

    instances = query(pg_database, "SELECT sop_instance_uid FROM instance")
    assert sorted(str(r[0]) for r in instances) == sorted(sops)  # each stored once
    twice = query(
        pg_database,
        "SELECT study_id, content_revision, count(*) FROM triage_run "
        "GROUP BY study_id, content_revision HAVING count(*) > 1",
    )
    assert twice == []
    untriaged = query(
        pg_database,
        "SELECT s.id FROM study s WHERE NOT EXISTS "
        "(SELECT 1 FROM triage_run r WHERE r.study_id = s.id "
        "AND r.content_revision = s.content_revision)",
    )
    assert untriaged == []
    found: dict[str, set[str]] = {plan.uid: set() for plan in plans}
    for uid, finding in query(
        pg_database,
        "SELECT s.study_instance_uid, f.finding FROM flag f JOIN study s ON s.id = f.study_id",
    ):
        found[str(uid)].add(str(finding))
    assert found == {plan.uid: plan.findings for plan in plans}
    items = query(
        pg_database,
        "SELECT s.study_instance_uid FROM worklist_item w JOIN study s ON s.id = w.study_id",
    )
    assert {str(r[0]) for r in items} == {plan.uid for plan in plans if plan.findings}
    outcomes = dict(
        (str(uid), str(outcome))
        for uid, outcome in query(
            pg_database, "SELECT study_instance_uid, triage_outcome FROM study"
        )
    )
    assert {outcomes[plan.uid] for plan in plans if not plan.findings} == {
        "no_findings",
        "no_report",
    }
    by_worker = {str(r[0]) for r in query(pg_database, "SELECT DISTINCT worker FROM triage_run")}
    assert by_worker == {"worker0", "worker1"}  # they shared the work


def test_serve_alone_does_everything_on_sqlite(tmp_path: Path) -> None:
    """The one-process mode: listener, pipeline and jobs in ``msk-triage serve``."""

    serve = Serve(
        tmp_path / "data",
        tmp_path / "serve.log",
        MSK_TRIAGE_STUDY_STABLE_SECONDS="1",
        MSK_TRIAGE_PIPELINE_SWEEP_SECONDS="0.5",
    )
    serve.start()
    try:
        plans = [_plan(n) for n in range(6)]
        files = []
        for n, plan in enumerate(plans):
            for i, ds in enumerate(plan.datasets):
                path = tmp_path / "in" / f"{n}-{i}.dcm"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(build.to_bytes(ds))
                files.append(path)
        sender = _send("storescu", serve.port, files)
        _, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err
        url = f"sqlite:///{serve.data_dir / 'msk-triage.db'}"

        def all_triaged() -> bool:
            rows = query(url, "SELECT count(*) FROM study WHERE triage_state = 'triaged'")
            return rows[0][0] == len(plans)

        wait_until(all_triaged, 60, "serve to triage every study")
    finally:
        assert serve.stop() == 0
    found: dict[str, set[str]] = {plan.uid: set() for plan in plans}
    for uid, finding in query(
        url, "SELECT s.study_instance_uid, f.finding FROM flag f JOIN study s ON s.id = f.study_id"
    ):
        found[str(uid)].add(str(finding))
    assert found == {plan.uid: plan.findings for plan in plans}
