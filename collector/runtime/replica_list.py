"""Who collects on this database now, read from PostgreSQL's lock table (DESIGN §8): the replicas
with their shards and the leader, or a collector running alone. No replica is asked: a replica
that hangs still shows (its locks stay until its session ends), one killed with -9 does not.

Each replica's coordination session holds the instance guard shared and names itself (its
``application_name`` is the replica id); a lone collector holds the guard exclusively.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.runtime.shards import (
    CLASSID_SQL,
    GUARD_LOW,
    LEADER_LOW,
    LOCK_KEY_SQL,
    MAX_SHARDS,
    SHARD_COUNTS_SQL,
    SHARD_TAG,
    THIS_DB_SQL,
    from_pg_name,
)
from inventory.models import CollectorHeartbeat

_KEY = "((l.classid::bigint << 32) | l.objid::bigint)"
_OURS = f"l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND l.database = {THIS_DB_SQL}"
_HOLDERS_SQL = (f"SELECT l.pid, l.mode, a.application_name, host(a.client_addr), a.backend_start"
                f" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                f" WHERE {_OURS} AND {_KEY} = {LOCK_KEY_SQL.format(low=GUARD_LOW)} ORDER BY a.application_name, l.pid")
_LEADER_SQL = f"SELECT l.pid FROM pg_locks l WHERE {_OURS} AND {_KEY} = {LOCK_KEY_SQL.format(low=LEADER_LOW)}"
_SHARDS_SQL = (f"SELECT l.pid, count(*), max(l.objid::bigint) - {SHARD_TAG} FROM pg_locks l WHERE {_OURS}"
               f" AND l.classid::bigint = {CLASSID_SQL} AND l.objid::bigint >= {SHARD_TAG} AND l.objid::bigint < {SHARD_TAG + MAX_SHARDS} GROUP BY l.pid")


@dataclass(frozen=True, slots=True)
class LiveCollector:
    """One collector holding the instance guard: a replica (``name`` its replica id) or alone."""

    name: str
    pid: int  # its coordination session's server process
    client: str | None  # the address it connects from (None: a Unix socket)
    connected_at: dt.datetime | None
    shards: int  # shards it holds now (a lone collector: 0, it watches every camera)
    leader: bool
    heartbeat_at: dt.datetime | None  # its last write batch (collector_heartbeats)


@dataclass(frozen=True, slots=True)
class LiveCollectors:
    replicas: tuple[LiveCollector, ...]
    alone: LiveCollector | None  # a collector running alone (replicas off) on this database
    highest_shard: int | None = None  # the highest shard number held (the replicas' shards are more)
    shard_counts: tuple[int, ...] = ()  # the collector.shards the replicas run with (one, as they refuse others)

    @property
    def shards_held(self) -> int:
        return sum(r.shards for r in self.replicas)


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else t.astimezone(dt.UTC)


async def live_collectors(engine: AsyncEngine) -> LiveCollectors:
    """The collectors on *engine*'s PostgreSQL schema now (raises on SQLite: the caller says so)."""
    if engine.dialect.name != "postgresql":
        raise ValueError("replicas run on PostgreSQL only")
    async with engine.connect() as c:
        holders = (await c.execute(text(_HOLDERS_SQL))).all()
        leader = {int(p) for (p,) in (await c.execute(text(_LEADER_SQL))).all()}
        held = (await c.execute(text(_SHARDS_SQL))).all()
        shards = {int(p): int(n) for p, n, _ in held}
        highest = max((int(h) for _, _, h in held), default=None)
        counts = tuple(int(n) for (n,) in (await c.execute(text(SHARD_COUNTS_SQL))).all())
        names = [from_pg_name(h[2]) for h in holders]
        beats = dict((await c.execute(select(CollectorHeartbeat.collector_id, CollectorHeartbeat.at)
                                      .where(CollectorHeartbeat.collector_id.in_(names)))).tuples().all())
    replicas: list[LiveCollector] = []
    alone: LiveCollector | None = None
    for pid, mode, pg, client, since in holders:
        name = from_pg_name(pg)
        one = LiveCollector(name, int(pid), client, _utc(since), shards.get(int(pid), 0), int(pid) in leader,
                            _utc(beats.get(name)))
        if mode == "ShareLock":
            replicas.append(one)
        else:
            alone = one
    return LiveCollectors(tuple(replicas), alone, highest, counts)


__all__ = ["LiveCollector", "LiveCollectors", "live_collectors"]
