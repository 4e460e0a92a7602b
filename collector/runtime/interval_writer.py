"""Persistence of state intervals: one writer task, batched transactions, a heartbeat.

Storage keeps *state intervals* (camera, state, cause, start, end), not probes: a transition
closes the camera's open interval and opens a new one. Writes are batched (a transition is
durable within ``flush_interval_s``); every batch commits together with the collector's
heartbeat, so after a kill -9 every stored interval starts at or before the last heartbeat and
restart closes the open ones there: the time the collector was down becomes *unknown*.
When the database is unavailable, changes are appended to a local journal
(:mod:`collector.runtime.journal`: on disk, fsync'd once per flush interval, bounded by the disk)
and replayed in order when it returns, so no transition is ever dropped and intervals stay
contiguous; one left by a crash is replayed at the next start, before the restart's unknown gap
is written. Without a journal (or when the disk fails too) they wait in memory, bounded.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounting.sql.rollups import invalidate as invalidate_rollups
from collector.accounting.sql.rollups import midnight
from collector.runtime.aio import wait_event, within
from collector.runtime.interval_rows import aware as _aware
from collector.runtime.interval_rows import open_starts, rows_for_batch
from collector.runtime.journal import IntervalOpen, Journal
from inventory.models import CollectorHeartbeat, StateInterval, utcnow

log = logging.getLogger("camwatch.store")
# Replicas (collector/runtime/replicas.py): inside the writing transaction, keep the changes of the
# shards this replica still owns (checked and heartbeat in the database, so a shard taken over never
# gets a second writer); called with the batch's heartbeat.
Fence = Callable[[AsyncConnection, list[IntervalOpen], dt.datetime], Awaitable[list[IntervalOpen]]]


@dataclass(frozen=True, slots=True)
class WriterStats:
    pending: int
    written: int
    dropped: int
    failures: int
    journaled: int  # of pending: waiting in the journal on disk
    last_error: str | None
    last_flush: dt.datetime | None


async def _close_open(conn: AsyncConnection, closes: dict[int, dt.datetime]) -> None:
    """End each camera's open interval at its time (one UPDATE, executed for every camera)."""
    # Never end an interval before it started (a clock step back): clamp to its start.
    at = bindparam("at", type_=StateInterval.__table__.c.start.type)
    stmt = (
        update(StateInterval)
        .where(and_(StateInterval.camera_id == bindparam("cid"), StateInterval.end.is_(None)))
        .values(end=case((StateInterval.start > at, StateInterval.start), else_=at))
    )
    await conn.execute(stmt.execution_options(synchronize_session=False),
                       [{"cid": cid, "at": end} for cid, end in closes.items()])


async def _heartbeat(conn: AsyncConnection, collector_id: str, started_at: dt.datetime, now: dt.datetime) -> None:
    res = await conn.execute(
        update(CollectorHeartbeat).where(CollectorHeartbeat.collector_id == collector_id).values(at=now)
    )
    if res.rowcount == 0:
        await conn.execute(insert(CollectorHeartbeat).values(collector_id=collector_id, started_at=started_at, at=now))


async def write_batch(engine: AsyncEngine, events: list[IntervalOpen], *, collector_id: str,
                      started_at: dt.datetime, now: dt.datetime, beat: dt.datetime | None = None,
                      fence: Fence | None = None) -> None:
    """*beat*: the heartbeat to write (default *now*; a journal replayed after a crash writes the
    last instant the old process is known to have run). *fence*: see :data:`Fence`."""
    async with engine.begin() as conn:
        if fence is not None:
            events = await fence(conn, events, now if beat is None else beat)
        stored = await open_starts(conn, sorted({ev.camera_id for ev in events})) if events else {}
        closes, inserts = rows_for_batch(events, stored)
        # Rollup rows exist only for past midnights: a change before the last one is a late write
        # (the database was away, or a transition crossed midnight) and deletes the rows after it.
        last_midnight = midnight(now)
        late = {cid: at for cid, at in closes.items() if at <= last_midnight}
        if late:
            await invalidate_rollups(conn, late)
        if closes:
            await _close_open(conn, closes)
            await conn.execute(insert(StateInterval), inserts)
        await _heartbeat(conn, collector_id, started_at, now if beat is None else beat)


async def last_heartbeat(engine: AsyncEngine, collector_id: str) -> dt.datetime | None:
    async with engine.connect() as conn:
        return (await conn.execute(
            select(CollectorHeartbeat.at).where(CollectorHeartbeat.collector_id == collector_id)
        )).scalar_one_or_none()


async def recover(engine: AsyncEngine, collector_id: str, camera_ids: Iterable[int], now: dt.datetime) -> dt.datetime | None:
    """After a stop or crash: close the cameras' open intervals at the last heartbeat and open
    *unknown* intervals there, so the time the collector was away is neither online nor offline.

    Returns the heartbeat used (None on a first start: then nothing is open to close).
    """
    hb = await last_heartbeat(engine, collector_id)
    ids = list(camera_ids)
    async with engine.begin() as conn:
        open_now: dict[int, str] = {cid: state for cid, state in (await conn.execute(
            select(StateInterval.camera_id, StateInterval.state).where(StateInterval.end.is_(None))))}
        # an unknown interval left open by a clean stop goes on (the gap began at that stop)
        mine = [cid for cid in ids if open_now.get(cid, "unknown") != "unknown"]
        if hb is not None and mine:
            cut = min(hb, now)
            await invalidate_rollups(conn, everything_from=cut)
            # an interval opened after that heartbeat (by replicas since, or a clock step) is cut at its own start
            closes, inserts = rows_for_batch([IntervalOpen(cid, "unknown", None, cut) for cid in mine],
                                             await open_starts(conn, mine))
            await _close_open(conn, closes)
            await conn.execute(insert(StateInterval), inserts)
        await _heartbeat(conn, collector_id, now, now)
    if hb is not None:
        gap = max(0.0, (now - min(hb, now)).total_seconds())
        log.info("unknown gap written: %d camera(s) unknown from the last heartbeat %s, %.0f s before this start"
                 " (%d other(s) already unknown since a clean stop, or new)", len(mine), min(hb, now).isoformat(timespec="seconds"),
                 gap, len(ids) - len(mine))
    return hb


class IntervalWriter:
    """The one writer task. ``submit`` never blocks, fails or drops a change: while the database
    is away changes go to the journal (when given a *journal* path) and are replayed in order;
    ``run`` flushes in batches."""

    def __init__(self, engine: AsyncEngine, *, collector_id: str = "default", flush_interval_s: float = 1.0,
                 max_batch: int = 10_000, max_pending: int = 100_000, heartbeat_s: float = 5.0,
                 clock: Callable[[], dt.datetime] = utcnow, journal: Path | None = None) -> None:
        """*max_pending*: changes held in memory before they go to the journal (without a
        journal, or when its disk fails: the oldest are dropped beyond it, logged)."""
        self.engine = engine
        self.collector_id = collector_id
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.started_at = clock()
        self.journal = None if journal is None else Journal(journal)
        self._queue: collections.deque[IntervalOpen] = collections.deque()
        self._wake = asyncio.Event()
        self._written = 0
        self._dropped = 0
        self._failures = 0
        self._last_error: str | None = None
        self._journal_error: str | None = None
        self._last_flush: dt.datetime | None = None
        self._last_beat = 0.0
        self._final_beat: dt.datetime | None = None
        # a batch being written when the run task was cancelled: close() waits for it, so it is not lost
        self._inflight: _Inflight | None = None
        self._void: set[int] = set()  # cameras discarded while a batch was being written (not put back if it fails)
        self.fence: Fence | None = None  # set by a replica (collector.replicas): writes only for shards it owns

    def stop_at(self, camera_ids: Iterable[int], at: dt.datetime) -> None:
        """A clean stop at *at*: the cameras' open intervals end there and *unknown* ones begin
        (nobody watches them until the next start); the last heartbeat is *at*. Written by the
        final flush (:meth:`close`)."""
        for cid in camera_ids:
            self.submit(IntervalOpen(cid, "unknown", None, at))
        self._final_beat = at
        self._last_beat = float("-inf")  # the final flush writes the heartbeat, even with nothing else

    def _spill(self, events: tuple[IntervalOpen, ...]) -> bool:
        """Append the memory queue, then *events*, to the journal (the order kept). False when
        there is no journal or its disk fails (then the caller keeps them in memory)."""
        j = self.journal
        if j is None:
            return False
        try:
            if self._queue:
                j.append(self._queue)
                self._queue.clear()
            j.append(events)
        except OSError as exc:
            msg = f"{type(exc).__name__}: {exc}"
            if msg != self._journal_error:
                log.error("cannot write the journal %s (%s): state changes wait in memory", j.path, msg)
            self._journal_error = msg
            return False
        self._journal_error = None
        return True

    def submit(self, event: IntervalOpen) -> None:
        j = self.journal
        # Once changes wait in the journal every new one follows them there, until it is replayed.
        if ((j is not None and j.pending) or len(self._queue) >= self.max_pending) and self._spill((event,)):
            return
        if len(self._queue) >= self.max_pending:
            self._queue.popleft()
            self._dropped += 1
            if self._dropped in (1, 10, 100, 1000) or self._dropped % 10000 == 0:
                log.error("database write queue full (%d) and no journal: dropped %d oldest interval(s)",
                          self.max_pending, self._dropped)
        self._queue.append(event)
        if len(self._queue) >= self.max_batch:
            self._wake.set()

    def discard(self, camera_ids: set[int]) -> int:
        """Never write the changes of these cameras that wait now (in memory), nor those of the batch
        being written if it fails: a replica that lost their shards. Fenced, they could not be written
        now, and once it held the shards again they would be written under a later tenure, over what
        another replica wrote meanwhile. (A replica keeps no journal.) Returns how many were dropped."""
        if not camera_ids:
            return 0
        before = len(self._queue)
        self._queue = collections.deque(ev for ev in self._queue if ev.camera_id not in camera_ids)
        if self._inflight is not None:
            self._void |= camera_ids
        return before - len(self._queue)

    def _put_back(self, batch: list[IntervalOpen]) -> None:
        """A batch that failed goes back in front of the queue, but for the cameras discarded meanwhile."""
        void, self._void = self._void, set()
        self._queue.extendleft(reversed([ev for ev in batch if ev.camera_id not in void] if void else batch))

    @property
    def pending(self) -> int:
        return len(self._queue) + (self.journal.pending if self.journal is not None else 0)

    def stats(self) -> WriterStats:
        journaled = self.journal.pending if self.journal is not None else 0
        return WriterStats(self.pending, self._written, self._dropped, self._failures, journaled,
                           self._last_error, self._last_flush)

    async def sync_journal(self) -> None:
        """Make what the journal holds durable (fsync), at most once per flush interval."""
        if self.journal is not None:
            try:
                await self.journal.sync()
            except OSError as exc:
                log.error("cannot sync the journal %s: %s", self.journal.path, exc)

    async def replay(self) -> int:
        """At start, before :func:`recover`: write what a previous run left in the journal, with
        the heartbeat at its last change (the old process ran at least until then), so the
        restart's unknown gap starts no earlier than the last change it saw. Returns the count."""
        j = self.journal
        if j is None or not j.pending:
            return 0
        beat = await last_heartbeat(self.engine, self.collector_id)
        done = 0
        while j.pending:
            batch, offset, lines = j.read(self.max_batch)
            if batch:
                last = max(ev.start for ev in batch)
                beat = last if beat is None else max(beat, last)
                # a batch may have been committed just before the crash: drop what is stored already
                batch = await _not_stored(self.engine, batch)
                await write_batch(self.engine, batch, collector_id=self.collector_id, started_at=self.started_at,
                                  now=self.clock(), beat=beat, fence=self.fence)
            j.commit(offset, lines)
            done += len(batch)
            if not lines:
                break
        log.info("journal replayed: %d state change(s) written", done)
        return done

    async def flush(self) -> bool:
        """Write what is queued and journaled, in order (in batches). False when the database refused."""
        beat = self._final_beat
        loop = asyncio.get_running_loop()
        j = self.journal
        while True:
            now = self.clock()
            due_beat = loop.time() - self._last_beat >= self.heartbeat_s
            from_journal = j is not None and j.pending > 0  # (then the memory queue is newer, or empty)
            if not from_journal and not self._queue and not due_beat:
                return True
            offset = lines = 0
            if j is not None and from_journal:
                await self.sync_journal()
                batch, offset, lines = j.read(self.max_batch)
            else:
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            write = asyncio.ensure_future(write_batch(self.engine, batch, collector_id=self.collector_id,
                                                      started_at=self.started_at, now=now, beat=beat,
                                                      fence=self.fence))
            self._inflight = _Inflight(write, batch, from_journal, offset, lines)
            try:
                # shielded: a cancelled run (stop) must not abandon a batch half-way; close() settles it
                await asyncio.shield(write)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any database failure: keep the batch, retry later
                self._inflight = None
                if not from_journal:
                    self._put_back(batch)
                    self._spill(())  # the database is away: what waits goes to disk
                    await self.sync_journal()
                self._failures += 1
                msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                if msg != self._last_error:
                    log.warning("database write failed, %d interval(s) pending (%d in the journal): %s",
                                self.pending, self.stats().journaled, msg)
                self._last_error = msg
                return False
            self._inflight, self._void = None, set()
            if j is not None and from_journal:
                j.commit(offset, lines)
            if self._last_error is not None:
                log.info("database writes resumed (%d interval(s) still pending)", self.pending)
            self._last_error = None
            self._written += len(batch)
            self._last_flush = now
            self._last_beat = loop.time()
            if not self._queue and (j is None or not j.pending):
                return True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.flush_interval_s
        retry_at = 0.0
        try:
            while True:
                await wait_event(self._wake, self.flush_interval_s)
                self._wake.clear()
                await self.sync_journal()  # journaled changes are durable within a flush interval
                if loop.time() < retry_at:
                    continue
                ok = await self.flush()
                backoff = self.flush_interval_s if ok else min(max(backoff * 2, 1.0), 30.0)
                retry_at = 0.0 if ok else loop.time() + backoff
        except asyncio.CancelledError:
            await self.close()
            raise

    async def close(self, timeout_s: float = 10.0) -> None:
        """Final flush (SIGTERM): best effort within ``timeout_s``; what remains stays in the journal."""
        await self._settle_inflight(timeout_s)
        try:
            await within(asyncio.shield(self.flush()), timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            self._spill(())
            log.error("could not flush %d interval(s) before exit", self.pending)
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError as exc:
                log.error("cannot close the journal %s: %s", self.journal.path, exc)
            if self.journal.pending:
                log.warning("%d state change(s) wait in the journal %s: written at the next start",
                            self.journal.pending, self.journal.path)


    async def _settle_inflight(self, timeout_s: float) -> None:
        """Wait for the batch a cancelled flush left being written; if it failed (or is still not
        done), put it back in front of the queue (a journal batch is simply read again later)."""
        inf, self._inflight = self._inflight, None
        if inf is None:
            return
        try:
            await within(asyncio.shield(inf.write), timeout_s)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - failed or not done: keep its changes
            if not inf.from_journal:
                self._put_back(inf.batch)
            return
        self._written += len(inf.batch)
        if inf.from_journal and self.journal is not None:
            self.journal.commit(inf.offset, inf.lines)


@dataclass(frozen=True, slots=True)
class _Inflight:
    write: asyncio.Future[None]
    batch: list[IntervalOpen]
    from_journal: bool
    offset: int
    lines: int


async def _not_stored(engine: AsyncEngine, batch: list[IntervalOpen]) -> list[IntervalOpen]:
    """The changes of *batch* newer than the last interval stored for their camera."""
    ids = sorted({ev.camera_id for ev in batch})
    latest: dict[int, dt.datetime] = {}
    async with engine.connect() as conn:
        for k in range(0, len(ids), 500):
            rows = await conn.execute(
                select(StateInterval.camera_id, func.max(StateInterval.start))
                .where(StateInterval.camera_id.in_(ids[k:k + 500])).group_by(StateInterval.camera_id))
            latest.update({cid: at for cid, at in rows if at is not None})
    return [ev for ev in batch if ev.camera_id not in latest or _aware(ev.start) > _aware(latest[ev.camera_id])]


__all__ = ["Fence", "IntervalOpen", "IntervalWriter", "WriterStats", "last_heartbeat", "recover", "write_batch"]
