"""The fast and video tiers: every camera probed on a stable phase, state kept, transitions stored.

Each camera's fast-tier probe is planned at ``phase + k * interval`` where the phase is a
stable hash of its id, so a county's cameras are spread evenly over the interval (never a
burst) and keep their slot across restarts. Failures are confirmed by quick re-probes,
offline cameras are re-probed more often; the video tier (frame + VQD) runs on its own slower
schedule in a small pool, and at once when a camera comes back.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import gc
import hashlib
import heapq
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace

from collector.runtime.aio import within
from collector.runtime.camera_state import (
    Changed,
    Event,
    Outcome,
    Policy,
    State,
    Status,
    next_delay,
    set_excluded,
    step,
)
from collector.runtime.interval_writer import IntervalOpen, IntervalWriter
from inventory.lookup import MonitoredCamera, MonitoredDevice
from inventory.models import utcnow
from probes.base import Cause, ProbeTarget, Stage
from probes.kept import KeptResult, kept
from probes.ladder import LadderOptions, LadderResult, run_ladder

log = logging.getLogger("camwatch.scheduler")

LadderFn = Callable[[ProbeTarget, LadderOptions], Awaitable[LadderResult]]
EventSink = Callable[[MonitoredCamera, Event], None]
REACH_CAUSES = frozenset({Cause.UNREACHABLE, Cause.TIMEOUT})
VIDEO = -1  # heap token of a video-tier entry
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    interval_s: float = 60.0
    offline_interval_s: float = 15.0
    confirm_delays_s: tuple[float, ...] = (5.0, 10.0)
    video_interval_s: float = 1800.0
    video: bool = True
    concurrency: int = 2000
    per_device_concurrency: int = 4
    video_concurrency: int = 2
    flap_changes: int = 4
    flap_window_s: float = 1800.0
    device_port: int = 80
    # Due probes are started in batches at most this often: their socket events then share
    # the event loop's wake-ups (a paced prober that wakes per probe costs twice the CPU).
    tick_s: float = 0.05

    @property
    def policy(self) -> Policy:
        return Policy(self.interval_s, self.confirm_delays_s, self.offline_interval_s, self.flap_changes, self.flap_window_s)


def phase_of(camera_id: int, interval_s: float) -> float:
    """A stable offset in [0, interval) from the camera id."""
    h = int.from_bytes(hashlib.blake2b(str(camera_id).encode(), digest_size=8).digest(), "big")
    return (h / 2**64) * interval_s


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...] = LATENESS_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, v: float) -> None:
        self.total += v
        self.n += 1
        self.counts[bisect.bisect_left(self.buckets, v)] += 1  # first bucket with v <= bound, else +Inf


@dataclass(slots=True)
class CameraSlot:
    cam: MonitoredCamera
    status: Status
    planned: float  # loop time of the next regular (phase-aligned) fast-tier probe
    seq: int = 0
    running: bool = False
    last: LadderResult | KeptResult | None = None  # the scheduler stores a KeptResult (with its time)
    video_due: float = 0.0
    video_running: bool = False
    video_ok: bool | None = None
    # An exclusion is in force: shown as excluded, but still probed and its real state stored,
    # so that reports can give the rate both with and without exclusions.
    excluded: bool = False

    @property
    def last_at(self) -> dt.datetime | None:
        """When the last fast-tier probe started."""
        return self.last.at if isinstance(self.last, KeptResult) else None

    @property
    def shown(self) -> State:
        return State.EXCLUDED if self.excluded else self.status.state


@dataclass(slots=True)
class DeviceSlot:
    dev: MonitoredDevice
    up: bool | None = None
    checked: float = 0.0


class Scheduler:
    def __init__(self, config: SchedulerConfig, writer: IntervalWriter | None, *,
                 ladder: LadderOptions | None = None, ladder_fn: LadderFn = run_ladder,
                 clock: Callable[[], dt.datetime] = utcnow, on_event: EventSink | None = None) -> None:
        self.config = config
        self.policy = config.policy
        self.writer = writer
        self.ladder = ladder or LadderOptions()
        self.video_ladder = video_ladder(self.ladder)
        self.ladder_fn = ladder_fn
        self.clock = clock
        self.on_event = on_event
        self.slots: dict[int, CameraSlot] = {}
        self.devices: dict[int, DeviceSlot] = {}
        # (due, camera id, token): token is the slot's fast-tier seq, or VIDEO
        self._heap: list[tuple[float, int, int]] = []
        self._waiter: asyncio.Future[None] | None = None
        self._fast_busy = 0  # fast-tier probes started and not finished (<= config.concurrency)
        self._video_busy = 0
        self._video_push_back: list[tuple[float, int, int]] = []
        self._sleep_until = 0.0
        self._dev_sems: dict[int, asyncio.Semaphore] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.lateness = Histogram()
        self.probes_total: dict[tuple[str, str], int] = {}
        self.last_sweep_s: float | None = None
        # per sweep (interval-long epoch of planned times): [probes done, epoch start]
        self._sweeps: dict[int, list[float]] = {}

    # -- inventory ---------------------------------------------------------------------------
    def sync(self, cameras: list[MonitoredCamera], devices: list[MonitoredDevice], *,
             initial: dict[int, Status] | None = None, excluded: set[int] | None = None) -> None:
        """Take the current inventory: add new cameras, drop retired ones, update changed ones."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        wall = self.clock()
        seen = set()
        for cam in cameras:
            seen.add(cam.id)
            slot = self.slots.get(cam.id)
            if slot is None:
                status = (initial or {}).get(cam.id, Status(State.UNKNOWN, None, wall))
                phase = phase_of(cam.id, self.config.interval_s)
                planned = now + ((phase - now) % self.config.interval_s)
                slot = CameraSlot(cam, status, planned)
                slot.video_due = now + phase_of(cam.id, self.config.video_interval_s)
                self.slots[cam.id] = slot
                self._push(slot, planned, "fast")
            elif slot.cam != cam:
                slot.cam = cam
        for cid in [c for c in self.slots if c not in seen]:
            slot = self.slots.pop(cid)
            slot.seq += 1  # invalidates queued entries
            self._emit(slot, *set_excluded(slot.status, True, wall))
        self.devices = {d.id: self.devices.get(d.id, DeviceSlot(d)) for d in devices}
        for d in devices:
            self.devices[d.id].dev = d
        if excluded is not None:
            for cid, slot in self.slots.items():
                slot.excluded = cid in excluded
        self._poke()

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
                self.writer.submit(IntervalOpen(slot.cam.id, ev.new.value, ev.cause.value if ev.cause else None, ev.start))
            if self.on_event is not None:
                try:
                    self.on_event(slot.cam, ev)
                except Exception:  # noqa: BLE001 - a sink must never stop probing
                    log.exception("event sink failed")

    # -- probing -----------------------------------------------------------------------------
    async def _device_up(self, dev_id: int) -> bool | None:
        ds = self.devices.get(dev_id)
        if ds is None:
            return None
        loop = asyncio.get_running_loop()
        if ds.up is not None and loop.time() - ds.checked < min(self.config.offline_interval_s, 10.0):
            return ds.up
        from probes.reach import ReachOptions
        from probes.reach import probe as reach

        target = ProbeTarget(ds.dev.host, self.config.device_port, "/", None)
        try:
            r = await within(reach(target, ReachOptions()), self.ladder.reach_timeout_s)
            ds.up = r.ok or r.cause is Cause.REFUSED  # refused: the host answered
        except TimeoutError:
            ds.up = False
        ds.checked = loop.time()
        return ds.up

    async def _probe(self, slot: CameraSlot, planned: float) -> None:
        loop = asyncio.get_running_loop()
        dev = slot.cam.parent_device_id
        dsem = None
        if dev:  # at most per_device_concurrency probes behind one NVR / switch at once
            dsem = self._dev_sems.get(dev)
            if dsem is None:
                dsem = self._dev_sems[dev] = asyncio.Semaphore(self.config.per_device_concurrency)
            await dsem.acquire()
        # (the overall limit is kept by run(), which starts at most config.concurrency probes)
        try:
            self.lateness.observe(max(0.0, loop.time() - planned))
            at = self.clock()
            result = await self.ladder_fn(slot.cam.target, self.ladder)
        finally:
            if dsem is not None:
                dsem.release()
        cause = result.cause
        if result.state == "offline" and cause in REACH_CAUSES and dev is not None:
            if await self._device_up(dev) is False:
                cause = Cause.UPSTREAM_DOWN
        for r in result.stages:
            key = (r.stage.value, "ok" if r.ok else "fail")
            self.probes_total[key] = self.probes_total.get(key, 0) + 1
        slot.last = kept(result, at)
        outcome = Outcome(at, result.state != "offline", cause)
        was_up = slot.status.state.up
        new, events = step(slot.status, outcome, self.policy)
        slot.status = new
        self._emit(slot, new, events)
        if new.state.up and not was_up and self.config.video:
            slot.video_due = loop.time()  # at once when a camera comes back
            self._push(slot, slot.video_due, "video")

    async def _video(self, slot: CameraSlot) -> None:
        at = self.clock()  # (at most config.video_concurrency run at once: run() starts them)
        result = await self.ladder_fn(slot.cam.target, self.video_ladder)
        if result.state == "offline" or result.video is None:
            slot.video_ok = False if result.state != "offline" else slot.video_ok
            failed: tuple[str, ...] | None = None
        else:
            failed = tuple(c.name for c in result.video if not c.ok)
            slot.video_ok = not failed
        if failed is None or slot.status.state is State.OFFLINE or slot.status.state is State.EXCLUDED:
            return
        new, events = step(slot.status, Outcome(at, True, None, failed), self.policy)
        slot.status = new
        self._emit(slot, new, events)

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
        if rec[0] >= len(self.slots):
            self.last_sweep_s = asyncio.get_running_loop().time() - rec[1]
            del self._sweeps[epoch]
        for old in [e for e in self._sweeps if e < epoch - 2]:
            del self._sweeps[old]

    async def _run_fast(self, slot: CameraSlot, planned: float) -> None:
        slot.running = True
        regular = abs(planned - slot.planned) < 1e-6  # the camera's phase-aligned slot, not a re-probe
        try:
            await self._probe(slot, planned)
        finally:
            slot.running = False
            self._fast_busy -= 1
        if regular:
            self._sweep_done(planned)
        if self.slots.get(slot.cam.id) is not slot or slot.status.state is State.EXCLUDED:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if slot.status.pending is not None or slot.status.state is State.OFFLINE:
            due = now + next_delay(slot.status, self.policy)
            # keep the regular slot if it comes first
            while slot.planned <= now:
                slot.planned += self.config.interval_s
            due = min(due, slot.planned)
        else:
            while slot.planned <= now:
                slot.planned += self.config.interval_s
            due = slot.planned
        self._push(slot, due, "fast")

    async def _run_video(self, slot: CameraSlot) -> None:
        slot.video_running = True
        try:
            await self._video(slot)
        finally:
            slot.video_running = False
            self._video_busy -= 1
        if self.slots.get(slot.cam.id) is slot:
            slot.video_due = asyncio.get_running_loop().time() + self.config.video_interval_s
            self._push(slot, slot.video_due, "video")

    async def _sleep(self, until: float) -> None:
        """Sleep until loop time *until* or until :meth:`_poke` (one future and one timer)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        handle = loop.call_at(until, _wake_up, fut)
        self._waiter, self._sleep_until = fut, until
        try:
            await fut
        finally:
            handle.cancel()
            self._waiter, self._sleep_until = None, 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for slot in self.slots.values():
            if self.config.video:
                self._push(slot, slot.video_due, "video")
        try:
            heap = self._heap
            slots = self.slots
            while True:
                now = loop.time()
                full = False
                while heap and heap[0][0] <= now:
                    entry = heapq.heappop(heap)
                    due, cid, token = entry
                    slot = slots.get(cid)
                    if slot is None or slot.status.state is State.EXCLUDED:
                        continue
                    if token == VIDEO:
                        if self.config.video and not slot.video_running and slot.status.state.up:
                            if self._video_busy >= self.config.video_concurrency:
                                # Behind on the video tier: wait in the heap (bounded memory), not as a task.
                                self._video_push_back.append(entry)
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
                for entry in self._video_push_back:
                    heapq.heappush(heap, (entry[0] + self.config.tick_s, entry[1], entry[2]))
                self._video_push_back.clear()
                # Sleep until the next due probe, but at least one tick (batching) and at most 1 s.
                nxt = now + self.config.tick_s if full else (heap[0][0] if heap else now + 1.0)
                await self._sleep(min(max(nxt, now + self.config.tick_s), now + 1.0))
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)


def video_ladder(fast: LadderOptions) -> LadderOptions:
    """The video tier's ladder: the fast tier's, plus the frame stage and, when ONVIF runs, its
    authenticated call (GetDeviceInformation: identity, and a check of the ONVIF login). The
    fast tier asks only the clock (DESIGN §3); both share the ONVIF prober's per-camera memo."""
    onvif = fast.stage_options(Stage.ONVIF) if fast.use_onvif else None  # None: not installed
    if onvif is not None and not onvif.device_info:
        return replace(fast, video=True, onvif=replace(onvif, device_info=True))
    return replace(fast, video=True)


def _wake_up(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


GC_THRESHOLDS = (200_000, 20, 100)


def settle_gc() -> None:
    """Tune the cyclic GC for a long-running prober, once its inventory is loaded.

    The inventory's objects live as long as the process: ``gc.freeze()`` keeps collections from
    scanning them (it made /metrics renders of 100k cameras vary 0.9-2 s). Every probe makes a few
    hundred short-lived objects, almost none in cycles, and a probe in flight holds ~40 of them: a
    young generation of 200,000 instead of 700 is not reached by the 2,000 probes in flight of a
    collector catching up. (At 50,000 it was: 43 collections in one minute took 3.5 s, 7 % of the
    CPU, and held probes back by up to 5 s at 100k cameras; a calm minute has none.)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
