"""State shared by CLI commands: settings loaded lazily, the language, database calls, errors."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import click
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.cli.runtime import check_database, engine, run_async
from collector.settings import DEFAULT_CONFIG_FILE, ConfigError, Settings, load_settings

T = TypeVar("T")


def pick(lang: str, zh: str, en: str) -> str:
    """The words of *lang*: Simplified Chinese by default, English when asked."""
    return en if lang == "en" else zh


def _peek_language(config_file: str | None) -> str:
    """The ``language`` of a configuration that did not validate (``CAMWATCH_LANGUAGE``, else the
    file's own key when it reads as YAML): its error is said in it; Chinese otherwise."""
    env = os.environ.get("CAMWATCH_LANGUAGE")
    if env in ("zh", "en"):
        return env
    path = Path(config_file) if config_file else Path(DEFAULT_CONFIG_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError):
        return "zh"
    lang = data.get("language") if isinstance(data, dict) else None
    return lang if lang in ("zh", "en") else "zh"


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
            except ConfigError as exc:  # (in --lang's words, else the file's own language: key, if it reads)
                click.echo(f"camwatch: {exc.render(self.lang_override or _peek_language(self.config_file))}", err=True)
                raise SystemExit(2) from None
        return self._settings

    @property
    def lang(self) -> str:
        if self.lang_override:
            return self.lang_override
        return self.settings.language

    def t(self, zh: str, en: str) -> str:
        return pick(self.lang, zh, en)

    def run_db(self, fn: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        """Check that the database is there and migrated, run *fn* on an engine, dispose of it."""
        s = self.settings
        check_database(s, self.lang)
        eng = engine(s)

        async def go() -> T:
            try:
                return await fn(eng)
            finally:
                await eng.dispose()

        return run_async(go())
