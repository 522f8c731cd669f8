"""Claims: leases, results dropped when a study changes, stopping, failures, races."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from rules.api import evaluate as rules_evaluate
from tests.conftest import T0, Clock
from tests.pipeline.harness import Pipeline, StudyBuilder
from triage.db.crud.jobs import list_job_runs
from triage.db.engine import make_engine
from triage.db.models import TriageRun, TriageState
from triage.pipeline import store as store_module
from triage.pipeline import sweep as sweep_module
from triage.pipeline.sweep import PipelineError, Sweeper
from triage.settings import Settings

LEASE = 300.0


def _runs_per_revision(engine: Engine) -> Counter[tuple[int, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(TriageRun.study_id), col(TriageRun.content_revision))
        ).all()
    return Counter((row[0], row[1]) for row in rows)


def test_a_crashed_workers_claim_is_taken_over_when_its_lease_ends(pipe: Pipeline) -> None:
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)
    pipe.clock.at(60)
    crashed = pipe.sweeper("crashed")
    (claim,) = crashed._claim()  # claimed, then the process died
    assert claim.content_revision == 1
    study = pipe.study(s.uid)
    assert study.triage_state == TriageState.READY
    assert study.claimed_by == "crashed"

    assert pipe.sweep(at=60 + LEASE - 1) == 0  # still leased
    assert pipe.sweep(at=60 + LEASE) == 1
    assert pipe.study(s.uid).claimed_by is None
    assert len(pipe.runs(s.uid)) == 1


def test_a_slow_worker_overtaken_after_its_lease_records_nothing(pipe: Pipeline) -> None:
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)
    pipe.clock.at(60)
    slow = pipe.sweeper("slow")
    (claim,) = slow._claim()
    result = slow._triage(claim, [])
    assert pipe.sweep(at=60 + LEASE) == 1  # another worker takes over and finishes
    outcome = sweep_module.SweepResult()
    slow._store([result], outcome)
    assert (outcome.stored, outcome.dropped) == (0, 1)
    (run,) = pipe.runs(s.uid)
    assert run.worker != "slow"


def test_a_study_that_changes_during_triage_is_triaged_again(pipe: Pipeline) -> None:
    s = StudyBuilder()
    pipe.send(s.report("Baker's cyst."), at=0)
    pipe.clock.at(60)
    worker = pipe.sweeper()
    (claim,) = worker._claim()
    with Session(pipe.engine) as session:
        from triage.pipeline.claims import current_objects

        objects = current_objects(session, study_ids=[claim.study_id])[claim.study_id]
    triaged = worker._triage(claim, objects)
    pipe.send(s.report("Abscess."), at=61)  # arrives while the rules run
    outcome = sweep_module.SweepResult()
    worker._store([triaged], outcome)
    assert (outcome.stored, outcome.dropped) == (0, 1)
    study = pipe.study(s.uid)
    assert study.triage_state == TriageState.RECEIVING
    assert study.claimed_by is None  # given back
    assert study.triaged_revision is None
    assert pipe.runs(s.uid) == []
    assert pipe.flags(s.uid) == {}

    assert pipe.sweep(at=121) == 1
    (run,) = pipe.runs(s.uid)
    assert run.content_revision == 2
    assert set(pipe.flags(s.uid)) == {"bakers_cyst", "abscess"}


def test_a_stop_finishes_the_study_in_hand_and_gives_the_rest_back(pipe: Pipeline) -> None:
    studies = [StudyBuilder() for _ in range(4)]
    for s in studies:
        pipe.send(s.report("Baker's cyst."), at=0)
    pipe.clock.at(60)
    stop = threading.Event()
    worker = pipe.sweeper("w1", stop=stop)
    original = worker._triage

    def triage_then_stop(*args: object) -> object:
        stop.set()  # SIGTERM arrives while the first study is being triaged
        return original(*args)  # type: ignore[arg-type]

    worker._triage = triage_then_stop  # type: ignore[assignment,method-assign]
    result = worker.sweep()
    assert (result.claimed, result.stored, result.released) == (4, 1, 3)
    states = [pipe.study(s.uid) for s in studies]
    assert sum(st.triage_state == TriageState.TRIAGED for st in states) == 1
    assert all(st.claimed_by is None for st in states)
    assert pipe.sweep(at=61) == 3  # another worker (or the restart) takes the rest


def test_a_study_that_cannot_be_stored_does_not_hold_back_the_others(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    studies = [StudyBuilder() for _ in range(3)]
    for s in studies:
        pipe.send(s.report("Baker's cyst."), at=0)
    cursed = pipe.study(studies[1].uid).id
    real = store_module.store_triage

    def failing(session: Session, *, result: store_module.Triaged, **kwargs: object) -> bool:
        if result.study_id == cursed:
            raise RuntimeError("disk on fire")
        return real(session, result=result, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep_module, "store_triage", failing)
    with pytest.raises(PipelineError, match="disk on fire"):
        pipe.sweep(at=60)
    assert [pipe.study(s.uid).triage_state for s in studies] == ["triaged", "ready", "triaged"]
    with Session(pipe.engine) as session:
        (job,) = list_job_runs(session)
    assert job.job_id == "pipeline-sweep"
    assert job.last_error is not None
    assert "disk on fire" in job.last_error

    monkeypatch.setattr(sweep_module, "store_triage", real)
    assert pipe.sweep(at=61) == 0  # its claim is a back-off: retried when the lease ends
    assert pipe.sweep(at=60 + LEASE) == 1
    with Session(pipe.engine) as session:
        (job,) = list_job_runs(session)
    assert job.last_error is None
    assert job.failure_count == 1


def test_the_rules_failing_on_one_study_does_not_stop_the_sweep(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = StudyBuilder(), StudyBuilder()
    pipe.send(good.report("Baker's cyst."), at=0)
    cursed = bad.report("Joint effusion.")
    pipe.send(cursed, at=0)
    real = rules_evaluate

    def flaky(doc: object, ruleset: object) -> object:
        if getattr(doc, "sop_instance_uid", None) == cursed.SOPInstanceUID:
            raise KeyError("bug in a rule")
        return real(doc, ruleset)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep_module, "evaluate", flaky)
    assert pipe.sweep(at=60) == 2
    assert pipe.study(good.uid).triage_outcome == "flagged"
    study = pipe.study(bad.uid)
    assert study.triage_outcome == "unreadable"
    assert study.triage_detail is not None
    assert "rules error: KeyError" in study.triage_detail


def _race(workers: list[Callable[[], object]]) -> None:
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


@pytest.mark.slow
def test_concurrent_workers_never_triage_a_study_twice(pipe: Pipeline) -> None:
    studies = [StudyBuilder() for _ in range(40)]
    for i, s in enumerate(studies):
        pipe.send(s.report("Baker's cyst." if i % 3 else "No effusion."), at=0)
    pipe.clock.at(60)
    settings = pipe.settings.model_copy(update={"pipeline_batch_size": 3})
    sweepers = [
        Sweeper(engine=pipe.engine, settings=settings, worker=f"t{n}", clock=pipe.clock)
        for n in range(4)
    ]
    _race([s.sweep for s in sweepers])
    counts = _runs_per_revision(pipe.engine)
    assert len(counts) == 40
    assert set(counts.values()) == {1}
    assert all(pipe.study(s.uid).triage_state == TriageState.TRIAGED for s in studies)
    with Session(pipe.engine) as session:
        workers = set(session.execute(select(col(TriageRun.worker))).scalars())
    assert len(workers) > 1  # they really shared the work


def _sweep_in_process(url: str, data_dir: str, worker: str, start: float) -> int:
    import time

    from triage.pipeline.sweep import Sweeper as ProcessSweeper
    from triage.settings import load_settings

    settings = load_settings(
        environ={}, data_dir=data_dir, database_url=url, pipeline_batch_size=2, worker_id=worker
    )
    engine = make_engine(settings)
    try:
        time.sleep(max(0.0, start - time.time()))  # start together
        sweeper = ProcessSweeper(
            engine=engine, settings=settings, clock=lambda: T0.replace(minute=5)
        )
        return sweeper.sweep().stored
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_worker_processes_never_triage_a_study_twice(
    pipe: Pipeline, pipeline_settings: Settings, clock: Clock
) -> None:
    import time

    studies = [StudyBuilder() for _ in range(30)]
    for s in studies:
        pipe.send(s.report("Baker's cyst."), at=0)
    context = multiprocessing.get_context("spawn")
    start = time.time() + 3.0  # after the children imported everything
    with context.Pool(3) as pool:
        stored = pool.starmap(
            _sweep_in_process,
            [
                (pipeline_settings.database_url, str(pipeline_settings.data_dir), f"p{n}", start)
                for n in range(3)
            ],
        )
    assert sum(stored) == 30
    counts = _runs_per_revision(pipe.engine)
    assert len(counts) == 30
    assert set(counts.values()) == {1}
