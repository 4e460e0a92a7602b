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
from collector.runtime.shards import SHARD_COUNTS_SQL, THIS_DB_SQL, pg_name
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
    "replica_id": ("此数据库上已有一个副本使用 replica_id {replica}（来自 {client}）：每个副本须有自己的 replica_id"
                   "（不设置则按主机名和进程号自动生成；同名副本的心跳、/healthz 和告警投递记录无法区分）",
                   "a replica with replica_id {replica} is already running on this database (from {client}): every "
                   "replica needs its own (unset, it is made from the host name and process id; two of one name cannot "
                   "be told apart in heartbeats, /healthz and alert deliveries)"),
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
        await _may_join(dsn, server_settings, settings.collector.shards, lang, settings.collector.replica_id)
        yield  # the replica's coordination session holds the guard, shared
        return
    server_settings["application_name"] = pg_name(settings.collector.collector_id)  # (its heartbeat's row)
    conn = await asyncpg.connect(dsn, server_settings=server_settings, timeout=10)
    try:
        if not await conn.fetchval(f"SELECT pg_try_advisory_lock({GUARD_KEY})"):
            raise Refused(say(lang, "pg", url=display_url(settings.database.url),
                              schema=server_settings.get("search_path", "public")))
        yield
    finally:
        await conn.close()


# a lone collector holds the guard exclusively (replicas hold it shared)
ALONE_SQL = (f"SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = {THIS_DB_SQL}"
             f" AND mode = 'ExclusiveLock' AND ((classid::bigint << 32) | objid::bigint) = {GUARD_KEY})")


# the live replica (holding the guard shared) whose coordination session is named :1 (its replica id)
NAMED_SQL = ("SELECT coalesce(host(a.client_addr), 'local') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
             f" WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND l.database = {THIS_DB_SQL}"
             f" AND l.mode = 'ShareLock' AND ((l.classid::bigint << 32) | l.objid::bigint) = {GUARD_KEY}"
             " AND a.application_name = $1 LIMIT 1")


async def _may_join(dsn: str, server_settings: dict[str, str], shards: int, lang: str,
                    replica_id: str | None = None) -> None:
    """A replica may join unless the server is older than PostgreSQL 14, a lone collector holds the
    database, the replicas run with another ``collector.shards`` or one runs with its *replica_id*
    (set in its settings: the default one is made unique) (:class:`Refused`, before anything is loaded)."""
    conn = await asyncpg.connect(dsn, server_settings=server_settings, timeout=10)
    try:
        old = too_old(int(await conn.fetchval("SHOW server_version_num")), lang)
        if old is not None:
            raise Refused(old)
        # (read from pg_locks, no lock taken: a shared guard held here, even briefly, counts as a live
        # replica, and the running ones would hand over shards to one about to refuse)
        if await conn.fetchval(ALONE_SQL):
            raise Refused(say(lang, "replicas"))
        if replica_id and (client := await conn.fetchval(NAMED_SQL, pg_name(replica_id))) is not None:
            raise Refused(say(lang, "replica_id", replica=replica_id, client=client))
        theirs = [n for n in (int(r[0]) for r in await conn.fetch(SHARD_COUNTS_SQL)) if n != shards]
        if theirs:
            raise Refused(say(lang, "shards", ours=shards, theirs=", ".join(map(str, theirs))))
    finally:
        await conn.close()


__all__ = ["Refused", "pg_version", "run_guard", "say", "too_old"]
