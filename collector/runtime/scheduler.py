"""The fast and video tiers: every camera probed on a stable phase, state kept, transitions stored.

Each camera's fast-tier probe is planned at ``phase + k * interval`` (the phase a stable hash of
its id: a county's cameras spread evenly over the interval, their slots kept across restarts).
Failures are confirmed by quick re-probes, offline cameras are re-probed more often; the video
tier (frame + VQD) runs on its own slower schedule in a small pool, and at once when a camera
comes back (its picture to ``on_frame``). An excluded camera is still probed (shown as excluded,
its real state stored); one that leaves the inventory is dropped (excluded), not probed again.
Time is read from a :class:`~collector.runtime.timebase.Timebase` (the running loop unless one is
injected), bound once per ``sync``/``run``: the hot path calls ``self._now()``, ``self._call_at``.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import heapq
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING

from collector.runtime.aio import within
from collector.runtime.camera_state import (
    Changed,
    Event,
    Outcome,
    Policy,
    State,
    Status,
    next_delay,
    remember,
    set_retired,
    step,
    video_delay,
    wants_video,
)
from collector.runtime.journal import IntervalOpen
from collector.runtime.ladders import clock_failed, reach_only, video_ladder
from collector.runtime.lateness import Histogram, quantile_bound
from collector.runtime.scheduler_config import SchedulerConfig, catchup_step
from collector.runtime.slots import CameraSlot, DeviceSlot, phase_of
from collector.runtime.timebase import Cancellable, Timebase, unbound_call_at, unbound_time
from collector.runtime.video_verdict import video_verdict
from inventory.clock import utcnow
from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.base import Cause, ProbeTarget
from probes.kept import kept
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.reach import ReachOptions
from probes.reach import probe as reach

if TYPE_CHECKING:  # (the writer brings SQLAlchemy: not imported in a probe worker)
    from collector.runtime.interval_writer import IntervalWriter

log = logging.getLogger("camwatch.scheduler")

LadderFn = Callable[[ProbeTarget, LadderOptions], Awaitable[LadderResult]]
EventSink = Callable[[MonitoredCamera, Event], None]
REACH_CAUSES = frozenset({Cause.UNREACHABLE, Cause.TIMEOUT})
VIDEO = -1  # heap token of a video-tier entry


class Scheduler:
    on_frame: Callable[[int, bytes], None] | None = None  # (camera id, JPEG) of each video-tier picture
    def __init__(self, config: SchedulerConfig, writer: IntervalWriter | None, *,
                 ladder: LadderOptions | None = None, ladder_fn: LadderFn = run_ladder,
                 clock: Callable[[], dt.datetime] = utcnow, on_event: EventSink | None = None,
                 timebase: Timebase | None = None) -> None:
        """*clock* dates outcomes and intervals (wall time); *timebase* plans and times probes
        (monotonic: the running loop's unless given, e.g. a virtual clock in tests)."""
        self.config = config
        self.policy = config.policy
        self.writer = writer
        self.ladder = ladder or LadderOptions()
        self.video_ladder = video_ladder(self.ladder)
        self.ladder_fn = ladder_fn
        self.clock = clock
        self.on_event = on_event
        self.timebase = timebase
        # Bound by _bind() (sync, run) to the timebase's own methods: no lookups per probe.
        self._now: Callable[[], float] = unbound_time
        self._call_at: Callable[..., Cancellable] = unbound_call_at
        self.slots: dict[int, CameraSlot] = {}
        self.devices: dict[int, DeviceSlot] = {}
        # (due, camera id, token): token is the fast-tier seq, or VIDEO (valid while due is video_due)
        self._heap: list[tuple[float, int, int]] = []
        self._waiter: asyncio.Future[None] | None = None
        self._fast_busy = 0  # fast-tier probes started and not finished (<= config.concurrency)
        self._video_busy = 0
        self._video_push_back: list[CameraSlot] = []
        self._sleep_until = 0.0
        self._dev_sems: dict[int, asyncio.Semaphore] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.lateness = Histogram()
        self.probes_total: dict[tuple[str, str], int] = {}
        self.last_sweep_s: float | None = None
        self.unprobed = 0  # slots of GB28181-only cameras (no probe: not counted in a sweep)
        self._sweep_counts = list(self.lateness.counts)  # the lateness at the last sweep summary
        # per sweep (interval-long epoch of planned times): [probes done, epoch start]
        self._sweeps: dict[int, list[float]] = {}

    def _bind(self) -> None:  # time from the injected timebase, else from the running loop (bound once here)
        tb: Timebase = self.timebase or asyncio.get_running_loop()
        self._now, self._call_at = tb.time, tb.call_at

    # -- inventory ---------------------------------------------------------------------------
    def sync(self, cameras: list[MonitoredCamera], devices: list[MonitoredDevice], *,
             excluded: set[int] | None = None) -> None:
        """Take the current inventory: add new cameras, drop retired ones, update changed ones.

        *excluded*: the cameras under an exclusion now; shown as excluded and still probed (their real
        state is stored). A camera no longer listed is retired: excluded, and no longer probed."""
        self._bind()
        now = self._now()
        wall = self.clock()
        seen = set()
        new = sum(1 for cam in cameras if cam.id not in self.slots)
        catchup = catchup_step(self.config, new)
        k = 0
        for cam in cameras:
            seen.add(cam.id)
            slot = self.slots.get(cam.id)
            if slot is None:
                slot = self.slots[cam.id] = self._new_slot(cam, Status(State.UNKNOWN, None, wall), now)
                # catch-up: new cameras (a start, a replica's takeover) are first probed within catchup_s (longer
                # above catchup_rate; at most half an interval), evenly spread, then keep their phase: the
                # unknown gap ends sooner
                if cam.probed:  # a GB28181-only camera: a slot (its state from signalling), no probe
                    self._push(slot, min(slot.planned, now + k * catchup) if catchup else slot.planned, "fast")
                    k += 1
            elif slot.cam != cam:
                was, slot.cam = slot.cam.probed, cam
                if cam.probed is not was:  # 接入方式 changed: probed from now on, or no more
                    slot.seq += 1  # (its queued probes void)
                    if cam.probed:
                        self._push(slot, now, "fast")
        self.unprobed = sum(1 for s in self.slots.values() if not s.cam.probed)
        for cid in [c for c in self.slots if c not in seen]:
            slot = self.slots.pop(cid)
            slot.seq += 1  # invalidates queued entries
            slot.status, events = set_retired(slot.status, wall)
            self._emit(slot, slot.status, events)
        self.devices = {d.id: self.devices.get(d.id, DeviceSlot(d)) for d in devices}
        for d in devices:
            self.devices[d.id].dev = d
        if excluded is not None:
            for cid, slot in self.slots.items():
                slot.excluded = cid in excluded
        self._poke()

    def _new_slot(self, cam: MonitoredCamera, status: Status, now: float) -> CameraSlot:
        """A new camera's slot, its first regular probe and video-tier probe at its phases."""
        slot = CameraSlot(cam, status, now + ((phase_of(cam.id, self.config.interval_s) - now) % self.config.interval_s))
        slot.video_due = now + phase_of(cam.id, self.config.video_interval_s)
        return slot

    def _push(self, slot: CameraSlot, due: float, kind: str) -> None:
        if kind == "fast":
            slot.seq += 1
            token = slot.seq
        else:
            token = VIDEO
        heapq.heappush(self._heap, (due, slot.cam.id, token))
        if due < self._sleep_until:
            self._poke()

    def _poke(self) -> None:
        """Wake the run loop now (something became due before its planned wake-up)."""
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- events ------------------------------------------------------------------------------
    def _emit(self, slot: CameraSlot, status: Status, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, Changed) and self.writer is not None:
                self.writer.submit(IntervalOpen(slot.cam.id, ev.new.value, ev.cause.value if ev.cause else None, ev.start,
                                                ev.uncertainty_s))
            if self.on_event is not None:
                try:
                    self.on_event(slot.cam, ev)
                except Exception:  # noqa: BLE001 - a sink must never stop probing
                    log.exception("event sink failed")

    def apply(self, slot: CameraSlot, outcome: Outcome, policy: Policy | None = None) -> None:
        """Step a camera's state by one outcome (a probe's, or GB/T 28181 signalling's) and emit its events."""
        new, events = step(slot.status, outcome, policy or self.policy, slot.seen)
        slot.status, slot.seen = new, remember(slot.seen, new, outcome)
        self._emit(slot, new, events)

    # -- probing -----------------------------------------------------------------------------
    async def _device_up(self, dev_id: int) -> bool | None:
        ds = self.devices.get(dev_id)
        if ds is None:
            return None
        if ds.up is not None and self._now() - ds.checked < min(self.policy.offline_interval_s, 10.0):
            return ds.up
        target = ProbeTarget(ds.dev.host, self.config.device_port, "/", None)
        try:
            r = await within(reach(target, ReachOptions()), self.ladder.reach_timeout_s)
            ds.up = r.ok or r.cause is Cause.REFUSED  # refused: the host answered
        except TimeoutError:
            ds.up = False
        ds.checked = self._now()
        return ds.up

    async def _probe(self, slot: CameraSlot, planned: float) -> None:
        dev = slot.cam.parent_device_id
        dsem = None
        if dev:  # at most per_device_concurrency probes behind one NVR / switch at once
            dsem = self._dev_sems.get(dev)
            if dsem is None:
                dsem = self._dev_sems[dev] = asyncio.Semaphore(self.config.per_device_concurrency)
            await dsem.acquire()
        # (the overall limit is kept by run(), which starts at most config.concurrency probes)
        try:
            self.lateness.observe(max(0.0, self._now() - planned))
            at = self.clock()
            cred = slot.cam.credential_error  # its password cannot be read: no login, a connect only
            result = await (self.ladder_fn(slot.cam.target, self.ladder) if cred is None
                            else reach_only(slot.cam.target, self.ladder, cred))
        finally:
            if dsem is not None:
                dsem.release()
        if self.slots.get(slot.cam.id) is not slot:
            return  # forgotten (its shard let go) or retired while in flight
        cause, parent_up = result.cause, None  # parent_up: its parent device checked (the alerts say which side failed)
        if result.state == "offline" and cause in REACH_CAUSES and dev is not None:
            parent_up = await self._device_up(dev)
            cause = Cause.UPSTREAM_DOWN if parent_up is False else cause
        for r in result.stages:
            key = (r.stage.value, "ok" if r.ok else "fail")
            self.probes_total[key] = self.probes_total.get(key, 0) + 1
        slot.last = kept(result, at)
        outcome = Outcome(at, result.state != "offline", cause, clock_failed=clock_failed(result), upstream_up=parent_up)
        was_up = slot.status.state.up
        self.apply(slot, outcome)
        if slot.status.state.up and not was_up and self.config.video:
            slot.video_due = self._now()  # at once when a camera comes back
            self._push(slot, slot.video_due, "video")

    async def _video(self, slot: CameraSlot) -> None:
        if slot.cam.credential_error is not None or not slot.cam.probed:
            return  # no login without its credential (the fast tier shows credential_unavailable)
        at = self.clock()  # (at most config.video_concurrency run at once: run() starts them)
        result = await self.ladder_fn(slot.cam.target, self.video_ladder)
        if self.slots.get(slot.cam.id) is not slot:
            return
        if result.jpeg is not None and self.on_frame is not None:
            self.on_frame(slot.cam.id, result.jpeg)
        v = video_verdict(result, slot.status, at, slot.video_ok, slot.vqd_baseline)  # no video: offline
        slot.video_ok, slot.vqd_baseline = v.video_ok, v.baseline
        slot.video_last = None if v.video_ok else kept(result, at)
        if v.outcome is not None:
            self.apply(slot, v.outcome)

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("probe task failed", exc_info=task.exception())

    def _sweep_done(self, planned: float) -> None:
        """Count a regular probe into its sweep; a sweep is done when every camera was probed once."""
        interval = self.config.interval_s
        epoch = int(planned // interval)
        rec = self._sweeps.setdefault(epoch, [0.0, epoch * interval])
        rec[0] += 1
        if rec[0] >= len(self.slots) - self.unprobed > 0:
            self.last_sweep_s = self._now() - rec[1]
            del self._sweeps[epoch]
            self._log_sweep(self.last_sweep_s)
        for old in [e for e in self._sweeps if e < epoch - 2]:
            del self._sweeps[old]

    def _log_sweep(self, seconds: float) -> None:
        """One INFO line per completed sweep: the cameras by state, its duration, its lateness p99."""
        if not log.isEnabledFor(logging.INFO):
            return
        by = collections.Counter(slot.shown for slot in self.slots.values())
        counts = self.lateness.counts
        p99 = quantile_bound([a - b for a, b in zip(counts, self._sweep_counts, strict=True)], 0.99)
        first, self._sweep_counts = not any(self._sweep_counts), list(counts)  # (the first: since the start)
        log.info("sweep: %d online, %d degraded, %d offline, %d unknown, %d excluded; %.1f s; lateness p99 <= %s%s",
                 by[State.ONLINE], by[State.DEGRADED], by[State.OFFLINE], by[State.UNKNOWN], by[State.EXCLUDED], seconds,
                 "-" if p99 is None else f"{p99:g} s", " (since the start: its catch-up included)" if first else "")

    async def _run_fast(self, slot: CameraSlot, planned: float) -> None:
        slot.running = True
        regular = abs(planned - slot.planned) < 1e-6  # the camera's phase-aligned slot, not a re-probe
        try:
            await self._probe(slot, planned)
        finally:
            slot.running = False
            self._fast_busy -= 1
        if regular and self.slots.get(slot.cam.id) is slot:  # (one let go of, or fenced, meanwhile: no sweep of it)
            self._sweep_done(planned)
        if self.slots.get(slot.cam.id) is not slot or slot.status.state is State.EXCLUDED:
            return
        now = self._now()
        while slot.planned <= now:
            if not regular:  # a re-probe ran across the camera's regular slot: it stands for it in that sweep
                self._sweep_done(slot.planned)
            slot.planned += self.config.interval_s
        delay = next_delay(slot.status, self.policy)  # a re-probe (confirmation, offline), if any
        # keep the regular slot if it comes first
        self._push(slot, slot.planned if delay is None else min(now + delay, slot.planned), "fast")

    async def _run_video(self, slot: CameraSlot) -> None:
        slot.video_running = True
        try:
            await self._video(slot)
        finally:
            slot.video_running = False
            self._video_busy -= 1
        if self.slots.get(slot.cam.id) is slot:  # (sooner while no video is confirmed, or to see it back)
            delay = video_delay(slot.status, self.policy)
            slot.video_due = self._now() + (self.config.video_interval_s if delay is None else delay)
            self._push(slot, slot.video_due, "video")

    async def _sleep(self, until: float) -> None:
        """Sleep until monotonic time *until* or until :meth:`_poke` (one future and one timer)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handle = self._call_at(until, _wake_up, fut)
        self._waiter, self._sleep_until = fut, until
        try:
            await fut
        finally:
            handle.cancel()
            self._waiter, self._sleep_until = None, 0.0

    async def run(self) -> None:
        self._bind()
        clock = self._now
        if self.config.video:
            for first in self.slots.values():
                self._push(first, first.video_due, "video")
        try:
            heap = self._heap
            slots = self.slots
            while True:
                now = clock()
                full = False
                while heap and heap[0][0] <= now:
                    entry = heapq.heappop(heap)
                    due, cid, token = entry
                    slot = slots.get(cid)
                    if slot is None or slot.status.state is State.EXCLUDED:
                        continue
                    if token == VIDEO:
                        if due != slot.video_due:
                            continue  # replanned since (back up: at once); one video plan per camera
                        if self.config.video and not slot.video_running and wants_video(slot.status):
                            if self._video_busy >= self.config.video_concurrency:
                                # Behind on the video tier: wait in the heap (bounded memory), not as a task.
                                self._video_push_back.append(slot)
                                continue
                            self._video_busy += 1
                            self._spawn(self._run_video(slot))
                        elif self.config.video and not slot.video_running:
                            slot.video_due = now + self.config.video_interval_s
                            self._push(slot, slot.video_due, "video")
                        continue
                    if token != slot.seq or slot.running:
                        continue
                    if self._fast_busy >= self.config.concurrency:
                        # Behind: the probe stays due in the heap (its lateness counts when it
                        # starts) instead of queueing as a task: memory stays bounded under overload.
                        heapq.heappush(heap, entry)
                        full = True
                        break
                    self._fast_busy += 1
                    self._spawn(self._run_fast(slot, due))
                for later in self._video_push_back:
                    later.video_due += self.config.tick_s
                    heapq.heappush(heap, (later.video_due, later.cam.id, VIDEO))
                self._video_push_back.clear()
                # Sleep until the next due probe, but at least one tick (batching) and at most 1 s.
                nxt = now + self.config.tick_s if full else (heap[0][0] if heap else now + 1.0)
                await self._sleep(min(max(nxt, now + self.config.tick_s), now + 1.0))
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)


def _wake_up(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


# CameraSlot, Histogram, SchedulerConfig (slots, lateness, scheduler_config): named here for readers (metrics, web).
__all__ = ["CameraSlot", "EventSink", "Histogram", "LadderFn", "Scheduler", "SchedulerConfig"]
