"""The scheduler against the simulated fleet on loopback: detection, confirmation, recovery, spreading."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from collector.cli.demo_county import Blackhole
from collector.runtime.app import ladder_options
from collector.runtime.camera_state import Changed, State
from collector.runtime.scheduler import Scheduler, SchedulerConfig, phase_of, video_ladder
from collector.settings import load_settings
from inventory.lookup import MonitoredCamera, MonitoredDevice, RegionLabels
from inventory.models import Lifecycle
from probes.base import Cause, ProbeTarget
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange

LABELS = RegionLabels("130123101201", "东关村", "130123101000", "城关镇", "130123000000", "示范县")
FAST = SchedulerConfig(interval_s=2.0, offline_interval_s=0.5, confirm_delays_s=(0.3, 0.3), video=False)


def cameras(fleet: Fleet, parent: int | None = None) -> list[MonitoredCamera]:
    out = []
    for c in fleet.cameras():
        t = ProbeTarget(c.host, c.rtsp_port, c.rtsp_path, c.onvif_port, c.username, c.password, c.index + 1)
        out.append(MonitoredCamera(c.index + 1, f"cam{c.index}", 1, t, parent, None, Lifecycle.ACTIVE, LABELS))
    return out


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    with Fleet(6, workers=1) as f:
        yield f


def test_phase_is_stable_and_spread() -> None:
    phases = [phase_of(i, 60.0) for i in range(1, 10001)]
    assert phases == [phase_of(i, 60.0) for i in range(1, 10001)]
    buckets = [0] * 6
    for p in phases:
        buckets[int(p // 10)] += 1
    assert all(1500 < b < 1850 for b in buckets), buckets  # ~1667 per 10 s: no burst


def test_outage_detected_confirmed_and_recovered(fleet: Fleet) -> None:
    events: list[tuple[int, Changed]] = []

    async def go() -> None:
        sched = Scheduler(FAST, None, ladder=LadderOptions(use_onvif=False),
                          on_event=lambda cam, ev: events.append((cam.id, ev)) if isinstance(ev, Changed) else None)
        sched.sync(cameras(fleet), [])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state is State.ONLINE for s in sched.slots.values()), 5)
            fleet.set_behaviour(0, Behaviour(power=Power.DOWN))
            down_at = dt.datetime.now(dt.UTC)
            await _wait(lambda: sched.slots[1].status.state is State.OFFLINE, 2.0 + 0.6 + 1.5)
            off = [e for cid, e in events if cid == 1 and e.new is State.OFFLINE][0]
            assert off.cause is Cause.REFUSED
            assert down_at <= off.start <= down_at + dt.timedelta(seconds=2.5)
            assert off.confirmed_at > off.start  # confirmed by re-probes, dated at the first failure
            fleet.set_behaviour(0, Behaviour())
            up_at = dt.datetime.now(dt.UTC)
            await _wait(lambda: sched.slots[1].status.state is State.ONLINE, 1.5)
            back = [e for cid, e in events if cid == 1 and e.old is State.OFFLINE][0]
            assert up_at <= back.start <= up_at + dt.timedelta(seconds=1.5)
            assert all(s.status.state is State.ONLINE for cid, s in sched.slots.items() if cid != 1)
            assert sched.lateness.n > 6
            assert sched.last_sweep_s is not None and 0 < sched.last_sweep_s < FAST.interval_s + 2
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())


def test_upstream_down_when_parent_unreachable(loopback: LoopbackRange) -> None:
    holes = [Blackhole(f"127.{loopback.first_block}.1.{i}", 8554) for i in (1, 2, 3)]

    async def go() -> None:
        cams = [
            MonitoredCamera(i, f"cam{i}", 1, ProbeTarget(h.host, 8554, "/", None, "admin", "x", i), 100, None, Lifecycle.ACTIVE, LABELS)
            for i, h in enumerate(holes[:2], start=1)
        ]
        sched = Scheduler(SchedulerConfig(interval_s=2.0, offline_interval_s=0.5, confirm_delays_s=(0.3, 0.3), video=False,
                                          device_port=8554),
                          None, ladder=LadderOptions(use_onvif=False, reach_timeout_s=0.4))
        sched.sync(cams, [MonitoredDevice(100, "router", holes[2].host)])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state is State.OFFLINE for s in sched.slots.values()), 6)
            assert {s.status.cause for s in sched.slots.values()} == {Cause.UPSTREAM_DOWN}
            assert sched.devices[100].up is False
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(go())
    finally:
        for h in holes:
            h.close()


def test_due_probes_start_in_batches_one_tick_apart(fleet: Fleet) -> None:
    """Probes due within one tick start together (their socket events share loop wake-ups), never early."""
    tick = 0.5
    starts: list[tuple[float, int]] = []

    async def recording_ladder(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        starts.append((asyncio.get_running_loop().time(), target.camera_id or 0))
        return await run_ladder(target, opts)

    async def go() -> tuple[Scheduler, float]:
        cfg = SchedulerConfig(interval_s=2.0, offline_interval_s=0.5, confirm_delays_s=(0.3, 0.3), video=False, tick_s=tick)
        sched = Scheduler(cfg, None, ladder=LadderOptions(use_onvif=False), ladder_fn=recording_ladder)
        cams = cameras(fleet)
        # 24 camera ids on the 6 simulated cameras (same targets): 24 probes per interval
        many = [MonitoredCamera(k * 10 + c.id, c.name, 1, replace(c.target, camera_id=k * 10 + c.id), None, None,
                                Lifecycle.ACTIVE, LABELS)
                for k in range(4) for c in cams]
        sched.sync(many, [])
        planned = {cid: slot.planned for cid, slot in sched.slots.items()}
        t0 = asyncio.get_running_loop().time()
        task = asyncio.create_task(sched.run())
        try:
            await asyncio.sleep(2.0 * 2 + 0.2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        first = {}
        for at, cid in starts:
            first.setdefault(cid, at)
        for cid, at in first.items():
            assert planned[cid] - 1e-3 <= at <= planned[cid] + tick + 0.2, (cid, at - planned[cid])
        return sched, t0

    sched, t0 = asyncio.run(go())
    assert len(starts) >= 40  # 24 cameras, about two sweeps
    groups = 1 + sum(1 for (a, _), (b, _) in zip(starts, starts[1:]) if b - a > 0.01)
    assert groups <= (2.0 * 2 + 0.2) / tick + 2, groups  # one wake-up per tick at most, not one per probe
    assert all(s.status.state is State.ONLINE for s in sched.slots.values())


def test_fast_tier_asks_onvif_only_the_clock_and_the_video_tier_the_identity_too(fleet: Fleet) -> None:
    """DESIGN §3: fast tier = reach + rtsp + onvif clock, as `camwatch run` configures it; the
    slower video tier adds GetDeviceInformation (a check of the ONVIF login)."""
    fast = ladder_options(load_settings(db_url="sqlite+aiosqlite:///:memory:", environ={}))
    video = video_ladder(fast)
    assert (fast.onvif.device_info, video.onvif.device_info, video.video) == (False, True, True)
    assert video.onvif.state is fast.onvif.state  # one per-camera memo (clock offset) for both
    calls: list[tuple[int, bool, bool]] = []

    async def recording_ladder(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        calls.append((target.camera_id or 0, opts.video, opts.onvif.device_info))
        if opts.video:
            # Only the frame stage is stood in for here (the simulator's cameras serve no decodable
            # video; tests/probes/test_frame.py runs it against gst-rtsp-server).
            return LadderResult("online", None, (), video=())
        return await run_ladder(target, opts)

    async def go() -> None:
        cfg = SchedulerConfig(interval_s=2.0, offline_interval_s=0.5, confirm_delays_s=(0.3, 0.3),
                              video=True, video_interval_s=30.0)
        sched = Scheduler(cfg, None, ladder=fast, ladder_fn=recording_ladder)
        sched.sync(cameras(fleet)[:2], [])
        fleet.reset_stats()
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: sum(1 for _, v, _ in calls if not v) >= 4 and any(v for _, v, _ in calls), 6)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
    assert {(v, d) for _, v, d in calls} == {(False, False), (True, True)}
    stats = fleet.stats([0, 1])
    clock = sum(stats.camera(i).onvif_action("GetSystemDateAndTime") for i in (0, 1))
    identity = sum(stats.camera(i).onvif_action("GetDeviceInformation") for i in (0, 1))
    assert clock >= 4 and identity == 0, (clock, identity)


def test_overload_keeps_probes_due_in_the_heap_not_as_waiting_tasks(fleet: Fleet) -> None:
    """Behind schedule, at most `concurrency` probes run and nothing else piles up as tasks."""
    inflight = 0
    peak = 0
    peak_tasks = 0
    sched_ref: list[Scheduler] = []

    async def slow_ladder(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        nonlocal inflight, peak, peak_tasks
        inflight += 1
        peak = max(peak, inflight)
        peak_tasks = max(peak_tasks, len(sched_ref[0]._tasks))
        try:
            await asyncio.sleep(0.4)  # a slow camera network: 2 at a time cannot keep up with 24 per second
            return await run_ladder(target, opts)
        finally:
            inflight -= 1

    async def go() -> Scheduler:
        cfg = SchedulerConfig(interval_s=1.0, video=False, concurrency=2, tick_s=0.05)
        sched = Scheduler(cfg, None, ladder=LadderOptions(use_onvif=False), ladder_fn=slow_ladder)
        sched_ref.append(sched)
        many = [MonitoredCamera(k * 10 + c.id, c.name, 1, replace(c.target, camera_id=k * 10 + c.id), None, None,
                                Lifecycle.ACTIVE, LABELS) for k in range(4) for c in cameras(fleet)]
        sched.sync(many, [])
        task = asyncio.create_task(sched.run())
        try:
            await asyncio.sleep(3.0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return sched

    sched = asyncio.run(go())
    assert peak == 2 and peak_tasks <= 2, (peak, peak_tasks)
    assert sched.lateness.n >= 8  # it kept probing, late
    assert sched.lateness.total / sched.lateness.n > 0.2  # and the lateness shows it


async def _wait(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
