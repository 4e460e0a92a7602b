"""Database engines and migrations. Built by the entry point and passed down.

SQLite (the embedded default) has one writer at a time: a second writer waits in SQLite's busy
handler and fails with "database is locked" after ``busy_timeout``. So an engine on SQLite runs
in WAL mode (readers never block the writer, nor it them) and lets **one connection write at a
time**: a connection's first writing statement waits for the engine's write token (an asyncio
lock: the event loop goes on meanwhile), kept until the connection goes back to the pool (its
transaction ended). Writers in this process therefore queue in order instead of polling SQLite's
lock; ``busy_timeout`` remains for other processes (the CLI). A transaction starts at its first
write (pysqlite's deferred BEGIN), so a reader never has to upgrade its lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

from probes.redact import MASK, redact_url

log = logging.getLogger("camwatch.db")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database cannot be used (bad URL, unreachable, not migrated)."""


class BadDatabaseUrl(DatabaseError):
    """The URL itself is wrong (a mistake of the command line or config, not of the machine)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


def normalize_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick our async drivers."""
    try:
        u = make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError (its message repeats the URL: not shown)
        shown = redact_url(url)
        if "@" in shown and f":{MASK}@" not in shown:  # unparsable: whatever precedes "@" may hold a password
            shown = "…@" + shown.rsplit("@", 1)[1]
        raise BadDatabaseUrl(f"not a database URL: {shown!r} (expected sqlite:///FILE or postgresql://USER@HOST/DB)",
                             f"不是数据库网址：{shown!r}（应为 sqlite:///文件 或 postgresql://用户@主机/数据库）") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.host:  # sqlite://camwatch.db: two slashes make the file name a host
            raise BadDatabaseUrl(f"not a SQLite file URL: {redact_url(url)!r} (expected sqlite:///FILE, three slashes "
                                 "for a relative path, four for an absolute one)",
                                 f"不是 SQLite 文件网址：{redact_url(url)!r}（应为 sqlite:///文件：相对路径三个斜杠，"
                                 "绝对路径四个，如 sqlite:////var/lib/camwatch/camwatch.db）")
        u = u.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    else:
        raise BadDatabaseUrl(f"unsupported database {backend!r}: use sqlite or postgresql",
                             f"不支持的数据库 {backend!r}：请用 sqlite 或 postgresql")
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
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_TOKEN = "camwatch_write_token"
WRITE_WAIT_S = 120.0  # a writer waiting longer proceeds anyway (SQLite's busy handler then decides)


class _WriteToken:
    """One writing connection at a time on a SQLite engine (see the module docstring)."""

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:  # an engine used under another loop (asyncio.run)
            self.lock, self.loop = asyncio.Lock(), loop
        return self.lock

    def before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.info
        if info.get(_TOKEN) or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        try:
            lock = self._lock()
        except RuntimeError:  # no running loop: a synchronous use
            return
        try:
            await_only(asyncio.wait_for(lock.acquire(), WRITE_WAIT_S))
        except TimeoutError:
            log.warning("a database write waited %.0f s for the writer before it; going on", WRITE_WAIT_S)
            return
        info[_TOKEN] = lock

    @staticmethod
    def checkin(_dbapi_conn: Any, record: Any) -> None:
        lock = record.info.pop(_TOKEN, None) if record is not None else None
        if lock is not None and lock.locked():
            lock.release()


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600) before SQLite does (SQLite
    would use the umask, usually 0644, and gives its -wal/-shm files the database file's mode).
    A file that exists is left as it is; other databases are not files."""
    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        return
    path = Path(u.database)
    if path.exists() or not path.parent.is_dir():
        return  # (a missing directory is reported by SQLite itself, with its own words)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


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
        private_sqlite_file(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        token = _WriteToken()
        event.listen(engine.sync_engine, "before_cursor_execute", token.before_execute)
        event.listen(engine.sync_engine.pool, "checkin", token.checkin)
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
    private_sqlite_file(url)
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


def failure_reason(exc: BaseException) -> str:
    """The database's or driver's own words for *exc*, on one line: no SQLAlchemy class name and
    no "Background on this error" link (a user reads this, not a developer)."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    text = str(orig) if orig is not None and str(orig) else str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    line = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("(Background on")), "")
    if line.startswith("(sqlalchemy.") and ") " in line:
        line = line.split(") ", 1)[1]
    if line.startswith("<class '") and ">: " in line:  # asyncpg through SQLAlchemy's adaptor
        line = line.split(">: ", 1)[1]
    return line or type(exc).__name__


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
