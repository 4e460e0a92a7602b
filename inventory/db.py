"""Database engines and migrations. Built by the entry point and passed down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database cannot be used (bad URL, unreachable, not migrated)."""


def normalize_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick our async drivers."""
    try:
        u = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError
        raise DatabaseError(f"not a database URL: {url!r} ({exc})") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    else:
        raise DatabaseError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return u.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine. A PostgreSQL URL may carry ``?search_path=SCHEMA`` to use a schema."""
    u = make_url(normalize_url(url))
    kwargs: dict[str, Any] = {"echo": echo}
    if u.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True)
        search_path = u.query.get("search_path")
        if search_path:
            u = u.difference_update_query(["search_path"])
            kwargs["connect_args"] = {"server_settings": {"search_path": str(search_path)}}
    engine = create_async_engine(u, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["camwatch_url"] = normalize_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run migrations up to *revision*. Synchronous; runs its own event loop."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)


def current_revision(url: str) -> str | None:
    """The database's migration revision, or None when it was never migrated."""

    async def _get() -> str | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda c: MigrationContext.configure(c).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(_get())


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
