"""The running collector as a replica's :class:`~collector.runtime.replicas.ShardHost`: the
cameras of the shards it holds are watched, let go of (unknown from then, written first) or lost
(fenced: nothing more of them is written, not even what waited to be)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from collector.runtime.camera_state import State
from collector.runtime.journal import IntervalOpen
from collector.runtime.mirror import MirrorScheduler
from collector.runtime.shards import shard_of
from collector.runtime.since_bridge import SinceBridge, down_before_gap

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from collector.runtime.event_feed import EventFeed
    from collector.runtime.frames import FrameStore
    from collector.runtime.interval_writer import IntervalWriter
    from collector.runtime.replicas import Replica
    from collector.runtime.scheduler import Scheduler
    from collector.settings import Settings
    from inventory.monitored import MonitoredCamera, MonitoredDevice

log = logging.getLogger("camwatch.app")
LET_GO_WAIT_S = 10.0


class ShardCameras:
    """Mixed into :class:`collector.runtime.app.App` (which holds these attributes)."""

    settings: Settings
    scheduler: Scheduler
    writer: IntervalWriter
    feed: EventFeed | None
    frames: FrameStore | None
    replica: Replica | None
    engine: AsyncEngine
    since_bridge: SinceBridge
    _inventory: tuple[list[MonitoredCamera], list[MonitoredDevice], set[int]]

    def _sync(self) -> None:
        """The scheduler takes the inventory's cameras of the owned shards (all of them alone)."""
        cams, devices, excluded = self._inventory
        if self.replica is not None:
            owned, n = self.replica.owned, self.settings.collector.shards
            cams = [cam for cam in cams if shard_of(cam.id, n) in owned]
        before = set(self.scheduler.slots)
        self.scheduler.sync(cams, devices, excluded=excluded)
        if self.frames is not None:  # a retired camera's picture goes (not one of a shard let go)
            self.frames.retire(before - {cam.id for cam in self._inventory[0]})

    def camera_ids(self) -> list[int]:
        return [cam.id for cam in self._inventory[0]]

    def watch(self) -> None:
        self._sync()

    async def gap_written(self, camera_ids: set[int] | None) -> None:
        """The unknown gap of these cameras (None: all) is stored: those down before it are shown
        down since then once their first probes see them so again (:mod:`collector.runtime.since_bridge`).
        Only what the console shows: a failure here is logged and changes nothing else."""
        try:
            before = await down_before_gap(self.engine, camera_ids)
        except Exception as exc:  # noqa: BLE001 - the database away: "since" then starts at the first probe
            log.warning("cannot read the cameras' states before the gap: %s", str(exc).splitlines()[0][:200])
            return
        self.since_bridge.add(before, camera_ids or ())
        if before:
            log.info("%d camera(s) down before the gap in the watch: shown down since then once seen so again",
                     len(before))

    def _stop_probing(self, camera_ids: set[int]) -> None:
        for slot in [self.scheduler.slots.pop(cid) for cid in camera_ids if cid in self.scheduler.slots]:
            slot.seq += 1  # its queued probes are void; one in flight is ignored
        if isinstance(self.scheduler, MirrorScheduler):  # probed in worker processes: they drop them too
            self.scheduler.forget(camera_ids)

    def lose(self, camera_ids: set[int]) -> None:
        """The coordination session is gone (fenced): stop at once, and drop their changes and events
        not written yet (the next owner writes unknown from the shard's last heartbeat)."""
        self._stop_probing(camera_ids)
        self._discard(camera_ids)

    def _discard(self, camera_ids: set[int]) -> None:
        n = self.writer.discard(camera_ids) + (self.feed.discard(camera_ids) if self.feed is not None else 0)
        if n:
            log.warning("%d state change(s) and camera event(s) of shards no longer held dropped unwritten", n)

    async def let_go(self, camera_ids: set[int], at: dt.datetime) -> None:
        """Stop probing them; unknown from *at*, written (waited for, bounded) before the shards go;
        what is still not written then never is."""
        watched = [cid for cid in camera_ids if cid in self.scheduler.slots
                   and self.scheduler.slots[cid].status.state is not State.UNKNOWN]
        self._stop_probing(camera_ids)
        for cid in watched:
            self.writer.submit(IntervalOpen(cid, "unknown", None, at))
        loop = asyncio.get_running_loop()
        until = loop.time() + LET_GO_WAIT_S
        while loop.time() < until:
            st = self.writer.stats()
            if st.pending == 0 and st.last_flush is not None and st.last_flush >= at:
                return
            await asyncio.sleep(0.05)
        log.warning("%d camera(s) let go before their unknown interval was written (the next owner starts "
                    "it at this replica's last heartbeat)", len(watched))
        self._discard(camera_ids)
