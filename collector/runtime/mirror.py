"""The collector's cameras while worker processes probe them (``collector.workers`` > 1).

:class:`MirrorScheduler` is a :class:`~collector.runtime.scheduler.Scheduler` that probes nothing
itself: it keeps a slot per camera, with the same read interface (``slots``, ``lateness``,
``probes_total``, ``last_sweep_s``) that the metrics, the web pages, the alerting and the
coverage read, updated from the workers' :class:`~collector.runtime.worker_wire.Report`. Their
events go through the same ``_emit`` as the scheduler's own (the one interval writer of this
process, then the event sink); the inventory still syncs here (retired cameras are retired
here, once) and is passed on to the workers. The GB/T 28181 feed applies its verdicts here
(cameras without a probe are never probed in a worker either).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from collector.runtime.camera_state import NOT_SEEN, State, Status
from collector.runtime.interval_writer import IntervalOpen
from collector.runtime.lateness import Histogram
from collector.runtime.scheduler import Scheduler
from collector.runtime.slots import CameraSlot
from collector.runtime.worker_wire import Report
from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.kept import KeptResult, Outline

if TYPE_CHECKING:
    from collector.runtime.workers import WorkerPool

log = logging.getLogger("camwatch.workers")
MAX_OUTLINES = 10_000


class _Figures:
    """A worker's cumulative counters (lateness, probes), as last reported."""

    __slots__ = ("counts", "last_sweep_s", "probes", "total")

    def __init__(self, n: int) -> None:
        self.counts: tuple[int, ...] = (0,) * n
        self.total = 0.0
        self.probes: dict[tuple[str, str], int] = {}
        self.last_sweep_s: float | None = None


class MirrorScheduler(Scheduler):
    pool: WorkerPool | None = None

    @classmethod
    def of(cls, sched: Scheduler) -> MirrorScheduler:
        """A mirror in the place of *sched* (same config, writer, clock, event sink and picture sink)."""
        m = cls(sched.config, sched.writer, ladder=sched.ladder, clock=sched.clock, on_event=sched.on_event,
                timebase=sched.timebase)
        m.on_frame = sched.on_frame
        m._init_figures()
        return m

    def _init_figures(self) -> None:
        self._figures: dict[int, _Figures] = {}
        self._gone = _Figures(len(self.lateness.counts))  # workers that died or were replaced
        self._outlines: dict[Outline, Outline] = {}

    # -- nothing is probed here --------------------------------------------------------------
    def _push(self, slot: CameraSlot, due: float, kind: str) -> None:
        return None

    def _new_slot(self, cam: MonitoredCamera, status: Status, now: float) -> CameraSlot:
        return CameraSlot(cam, status, 0.0)  # (no probe times: two float objects a camera fewer)

    def sync(self, cameras: list[MonitoredCamera], devices: list[MonitoredDevice], *,
             excluded: set[int] | None = None) -> None:
        super().sync(cameras, devices, excluded=excluded)
        if self.pool is not None:
            self.pool.assign(cameras, devices)

    def forget(self, camera_ids: set[int]) -> None:
        """Cameras this collector lost (a replica's shards): the workers drop them at once."""
        if self.pool is not None:
            self.pool.lose(camera_ids)

    async def run(self) -> None:
        """The worker processes: started, kept running (restarted), stopped when cancelled."""
        assert self.pool is not None
        await self.pool.run()

    # -- from the workers --------------------------------------------------------------------
    def _shared(self, last: KeptResult | None) -> KeptResult | None:
        """The same outline object for every camera with that outline (as :func:`probes.kept.kept`)."""
        if last is None:
            return None
        o = self._outlines.get(last.outline)
        if o is None:
            if len(self._outlines) >= MAX_OUTLINES:
                return last
            o = self._outlines[last.outline] = last.outline
        if o is last.outline:
            return last
        return KeptResult(last.state, last.cause, last.warnings, o, last.packed)

    def take(self, index: int, rep: Report) -> None:
        """Apply worker *index*'s report: the cameras' state, then their events (written and
        sent on, in order), pictures, counters. A camera no longer here (retired, or a shard let
        go) is ignored."""
        slots = self.slots
        for d in rep.deltas:
            slot = slots.get(d.camera_id)
            if slot is not None and slot.status.state is not State.EXCLUDED:
                # an unchanged status stays the same object (the metrics notice changes by identity)
                status = slot.status if d.status == slot.status else d.status
                last = slot.last if d.last is None else self._shared(d.last)  # (None: no new result)
                slot.status, slot.last, slot.video_ok = status, last, d.video_ok
                slot.video_last = None if d.video_last is None else self._shared(d.video_last)
        for cid, ev in rep.events:
            slot = slots.get(cid)
            if slot is not None and slot.status.state is not State.EXCLUDED:
                self._emit(slot, slot.status, [ev])
        if self.on_frame is not None:
            for cid, jpeg in rep.frames:
                if cid in slots:
                    self.on_frame(cid, jpeg)
        f = self._figures.get(index)
        if f is None:
            f = self._figures[index] = _Figures(len(rep.lateness))
        f.counts, f.total, f.probes, f.last_sweep_s = rep.lateness, rep.lateness_total, dict(rep.probes_total), rep.last_sweep_s
        self._combine()

    def _combine(self) -> None:
        """The read interface's counters: every worker's, plus those of workers gone (counters never go down)."""
        parts = [self._gone, *self._figures.values()]
        counts = [sum(col) for col in zip(*(p.counts for p in parts), strict=True)]
        self.lateness = Histogram(counts=counts, total=sum(p.total for p in parts), n=sum(counts))
        probes: dict[tuple[str, str], int] = {}
        for p in parts:
            for k, n in p.probes.items():
                probes[k] = probes.get(k, 0) + n
        self.probes_total = probes
        sweeps = [p.last_sweep_s for p in self._figures.values() if p.last_sweep_s is not None]
        self.last_sweep_s = max(sweeps) if sweeps else None

    def orphan(self, index: int, camera_ids: list[int], at: dt.datetime) -> int:
        """Worker *index* died: its cameras are unknown from *at* (its last report) until the
        restarted worker probes them, as after a restart of the collector (no alert: an incident
        stays open until they are seen again). Returns how many changed."""
        gone = self._figures.pop(index, None)
        if gone is not None:
            g = self._gone
            g.counts = tuple(a + b for a, b in zip(g.counts, gone.counts, strict=True))
            g.total += gone.total
            for k, n in gone.probes.items():
                g.probes[k] = g.probes.get(k, 0) + n
            self._combine()
        n = 0
        for cid in camera_ids:
            slot = self.slots.get(cid)
            if slot is None or slot.status.state in (State.UNKNOWN, State.EXCLUDED):
                continue
            slot.status, slot.seen = Status(State.UNKNOWN, None, at), NOT_SEEN
            if self.writer is not None:
                self.writer.submit(IntervalOpen(cid, "unknown", None, at))
            n += 1
        return n


__all__ = ["MirrorScheduler"]
