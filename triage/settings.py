"""The one typed settings object.

Built once at the entry point (``load_settings``) from, in rising priority: defaults, a
TOML file (``--config`` or ``MSK_TRIAGE_CONFIG``), ``MSK_TRIAGE_*`` environment variables.
Unknown keys and unknown ``MSK_TRIAGE_*`` variables are errors, with a suggestion, so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "MSK_TRIAGE_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


class SettingsError(Exception):
    """Settings that cannot be used; the message names every offending key."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    # storage
    data_dir: Path = Field(Path("data"), description="archive, temp files, default SQLite")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite under data_dir"
    )

    # DICOM listener
    ae_title: str = Field("MSKTRIAGE", min_length=1, max_length=16)
    dicom_port: int = Field(11112, ge=1, le=65535)
    bind_address: str = "0.0.0.0"  # noqa: S104 - a DICOM listener serves the network
    allowed_calling_aets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_associations: int = Field(
        16, ge=1, le=1000, description="simultaneous associations, all listener processes together"
    )
    listener_processes: int = Field(
        0,
        ge=0,
        le=256,
        description="processes receiving associations (one Python process is bound to one "
        "CPU); 0 = the number of CPUs; 1 = the listener runs inside serve/listener itself",
    )
    acse_timeout: float = Field(30.0, gt=0)
    dimse_timeout: float = Field(60.0, gt=0)
    network_timeout: float = Field(120.0, gt=0)
    maximum_pdu_size: int = Field(
        256 * 1024,
        ge=0,
        description="advertised maximum PDU; 0 means unlimited (measured: slower, and a "
        "sender may then put a whole object in one PDU, held in memory several times)",
    )
    pdu_receive_limit: int = Field(
        64 * 1024 * 1024,
        ge=1024 * 1024,
        description="longest PDU read when maximum_pdu_size is 0; a longer one drops the peer",
    )
    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    tls_ca_certificates: Path | None = None

    # study stability and jobs
    study_stable_seconds: float = Field(60.0, ge=0)
    stability_sweep_seconds: float = Field(2.0, gt=0)

    # triage pipeline
    rules_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="rule files or folders (comma-separated); empty = the default MSK pack",
    )
    pipeline_sweep_seconds: float = Field(1.0, gt=0)
    pipeline_batch_size: int = Field(50, ge=1, le=10_000)
    claim_lease_seconds: float = Field(
        300.0, gt=0, description="a claimed study is taken over after this (crashed worker)"
    )
    worker_id: str | None = Field(None, description="name in triage runs; default host:pid")

    # worklist: roster, routing, SLA
    roster_file: Path | None = Field(None, description="default: <data_dir>/roster.toml")
    routing_policy: Literal["least_loaded", "round_robin"] = "least_loaded"
    site_timezone: str = Field("UTC", description="IANA zone the roster's shifts are in")
    sla_urgent_hours: float = Field(4.0, gt=0)
    sla_high_hours: float = Field(24.0, gt=0)
    sla_routine_hours: float = Field(72.0, gt=0)
    sla_escalation: Literal["raise_priority", "reassign", "raise_and_reassign"] = (
        "raise_and_reassign"
    )
    sla_sweep_seconds: float = Field(60.0, gt=0)

    # archive retention: files older than this are removed, the index is kept
    retention_days: int | None = Field(None, ge=1, description="unset = keep files forever")
    retention_sweep_seconds: float = Field(3600.0, gt=0)

    log_level: str = "INFO"

    @field_validator("allowed_calling_aets", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("rules_paths", mode="before")
    @classmethod
    def _paths_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("site_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London)") from None
        return value

    @field_validator("ae_title")
    @classmethod
    def _ae_title(cls, value: str) -> str:
        value = value.strip()
        if not value or "\\" in value or any(ord(c) < 32 for c in value):
            raise ValueError("an AE title is 1-16 printable characters without '\\'")
        return value

    @field_validator("allowed_calling_aets")
    @classmethod
    def _calling_aets(cls, value: list[str]) -> list[str]:
        for aet in value:
            if len(aet) > 16 or "\\" in aet:
                raise ValueError(f"{aet!r} is not a valid AE title (1-16 characters)")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges file and environment itself (so it can name the origin
        # of a bad value and tests can pass an environ); only init values come in here.
        return (init_settings,)

    # derived values
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'msk-triage.db').resolve()}"

    @property
    def resolved_listener_processes(self) -> int:
        """``listener_processes``, with 0 meaning the CPUs this process may run on."""
        if self.listener_processes:
            return self.listener_processes
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def resolved_roster_file(self) -> Path:
        return self.roster_file if self.roster_file is not None else self.data_dir / "roster.toml"

    @property
    def tmp_dir(self) -> Path:
        """Partial files live here, on the archive's file system, never in /tmp."""
        return self.data_dir / "tmp"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings or raise ``SettingsError`` naming every bad key."""
    env = os.environ if environ is None else environ
    if config is None and env.get(CONFIG_ENV):
        config = Path(env[CONFIG_ENV])
    names = sorted(Settings.model_fields)
    problems: list[str] = []

    file_values: dict[str, Any] = {}
    if config is not None:
        file_values = _read_toml(config)
        for key in file_values:
            if key not in Settings.model_fields:
                problems.append(f"{config}: unknown key {key!r}{_suggest(key, names)}")

    env_names = [ENV_PREFIX + n.upper() for n in names]
    env_values: dict[str, str] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_ENV:
            continue
        if key not in env_names:
            problems.append(f"unknown environment variable {key}{_suggest(key, env_names)}")
        else:
            env_values[key[len(ENV_PREFIX) :].lower()] = value
    if problems:
        raise SettingsError("\n".join(problems))

    merged: dict[str, Any] = dict(file_values)
    merged.update(env_values)
    merged.update(overrides)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "settings"
            origin = (
                f"{ENV_PREFIX}{key.upper()}"
                if key in env_values
                else (f"{key!r} in {config}" if key in file_values else key)
            )
            lines.append(f"{origin}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("\n".join(lines)) from None
