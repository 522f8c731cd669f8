"""Per-invocation state shared by the commands: the config path and lazily built settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import click

from triage.settings import Settings, SettingsError, load_settings


@dataclass
class CliContext:
    config: Path | None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The settings, built on first use; a bad key stops the command (exit 2)."""
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except SettingsError as exc:
                raise click.UsageError(f"invalid settings:\n{exc}") from None
            configure_logging(self._settings.log_level)
        return self._settings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # pynetdicom logs every PDU at INFO, with identifiers in them: keep it quieter.
    logging.getLogger("pynetdicom").setLevel(max(logging.WARNING, logging.getLevelName(level)))


pass_cli = click.make_pass_decorator(CliContext)
