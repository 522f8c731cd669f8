from __future__ import annotations

from pathlib import Path

import pytest

from triage.settings import SettingsError, load_settings


def test_defaults_follow_design() -> None:
    s = load_settings(environ={})
    assert s.ae_title == "MSKTRIAGE"
    assert s.dicom_port == 11112
    assert s.allowed_calling_aets == []
    assert s.study_stable_seconds == 60
    assert s.resolved_database_url.startswith("sqlite:///")


def test_environment_overrides_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('ae_title = "FROMFILE"\ndicom_port = 104\n')
    s = load_settings(
        cfg,
        environ={
            "MSK_TRIAGE_DICOM_PORT": "4242",
            "MSK_TRIAGE_ALLOWED_CALLING_AETS": "PACS1, PACS2",
        },
    )
    assert s.ae_title == "FROMFILE"
    assert s.dicom_port == 4242
    assert s.allowed_calling_aets == ["PACS1", "PACS2"]


def test_config_path_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("study_stable_seconds = 5\n")
    s = load_settings(environ={"MSK_TRIAGE_CONFIG": str(cfg)})
    assert s.study_stable_seconds == 5


def test_unknown_file_key_is_named_with_suggestion(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('ae_titel = "X"\n')
    suggestion = r"unknown key 'ae_titel' \(did you mean 'ae_title'\?\)"
    with pytest.raises(SettingsError, match=suggestion):
        load_settings(cfg, environ={})


def test_unknown_environment_variable_is_named() -> None:
    with pytest.raises(SettingsError, match=r"MSK_TRIAGE_DICOM_PROT.*MSK_TRIAGE_DICOM_PORT"):
        load_settings(environ={"MSK_TRIAGE_DICOM_PROT": "1"})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MSK_TRIAGE_DICOM_PORT": "seventy"}, "MSK_TRIAGE_DICOM_PORT"),
        ({"MSK_TRIAGE_DICOM_PORT": "70000"}, "MSK_TRIAGE_DICOM_PORT"),
        ({"MSK_TRIAGE_AE_TITLE": "A" * 17}, "MSK_TRIAGE_AE_TITLE"),
        ({"MSK_TRIAGE_STUDY_STABLE_SECONDS": "-1"}, "MSK_TRIAGE_STUDY_STABLE_SECONDS"),
        ({"MSK_TRIAGE_ALLOWED_CALLING_AETS": "OK,BAD\\AET"}, "MSK_TRIAGE_ALLOWED_CALLING_AETS"),
        ({"MSK_TRIAGE_LOG_LEVEL": "LOUD"}, "MSK_TRIAGE_LOG_LEVEL"),
    ],
)
def test_bad_environment_value_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=env)


def test_bad_file_value_names_key_and_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('dicom_port = "x"\n')
    with pytest.raises(SettingsError, match=r"'dicom_port' in .*c\.toml"):
        load_settings(cfg, environ={})


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("ae_title = \n")
    with pytest.raises(SettingsError, match=r"c\.toml"):
        load_settings(cfg, environ={})


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_pipeline_and_worklist_settings(tmp_path: Path) -> None:
    s = load_settings(
        environ={
            "MSK_TRIAGE_RULES_PATHS": "/a.yaml, /b",
            "MSK_TRIAGE_SITE_TIMEZONE": "Europe/London",
            "MSK_TRIAGE_ROUTING_POLICY": "round_robin",
            "MSK_TRIAGE_DATA_DIR": str(tmp_path),
        }
    )
    assert s.rules_paths == [Path("/a.yaml"), Path("/b")]
    assert s.routing_policy == "round_robin"
    assert s.resolved_roster_file == tmp_path / "roster.toml"
    assert (s.sla_urgent_hours, s.sla_high_hours, s.sla_routine_hours) == (4, 24, 72)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MSK_TRIAGE_SITE_TIMEZONE": "Mars/Olympus"}, "MSK_TRIAGE_SITE_TIMEZONE"),
        ({"MSK_TRIAGE_ROUTING_POLICY": "random"}, "MSK_TRIAGE_ROUTING_POLICY"),
        ({"MSK_TRIAGE_RETENTION_DAYS": "0"}, "MSK_TRIAGE_RETENTION_DAYS"),
    ],
)
def test_bad_worklist_values_are_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=env)
