"""docker-compose.yml runs exactly the commands the integration tests run, and has what
the issue asks of it. (No Docker engine runs in the tests: this checks the file.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .scaleout import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _triage_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if name != "postgres"}


def test_every_service_command_is_one_the_integration_tests_run() -> None:
    services = _triage_services(_compose())
    assert set(services) == {"listener", "worker", "scheduler"}
    for name, service in services.items():
        assert tuple(service["command"]) in COMMANDS, name
    assert {tuple(s["command"]) for s in services.values()} == set(COMMANDS)


def test_postgres_is_healthchecked_and_waited_for() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for name, service in _triage_services(compose).items():
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_the_database_password_is_required() -> None:
    text = COMPOSE.read_text()
    assert "MSK_TRIAGE_DB_PASSWORD" in REQUIRED.findall(text)
    compose = _compose()
    assert REQUIRED.search(compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"])
    for name, service in _triage_services(compose).items():
        url = service["environment"]["MSK_TRIAGE_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://"), name
        assert REQUIRED.search(url), name


def test_listeners_and_workers_share_the_archive_volume() -> None:
    compose = _compose()
    services = _triage_services(compose)
    mounts = {name: set(service["volumes"]) for name, service in services.items()}
    assert "archive:/data" in mounts["listener"]
    assert "archive:/data" in mounts["worker"]
    assert "archive" in compose["volumes"]
    for name, service in services.items():
        assert service["environment"]["MSK_TRIAGE_DATA_DIR"] == "/data", name


def test_the_image_is_built_from_the_dockerfile_with_the_pins() -> None:
    compose = _compose()
    for service in _triage_services(compose).values():
        assert service["build"] == "."
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert "requirements/constraints.txt" in dockerfile
    assert "pip install -c /tmp/constraints.txt ." in dockerfile


def test_the_tui_is_not_a_service_until_it_exists() -> None:
    from triage.cli.app import cli

    has_tui = "tui" in cli.commands
    assert ("tui" in _compose()["services"]) == has_tui
