"""Collector replicas on one PostgreSQL sharing the cameras (DESIGN §8): locks, takeover, fencing.

Each replica keeps one **coordination session** of its own (an asyncpg connection, not from the
pool). On it the replica holds the instance guard shared (the live replicas are the sessions
holding it, read from ``pg_locks``: a replica killed with -9 stops counting at once) and its
shards with session-level advisory locks (``pg_try_advisory_lock``; key layout in
:mod:`collector.runtime.shards`), aiming at its fair share:
above it, it lets go of shards (its cameras become unknown at that instant, written before the
lock goes); below it, it locks unheld ones. A dead replica's session ends and its locks go with
it, so its shards are taken within a tick or two. Replicas announce themselves with heartbeats in
``collector_heartbeats`` (``collector_id`` = the replica id, written with each batch, as a lone
collector does), and each shard has a row there too (``shard:00017``): the last instant its
writer is known to have watched its cameras.

**Takeover.** Before a newly locked shard's cameras are probed, one transaction locks the shard's
row of ``collector_shards`` (``FOR UPDATE``: it waits for a write of the previous owner in flight),
closes the cameras' open intervals at the previous owner's last heartbeat for that shard and opens
``unknown`` ones there (the rule of :func:`collector.runtime.interval_writer.recover`, per shard).
The first probe then ends the unknown interval.

**Fencing.** Every write batch runs :meth:`Replica.fence` in its transaction: it locks the rows
of the shards this replica believes it owns (in order), keeps those whose advisory lock its
coordination session still holds (``pg_locks``, checked after the row locks: a takeover waits
for this transaction, or this one sees the lock gone), heartbeats them and drops the changes of
any other camera. When the coordination session is lost (the connection drops, a query times
out) the replica forgets its shards at once: probing stops and the fence lets nothing through.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import asyncpg
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounting.sql.rollups import invalidate as invalidate_rollups
from collector.accounting.sql.rollups import midnight
from collector.runtime.event_feed import FEED_CHANNEL_SQL
from collector.runtime.interval_rows import rows_for_batch
from collector.runtime.interval_writer import _close_open
from collector.runtime.journal import IntervalOpen
from collector.runtime.shards import (
    CLASSID_SQL,
    COUNT_LOW,
    GUARD_LOW,
    LEADER_LOW,
    LOCK_KEY_SQL,
    SHARD_COUNTS_SQL,
    SHARD_TAG,
    THIS_DB_SQL,
    from_pg_name,
    pg_name,
    plan,
    shard_of,
    start_of,
)
from inventory.models import CollectorHeartbeat, StateInterval, utcnow

log = logging.getLogger("camwatch.replicas")
KEY = LOCK_KEY_SQL.format(low="($2::bigint | s)")  # of shard s (in unnest($1)), $2 = SHARD_TAG
GUARD_KEY = LOCK_KEY_SQL.format(low=str(GUARD_LOW))
LEADER_KEY = LOCK_KEY_SQL.format(low=str(LEADER_LOW))
# the replica holding the leader's lock (its session's application_name is its replica id)
LEADER_SQL = ("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
              f" WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND l.database = {THIS_DB_SQL}"
              f" AND ((l.classid::bigint << 32) | l.objid::bigint) = {LEADER_KEY}")
# the sessions holding the guard shared: the live replicas of this schema
LIVE_SQL = (f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = {THIS_DB_SQL}"
            f" AND mode = 'ShareLock' AND ((classid::bigint << 32) | objid::bigint) = {GUARD_KEY}")
# which of the shards :shards the coordination session :pid holds now
HELD_SQL = ("SELECT objid::bigint - :tag AS shard FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
            f" AND granted AND pid = :pid AND classid::bigint = {CLASSID_SQL}"
            " AND objid::bigint - :tag = ANY(:shards)")
# idle_session_timeout (Replica.connect) came with PostgreSQL 14: the server_version_num replicas need
PG_NEEDED = 140_000


def shard_row(shard: int) -> str:
    """The ``collector_heartbeats`` row of a shard's heartbeat."""
    return f"shard:{shard:05d}"


class AlreadyRunning(RuntimeError):
    """Another collector holds the database in a way this one cannot share (one line, for the CLI)."""


class ShardCountMismatch(AlreadyRunning):
    """The replicas running on the database split the cameras into another number of shards."""

    def __init__(self, ours: int, theirs: tuple[int, ...]) -> None:
        super().__init__(f"the replicas running on this database have collector.shards = "
                         f"{', '.join(map(str, theirs))}, this one {ours}: every replica needs the same")
        self.ours, self.theirs = ours, theirs


class ShardHost(Protocol):
    """What a replica asks of the running collector (:class:`collector.runtime.app.App`)."""

    def camera_ids(self) -> list[int]: ...
    def watch(self) -> None: ...  # the owned shards grew: probe their cameras (after their takeover)
    async def gap_written(self, camera_ids: set[int]) -> None: ...  # their takeover's unknown is stored (before watch)
    async def let_go(self, camera_ids: set[int], at: dt.datetime) -> None: ...  # stop, unknown from *at*, written
    def lose(self, camera_ids: set[int]) -> None: ...  # fencing: stop at once, write nothing


def default_replica_id(collector_id: str) -> str:
    return f"{collector_id}@{socket.gethostname()}:{os.getpid()}"[:64]


def pg_connect_args(url: str) -> tuple[str, dict[str, str]]:
    """The asyncpg DSN of a database URL and its server settings (``?search_path=`` as in
    :func:`inventory.db.create_engine`)."""
    u = make_url(url)
    settings = {"search_path": str(u.query["search_path"])} if u.query.get("search_path") else {}
    u = u.set(drivername="postgresql").difference_update_query(["search_path"])
    return u.render_as_string(hide_password=False), settings


class Replica:
    def __init__(self, engine: AsyncEngine, url: str, host: ShardHost, *, replica_id: str, collector_id: str,
                 shards: int, takeover_s: float, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine, self.url, self.host = engine, url, host
        self.replica_id, self.collector_id = replica_id, collector_id
        self.shards, self.takeover_s, self.clock = shards, takeover_s, clock
        # a tick: count, let go or lock; a dead replica's shards are locked within one, and its
        # cameras probed within the catch-up after: both well inside takeover_s
        self.period = min(max(takeover_s / 8, 0.2), 5.0)
        self.timeout = max(1.0, min(takeover_s / 2, 10.0))  # a coordination query slower than this: session lost
        self.idle_timeout_s = max(takeover_s - self.period - 1.0, 2 * self.period)  # (ticks come every period)
        self.owned: frozenset[int] = frozenset()
        self.kept: frozenset[int] = frozenset()  # the shards the last write batch's fence found held
        self.live = 0
        self.leader = False  # this replica holds the leader's lock (runs rollups, the month close and alerts)
        self.leader_id: str | None = None  # the replica that holds it, as last seen
        self.started_at = clock()
        self.conn: Any = None  # asyncpg.Connection while the session lasts
        self.pid = 0  # its backend's process id (pg_locks)
        self.last_error: str | None = None
        self._start = start_of(replica_id, shards)
        self._closing = False
        # set when a replica committed camera events (LISTEN on the coordination session): the
        # leader's alerting reads them at once (collector.alerting.leader.LeaderAlerts.wake)
        self.feed_wake = asyncio.Event()

    # -- the coordination session -------------------------------------------------------------
    async def connect(self) -> None:
        dsn, server_settings = pg_connect_args(self.url)
        # a replica that stops ticking (a hung or stopped process, a network cut) has its session ended
        # by the server, and the others take its shards within a tick: within takeover_s in all
        # (PostgreSQL >= 14, PG_NEEDED: checked before a replica starts, collector.cli.run_guard)
        server_settings["idle_session_timeout"] = str(int(self.idle_timeout_s * 1000))
        server_settings["application_name"] = pg_name(self.replica_id)  # (the leader is named from it)
        conn = await asyncpg.connect(dsn, server_settings=server_settings, timeout=self.timeout)
        try:
            if not await conn.fetchval(f"SELECT pg_try_advisory_lock_shared({GUARD_KEY})", timeout=self.timeout):
                raise AlreadyRunning("a camwatch run without collector.replicas holds this database")
            count = COUNT_LOW | (self.shards - 1)  # taken, then the others' looked for: of two at once, both see
            await conn.execute(f"SELECT pg_advisory_lock_shared({LOCK_KEY_SQL.format(low=str(count))})", timeout=self.timeout)
            held = await conn.fetch(SHARD_COUNTS_SQL, timeout=self.timeout)
            theirs = tuple(n for n in (int(r[0]) for r in held) if n != self.shards)
            if theirs:
                raise ShardCountMismatch(self.shards, theirs)
            pid = await conn.fetchval("SELECT pg_backend_pid()", timeout=self.timeout)
            # heartbeats of replicas gone for a day (a name carries the host and process id)
            await conn.execute("DELETE FROM collector_heartbeats WHERE collector_id LIKE $1 AND at < $2",
                               f"{self.collector_id}@%", self.clock() - dt.timedelta(days=1), timeout=self.timeout)
            channel = await conn.fetchval(f"SELECT {FEED_CHANNEL_SQL}", timeout=self.timeout)
            await conn.add_listener(channel, self._notified)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._terminated)
        self.conn, self.pid = conn, pid
        self.feed_wake.set()  # (what was committed while the session was away)
        log.info("replica %s: coordination session open (backend %s)", self.replica_id, pid)

    def _notified(self, *_args: object) -> None:
        self.feed_wake.set()

    def _terminated(self, _conn: object) -> None:
        if not self._closing:
            self._lost("the coordination session ended")

    def _lost(self, why: str) -> None:
        """Fencing: forget every shard at once (the fence then lets nothing through)."""
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
        lost, self.owned = self.owned, frozenset()
        self.leader, self.leader_id = False, None
        self.last_error = why
        if lost:
            self.host.lose(self._cameras(lost))
            log.error("replica %s lost its coordination session (%s): stopped probing and writing its %d shard(s)",
                      self.replica_id, why, len(lost))

    async def close(self) -> None:
        """At a stop, after the final write: the session ends and the locks go with it."""
        self._closing = True
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=self.timeout)

    # -- one tick ----------------------------------------------------------------------------
    def _cameras(self, shards: frozenset[int]) -> set[int]:
        return {cid for cid in self.host.camera_ids() if shard_of(cid, self.shards) in shards}

    async def tick(self) -> None:
        """Count the live replicas, try for the leader, then let go of shards above the share or lock more."""
        conn, t = self.conn, self.timeout
        self.live = max(1, await conn.fetchval(LIVE_SQL, timeout=t))
        if not self.leader:
            self.leader = bool(await conn.fetchval(f"SELECT pg_try_advisory_lock({LEADER_KEY})", timeout=t))
            if self.leader:
                log.info("replica %s is the leader (rollups, the month close, alerts and work orders)", self.replica_id)
        self.leader_id = self.replica_id if self.leader else (from_pg_name(await conn.fetchval(LEADER_SQL, timeout=t))
                                                              or None)
        p = plan(self.owned, self.shards, self.live, self._start)
        if p.release:
            gone = frozenset(p.release)
            await self.host.let_go(self._cameras(gone), self.clock())  # unknown from now, written under the fence
            self.owned -= gone
            await conn.execute(f"SELECT pg_advisory_unlock({KEY}) FROM unnest($1::int[]) AS s",
                               sorted(gone), SHARD_TAG, timeout=t)
            log.info("replica %s let go of %d shard(s) (%d live replicas): %d held", self.replica_id, len(gone),
                     self.live, len(self.owned))
        elif p.want:
            got = await self._lock(list(p.candidates), p.want)
            if got:
                try:
                    await self.takeover(got)
                except Exception as exc:  # noqa: BLE001 - e.g. a deadlock with a writer: try again next tick
                    log.warning("replica %s: takeover of %d shard(s) failed, let go: %s", self.replica_id, len(got),
                                str(exc).splitlines()[0][:200])
                    await conn.execute(f"SELECT pg_advisory_unlock({KEY}) FROM unnest($1::int[]) AS s",
                                       sorted(got), SHARD_TAG, timeout=t)
                    return
                if self.conn is not conn:  # the session was lost meanwhile: those locks went with it
                    return
                self.owned |= got
                await self.host.gap_written(self._cameras(got))
                self.host.watch()
                log.info("replica %s took %d shard(s) (%d live replicas): %d held", self.replica_id, len(got),
                         self.live, len(self.owned))

    async def _lock(self, candidates: list[int], want: int) -> frozenset[int]:
        """Lock up to *want* of the candidates (chunks of at least 32; extras unlocked at once)."""
        got: list[int] = []
        step = max(want, 32)
        for k in range(0, len(candidates), step):
            rows = await self.conn.fetch(f"SELECT s FROM unnest($1::int[]) AS s WHERE pg_try_advisory_lock({KEY})",
                                         candidates[k:k + step], SHARD_TAG, timeout=self.timeout)
            got.extend(r["s"] for r in rows)
            if len(got) >= want:
                break
        extra = got[want:]
        if extra:
            await self.conn.execute(f"SELECT pg_advisory_unlock({KEY}) FROM unnest($1::int[]) AS s", extra,
                                    SHARD_TAG, timeout=self.timeout)
        return frozenset(got[:want])

    async def takeover(self, shards: frozenset[int]) -> None:
        """The previous owners' time since their last heartbeat for these shards becomes unknown."""
        now = self.clock()
        ids = sorted(self._cameras(shards))
        names = {shard_row(sh): sh for sh in shards}
        hb = CollectorHeartbeat
        async with self.engine.begin() as conn:
            rows = await conn.execute(select(hb.collector_id, hb.at).where(hb.collector_id.in_(sorted(names)))
                                      .order_by(hb.collector_id).with_for_update())  # waits for a write in flight
            beats: dict[int, dt.datetime] = {names[name]: at for name, at in rows}
            fallback = None  # a shard never held: the lone collector's last heartbeat
            if len(beats) < len(shards):
                fallback = (await conn.execute(select(hb.at).where(hb.collector_id == self.collector_id))).scalar()
            opened: dict[int, tuple[str, dt.datetime]] = {}
            for k in range(0, len(ids), 500):
                opened.update({cid: (state, start) for cid, state, start in await conn.execute(
                    select(StateInterval.camera_id, StateInterval.state, StateInterval.start)
                    .where(StateInterval.camera_id.in_(ids[k:k + 500]), StateInterval.end.is_(None)))})
            events = []
            for cid, (state, _) in opened.items():
                cut = beats.get(shard_of(cid, self.shards), fallback)
                if state != "unknown" and cut is not None:
                    events.append(IntervalOpen(cid, "unknown", None, min(cut, now)))
            if events:
                closes, inserts = rows_for_batch(events, {cid: start for cid, (_, start) in opened.items()})
                late = {cid: at for cid, at in closes.items() if at <= midnight(now)}
                if late:
                    await invalidate_rollups(conn, late)
                await _close_open(conn, closes)
                await conn.execute(insert(StateInterval), inserts)
            if beats:
                await conn.execute(update(hb).where(hb.collector_id.in_([shard_row(sh) for sh in beats]))
                                   .values(at=now))
            new = sorted(shards - beats.keys())
            if new:
                await conn.execute(insert(hb), [{"collector_id": shard_row(sh), "started_at": now, "at": now}
                                                for sh in new])
        if events:
            log.info("replica %s took over %d shard(s): %d camera(s) unknown from their last owner's heartbeat",
                     self.replica_id, len(shards), len(events))

    async def fence(self, conn: AsyncConnection, events: list[IntervalOpen], beat: dt.datetime) -> list[IntervalOpen]:
        """In a write transaction: keep the changes of the shards this replica's session still
        holds, and heartbeat those shards (their rows locked first, in order)."""
        owned, hb = sorted(self.owned), CollectorHeartbeat
        kept: set[int] = set()
        if owned and self.conn is not None:
            await conn.execute(select(hb.collector_id).where(hb.collector_id.in_([shard_row(sh) for sh in owned]))
                               .order_by(hb.collector_id).with_for_update())
            held = await conn.execute(text(HELD_SQL), {"tag": SHARD_TAG, "pid": self.pid, "shards": owned})
            kept = {int(sh) for sh in held.scalars()}
            if kept:
                await conn.execute(update(hb).where(hb.collector_id.in_([shard_row(sh) for sh in sorted(kept)]))
                                   .values(at=beat))
        self.kept = frozenset(kept)  # (the leader's camera events of this batch are kept by the same rule)
        out = [ev for ev in events if shard_of(ev.camera_id, self.shards) in kept]
        if len(out) < len(events):
            log.warning("replica %s: %d state change(s) of shards it no longer holds not written",
                        self.replica_id, len(events) - len(out))
        return out

    # -- the task ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the session and take a first share (before probing starts)."""
        await self.connect()
        await self.tick()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                if self.conn is not None and self.conn.is_closed():
                    self._lost("the coordination session closed")
                if self.conn is None:
                    await self.connect()
                await self.tick()
                if self.conn is not None and not self.conn.is_closed():  # (not lost during the tick)
                    self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database or the network: fence, then try again
                if isinstance(exc, TimeoutError):  # (its message is empty: a hang, not a refusal)
                    why = f"no answer from PostgreSQL within {self.timeout:g} s (TimeoutError)"
                else:
                    why = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                if self.conn is not None or self.owned:
                    self._lost(why)
                elif why != self.last_error:
                    log.warning("replica %s cannot open its coordination session: %s", self.replica_id, why)
                self.last_error = why


async def while_leader(rep: Replica, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """*job* runs while *rep* is the leader: started when it becomes the leader, cancelled when it
    is not (and at the end)."""
    task: asyncio.Task[None] | None = None
    try:
        while True:
            if rep.leader and task is None:
                task = asyncio.create_task(job(), name=name)
            elif not rep.leader and task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                task = None
            await asyncio.sleep(rep.period)
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


__all__ = ["PG_NEEDED", "AlreadyRunning", "Replica", "ShardCountMismatch", "ShardHost", "default_replica_id", "pg_connect_args", "while_leader"]
