"""One collector per database unless it runs as replicas (DESIGN §8): the guard ``camwatch run``
holds for its lifetime, and the one line it says when another collector holds the database.

- SQLite: an exclusive ``flock`` on ``<database>.run.lock`` beside the file (released by the
  kernel when the process ends, even after kill -9); ``collector.replicas`` is refused there.
- PostgreSQL alone (``collector.replicas: false``): the guard advisory lock, exclusively, on a
  session of its own (named by ``collector.collector_id``, so ``camwatch replicas`` shows it and
  its heartbeat); replicas hold it shared on their coordination session
  (:mod:`collector.runtime.replicas`), so a lone collector and replicas never run together.
- A replica looks first, on a short session, before the collector loads anything: a server older
  than PostgreSQL 14 (no ``idle_session_timeout``, which the coordination session relies on), a
  lone collector holding the database, or replicas with another ``collector.shards``, stop it here
  in one line (the coordination session checks the last two again when it opens, for two starts at once).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from collector.runtime.replicas import GUARD_KEY, PG_NEEDED, pg_connect_args
from collector.runtime.shards import SHARD_COUNTS_SQL
from collector.settings import Settings
from inventory.db import display_url

WORDS = {
    "sqlite": ("另一个 camwatch run 正在使用 SQLite 数据库 {path}：SQLite 只能运行一个采集器（多个副本请使用 PostgreSQL 并设置 "
               "collector.replicas: true）",
               "another camwatch run is using the SQLite database {path}: SQLite runs one collector only (for "
               "replicas use PostgreSQL with collector.replicas: true)"),
    "sqlite_replicas": ("collector.replicas 需要 PostgreSQL：SQLite 只能运行一个采集器",
                        "collector.replicas needs PostgreSQL: SQLite runs one collector only"),
    "pg": ("另一个 camwatch run 正在使用此 PostgreSQL 数据库（{url}，模式 {schema}）；多个采集器须全部设置 "
           "collector.replicas: true",
           "another camwatch run is using this PostgreSQL database ({url}, schema {schema}); several collectors must "
           "all set collector.replicas: true"),
    "replicas": ("一个未设置 collector.replicas 的 camwatch run 正在使用此 PostgreSQL 数据库；请先停止它",
                 "a camwatch run without collector.replicas is using this PostgreSQL database; stop it first"),
    "pg_version": ("副本需要 PostgreSQL {needed} 或更高版本（协调会话依赖 idle_session_timeout），此数据库服务器为 "
                   "PostgreSQL {found}：请先升级 PostgreSQL",
                   "replicas need PostgreSQL {needed} or later (their coordination session relies on "
                   "idle_session_timeout), this database server runs PostgreSQL {found}: upgrade PostgreSQL first"),
    "shards": ("此数据库上运行的副本 collector.shards 为 {theirs}，本副本为 {ours}：所有副本须设置相同的 collector.shards"
               "（分片数不同会让两个副本写同一台摄像机；改分片数须先停止全部副本）",
               "the replicas running on this database have collector.shards = {theirs}, this one {ours}: every "
               "replica needs the same collector.shards (with different counts two replicas would write one camera; "
               "to change it, stop every replica first)"),
}


class Refused(RuntimeError):
    """Another collector holds the database: the message is one line in the user's language."""


def say(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if lang == "en" else zh).format(**values)


def pg_version(num: int) -> str:
    """A ``server_version_num`` as PostgreSQL writes the version: 150004 → 15.4, 90624 → 9.6.24."""
    if num >= 100_000:
        return f"{num // 10_000}.{num % 10_000}"
    return f"{num // 10_000}.{num // 100 % 100}.{num % 100}"


def too_old(num: int, lang: str) -> str | None:
    """Why a replica may not run on a server whose ``server_version_num`` is *num* (one line), or
    None when the server is new enough (:data:`~collector.runtime.replicas.PG_NEEDED`)."""
    if num >= PG_NEEDED:
        return None
    needed = pg_version(PG_NEEDED).removesuffix(".0")
    return say(lang, "pg_version", needed=needed, found=pg_version(num))


@contextlib.asynccontextmanager
async def run_guard(settings: Settings, lang: str) -> AsyncIterator[None]:
    """Held while ``camwatch run`` runs; raises :class:`Refused` when another collector holds the database."""
    u = make_url(settings.database.url)
    if u.get_backend_name() == "sqlite":
        if settings.collector.replicas:
            raise Refused(say(lang, "sqlite_replicas"))
        if u.database in (None, "", ":memory:"):
            yield
            return
        path = Path(u.database)
        fd = os.open(path.with_name(path.name + ".run.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Refused(say(lang, "sqlite", path=path)) from None
            yield
        finally:
            os.close(fd)
        return
    dsn, server_settings = pg_connect_args(settings.database.url)
    if settings.collector.replicas:
        await _may_join(dsn, server_settings, settings.collector.shards, lang)
        yield  # the replica's coordination session holds the guard, shared
        return
    server_settings["application_name"] = settings.collector.collector_id[:63]  # (its heartbeat's row)
    conn = await asyncpg.connect(dsn, server_settings=server_settings, timeout=10)
    try:
        if not await conn.fetchval(f"SELECT pg_try_advisory_lock({GUARD_KEY})"):
            raise Refused(say(lang, "pg", url=display_url(settings.database.url),
                              schema=server_settings.get("search_path", "public")))
        yield
    finally:
        await conn.close()


# a lone collector holds the guard exclusively (replicas hold it shared)
ALONE_SQL = ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
             f" AND mode = 'ExclusiveLock' AND ((classid::bigint << 32) | objid::bigint) = {GUARD_KEY})")


async def _may_join(dsn: str, server_settings: dict[str, str], shards: int, lang: str) -> None:
    """A replica may join unless the server is older than PostgreSQL 14, a lone collector holds the
    database or the replicas run with another ``collector.shards`` (:class:`Refused`, before
    anything is loaded)."""
    conn = await asyncpg.connect(dsn, server_settings=server_settings, timeout=10)
    try:
        old = too_old(int(await conn.fetchval("SHOW server_version_num")), lang)
        if old is not None:
            raise Refused(old)
        # (read from pg_locks, no lock taken: a shared guard held here, even briefly, counts as a live
        # replica, and the running ones would hand over shards to one about to refuse)
        if await conn.fetchval(ALONE_SQL):
            raise Refused(say(lang, "replicas"))
        theirs = [n for n in (int(r[0]) for r in await conn.fetch(SHARD_COUNTS_SQL)) if n != shards]
        if theirs:
            raise Refused(say(lang, "shards", ours=shards, theirs=", ".join(map(str, theirs))))
    finally:
        await conn.close()


__all__ = ["Refused", "pg_version", "run_guard", "say", "too_old"]
