"""State shared by CLI commands: settings loaded lazily, errors printed cleanly."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from collector.settings import ConfigError, Settings, load_settings


@dataclass
class CliContext:
    config_file: str | None = None
    db_url: str | None = None
    lang_override: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file, db_url=self.db_url)
            except ConfigError as exc:
                click.echo(f"camwatch: {exc}", err=True)
                raise SystemExit(2) from None
        return self._settings

    @property
    def lang(self) -> str:
        if self.lang_override:
            return self.lang_override
        return self.settings.language
