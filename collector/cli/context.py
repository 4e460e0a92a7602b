"""State shared by CLI commands: settings loaded lazily, the language, database calls, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.cli.runtime import check_database, engine, run_async
from collector.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def pick(lang: str, zh: str, en: str) -> str:
    """The words of *lang*: Simplified Chinese by default, English when asked."""
    return en if lang == "en" else zh


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
            except ConfigError as exc:  # (in --lang's words, else Chinese: the file may be the mistake)
                click.echo(f"camwatch: {exc.render(self.lang_override or 'zh')}", err=True)
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
