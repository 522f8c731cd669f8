"""The newcomer's path: ``msk-triage serve`` (a real process, short stable window), then
``msk-triage demo`` against it; the worklist fills exactly as the demo predicted."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.integration.conftest import MSK_TRIAGE, Serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STUDIES = 20
SEED = 21
SETTLE_SECONDS = 120.0  # a bound on waiting for triage, never an expectation

Findings = frozenset[tuple[str, str, str | None]]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Serve]:
    server = Serve(
        tmp_path / "data",
        tmp_path / "serve.log",
        MSK_TRIAGE_STUDY_STABLE_SECONDS="1",
        MSK_TRIAGE_STABILITY_SWEEP_SECONDS="0.5",
        MSK_TRIAGE_PIPELINE_SWEEP_SECONDS="0.5",
    )
    server.start()
    yield server
    if server.proc is not None:
        assert server.stop() == 0


@pytest.fixture
def database(service: Serve) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{service.data_dir / 'msk-triage.db'}")
    yield engine
    engine.dispose()


def msk_triage(service: Serve, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MSK_TRIAGE), *args],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def wait_until_triaged(database: Engine, studies: int) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        with database.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT count(*), sum(CASE WHEN triage_state = 'triaged' THEN 1 ELSE 0 END)"
                    " FROM study"
                )
            ).one()
        if counts[0] == studies and counts[1] == studies:
            return
        time.sleep(0.2)
    raise AssertionError(f"not every study was triaged within {SETTLE_SECONDS:g} s")


def flags_by_accession(database: Engine) -> dict[str, Findings]:
    found: dict[str, set[tuple[str, str, str | None]]] = {}
    with database.connect() as conn:
        for accession in conn.execute(text("SELECT accession_number FROM study")).scalars():
            found[accession] = set()
        rows = conn.execute(
            text(
                "SELECT s.accession_number, f.finding, f.certainty, f.laterality"
                " FROM flag f JOIN study s ON s.id = f.study_id"
            )
        )
        for accession, finding, certainty, laterality in rows:
            found[accession].add((finding, certainty, laterality))
    return {accession: frozenset(flags) for accession, flags in found.items()}


def findings(flags: list[dict[str, Any]] | None) -> Findings:
    return frozenset((f["finding"], f["certainty"], f["laterality"]) for f in flags or [])


def test_the_worklist_fills_as_the_demo_says(
    tmp_path: Path, service: Serve, database: Engine
) -> None:
    out = tmp_path / "demo"
    # Port and AE title come from the same settings (environment) as the service's.
    demo = msk_triage(
        service,
        "demo",
        "--studies",
        str(STUDIES),
        "--seed",
        str(SEED),
        "--amend-after",
        "6",
        "--out",
        str(out),
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    truth = json.loads((out / "expected.json").read_text())["studies"]
    expected = {s["accession_number"]: findings(s["flags"]) for s in truth}
    flagged = {accession for accession, flags in expected.items() if flags}
    assert f"{len(flagged)} of {STUDIES} studies should be flagged" in demo.stdout

    wait_until_triaged(database, STUDIES)

    # every study flagged exactly as the generator's ground truth says
    assert flags_by_accession(database) == expected
    status = json.loads(msk_triage(service, "status", "--json").stdout)
    assert status["studies"] == STUDIES
    assert status["pending_studies"] == 0
    assert status["flagged_studies"] == len(flagged)
    assert status["open_items"] == len(flagged)
    assert {job["id"]: job["last_error"] for job in status["jobs"]}["pipeline-sweep"] is None

    # one open item per flagged study, at its most urgent finding's priority
    priorities = {s["accession_number"]: s["priority"] for s in truth}
    with database.connect() as conn:
        items = conn.execute(
            text(
                "SELECT s.accession_number, w.state, w.priority, w.outcome, w.amended_at"
                " FROM worklist_item w JOIN study s ON s.id = w.study_id"
            )
        ).all()
        runs = conn.execute(
            text(
                "SELECT s.accession_number, r.content_revision, r.outcome, r.flag_count"
                " FROM triage_run r JOIN study s ON s.id = r.study_id ORDER BY r.id"
            )
        ).all()
    open_items = {row.accession_number: row.priority for row in items if row.state != "closed"}
    assert open_items == {accession: priorities[accession] for accession in flagged}

    # The amendments: each study was triaged again, and if its first report was
    # triaged before the amendment arrived, that triage saw the first report's findings.
    for study in (s for s in truth if s["amended"]):
        accession = study["accession_number"]
        history = [
            (run.outcome, run.flag_count) for run in runs if run.accession_number == accession
        ]
        final = ("flagged" if study["flags"] else "no_findings", len(study["flags"]))
        assert history[-1] == final
        if len(history) > 1:
            before = study["flags_before_amendment"]
            assert history[0] == ("flagged" if before else "no_findings", len(before))
            item = {row.accession_number: row for row in items}.get(accession)
            if before and not study["flags"]:
                assert item is not None
                assert (item.state, item.outcome) == ("closed", "withdrawn")

    # what a newcomer sees: msk-triage worklist --json (the open items, by default)
    listed = msk_triage(service, "worklist", "--json")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert {
        line["accession_number"]: (line["priority"], findings(line["findings"])) for line in lines
    } == {accession: (priorities[accession], expected[accession]) for accession in flagged}
    # most urgent first
    ranks = [("urgent", "high", "routine").index(line["priority"]) for line in lines]
    assert ranks == sorted(ranks)
