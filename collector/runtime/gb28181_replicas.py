"""GB/T 28181 with collector replicas (DESIGN §8, §11): one SIP platform, on the leader; each
camera stepped by the replica owning its shard.

- **The leader** (:func:`lead_platform`) runs the access platform (its registrations read back
  from the database at once, as after a restart) and writes every GB28181-only camera's verdict
  to ``gb28181_verdicts`` (:class:`~collector.runtime.gb28181_relay.VerdictRelay`, every
  :data:`FLUSH_S`). When it stops leading, the platform closes and its SIP port with it; the next
  leader opens the same port (retried while the old one still holds it on the same host).
- **Every replica** (:class:`VerdictFollower`) follows the table with a cursor and steps the
  cameras of its shards: the same state machine, intervals and alerts as a lone collector's
  platform. A camera newly in its shards gets its latest verdict at once, dated when the camera
  came here if it was decided before (its interval is ``unknown`` from the takeover to then). A
  GB28181-only camera with no verdict ``grace_s`` after it came here is ``not_registered``.

Devices register to one address: the leader's. Give them an address that follows the leader
(README "GB/T 28181 with replicas": replicas on one host with host networking, a floating
address, a DNS name moved to the leader's host, or on Kubernetes a Service whose EndpointSlice
the leader writes, :mod:`collector.runtime.k8s_slice`). The other replicas do not listen on the
SIP port and forward nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.gb28181.config import Gb28181Settings
from collector.runtime.gb28181_feed import Gb28181Feed, Signalled, grace_of
from collector.runtime.gb28181_relay import PAGE, RelayedVerdict, VerdictRelay, read_for, read_since
from collector.runtime.k8s_slice import LeaderSlice
from collector.runtime.scheduler import Scheduler
from inventory.access import Access
from inventory.models import utcnow

log = logging.getLogger("camwatch.gb28181")
FLUSH_S = 0.5  # the leader writes its verdicts this often
RETRY_S = 2.0  # the SIP port still held (the previous leader on this host): tried again this often
RESCAN_TICKS = 5  # the follower looks for cameras new in its shards at least every this many ticks


class VerdictFollower:
    """One replica's side: the relayed verdicts of its own GB28181-only cameras into their state."""

    def __init__(self, engine: AsyncEngine, signalled: Signalled, *, tick_s: float = 1.0,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.signalled = signalled
        self.tick_s = tick_s
        self.clock = clock
        self.cursor = 0
        self.applied = 0
        self._here: dict[int, dt.datetime] = {}  # its GB28181-only camera -> when it came to this replica
        self._ticks = 0
        self._size = -1
        self._started = False

    def _scan(self) -> list[int]:
        """Note the GB28181-only cameras new in the slots (and forget those gone); returns the new ones."""
        slots = self.signalled.scheduler.slots
        now = self.clock()
        new = [cid for cid, s in slots.items() if s.cam.access is Access.GB28181 and cid not in self._here]
        for cid in new:
            self._here[cid] = now
        for cid in [c for c in self._here if c not in slots]:
            del self._here[cid]
        self._size = len(slots)
        return new

    def _apply(self, v: RelayedVerdict) -> None:
        came = self._here.get(v.camera_id)
        if came is None:
            return  # another replica's camera
        at, last_seen = v.at, v.last_seen
        if at < came:  # decided before the camera came here: its state from now
            at, last_seen = self.clock(), None
        if self.signalled.apply(v.camera_id, v.verdict, at, last_seen):
            self.applied += 1

    async def step(self) -> None:
        """One tick: cameras new here get their latest verdicts, then every verdict written since."""
        self._ticks += 1
        first, self._started = not self._started, True
        new: list[int] = []
        if first or self._ticks % RESCAN_TICKS == 0 or len(self.signalled.scheduler.slots) != self._size:
            new = self._scan()
        if new and not first:  # (the first read takes every row)
            for v in await read_for(self.engine, new):
                self._apply(v)
        while True:
            rows = await read_since(self.engine, self.cursor)
            for v in rows:
                self.cursor = max(self.cursor, v.seq)
                self._apply(v)
            if len(rows) < PAGE:
                break
        self.signalled.check_never_heard(time.monotonic())

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception as exc:  # noqa: BLE001 - the database may be away: the next tick reads on
                log.warning("gb28181: relayed verdicts not read (%s)", str(exc).splitlines()[0][:200])
            await asyncio.sleep(self.tick_s)


def follower(engine: AsyncEngine, settings: Gb28181Settings, scheduler: Scheduler,
             clock: Callable[[], dt.datetime]) -> VerdictFollower:
    """A replica's follower of its *scheduler*'s cameras (the platform's never-heard grace)."""
    return VerdictFollower(engine, Signalled(scheduler, grace_of(settings), clock), clock=clock)


async def lead_platform(make_feed: Callable[[VerdictRelay], Gb28181Feed], relay: VerdictRelay,
                        on_feed: Callable[[Gb28181Feed | None], None], leading: Callable[[], bool],
                        announce: LeaderSlice | None = None) -> None:
    """The leader's job: the platform runs (*on_feed* told of it, for the API) and its verdicts
    are written, until cancelled (leadership lost, or the stop); then the platform closes. What
    it has not written when it stops leading is dropped, never written late over a newer
    leader's verdicts (that leader's platform decides them again from the registrations).
    *announce* (on Kubernetes): the Service's EndpointSlice made to name this pod while the
    platform listens, emptied after unless a newer leader has claimed it."""
    relay.queue.clear()  # (left from an earlier term)
    feed: Gb28181Feed | None = None
    keeping: asyncio.Task[None] | None = None
    try:
        while feed is None:
            candidate = make_feed(relay)
            try:
                await candidate.start()
            except OSError as exc:
                log.warning("gb28181: the SIP platform cannot listen yet (%s); trying again in %g s", exc, RETRY_S)
                await candidate.close()
                await asyncio.sleep(RETRY_S)
            else:
                feed = candidate
        on_feed(feed)
        if announce is not None:
            ports = {t: port for t, (_, port) in feed.platform.addresses.items()}
            keeping = asyncio.create_task(announce.keep(ports), name="gb28181-endpointslice")
        log.info("gb28181: this replica hosts the SIP platform (it leads); verdicts relayed to the shards' owners")
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await relay.flush()
            except Exception as exc:  # noqa: BLE001 - kept, written at the next try
                log.warning("gb28181: verdicts not written (%s); kept for the next try", str(exc).splitlines()[0][:200])
    finally:
        on_feed(None)
        if keeping is not None:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping
        if announce is not None and feed is not None:
            with contextlib.suppress(Exception):  # (bounded: one read and one write, TIMEOUT_S each)
                await announce.release()
        if feed is not None:
            await feed.close()
            if leading():  # (the stop of the leader: its last verdicts)
                with contextlib.suppress(Exception):
                    await relay.flush()
        relay.queue.clear()


__all__ = ["FLUSH_S", "VerdictFollower", "follower", "lead_platform"]
