"""The scheduler: detection, confirmation, recovery, spreading, batching, overload, the two tiers.

Most tests run on virtual time (tests/collector/virtual_time.py) with a scripted ladder: the
default schedule (60 s interval, re-probes after 5 s and 10 s, offline every 15 s) runs in
milliseconds and times are asserted exactly. Two tests run on the real event loop against real
sockets: the simulated fleet, and a black-holed upstream router.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from collector.cli.demo_county import Blackhole
from collector.runtime.camera_state import Changed, State
from collector.runtime.ladders import ladder_options, video_ladder
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.slots import phase_of
from collector.settings import CollectorSettings, load_settings
from inventory.models import Lifecycle
from inventory.monitored import MonitoredCamera, MonitoredDevice, RegionLabels
from probes.base import Cause, ProbeTarget
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.virtual_time import VirtualTime

LABELS = RegionLabels("130123101201", "东关村", "130123101000", "城关镇", "130123000000", "示范县")
DEFAULTS = SchedulerConfig.from_settings(CollectorSettings(video=False, catchup_s=0))  # phases only
# the real-loop tests: a short schedule
FAST_KEYS = {"interval_s": 1.0, "offline_interval_s": 0.25, "confirm_delays_s": [0.15, 0.15], "video": False}
FAST = SchedulerConfig.from_settings(CollectorSettings(**FAST_KEYS))


def cameras(fleet: Fleet, parent: int | None = None) -> list[MonitoredCamera]:
    out = []
    for c in fleet.cameras():
        t = ProbeTarget(c.host, c.rtsp_port, c.rtsp_path, c.onvif_port, c.username, c.password, c.index + 1)
        out.append(MonitoredCamera(c.index + 1, f"cam{c.index}", 1, t, parent, None, Lifecycle.ACTIVE, LABELS))
    return out


def fake_cameras(ids: range) -> list[MonitoredCamera]:
    """Cameras that only a scripted ladder sees (TEST-NET addresses, never contacted)."""
    return [MonitoredCamera(i, f"cam{i}", 1, ProbeTarget(f"192.0.2.{i % 250 + 1}", 554, "/", 80, "admin", "x", i),
                            None, None, Lifecycle.ACTIVE, LABELS) for i in ids]


class Script:
    """A ladder on virtual time: every camera online unless listed in ``down`` (with its cause);
    a probe takes ``took`` virtual seconds. Records (start, camera id, video tier, ONVIF identity)."""

    def __init__(self, vt: VirtualTime, took: float = 0.01) -> None:
        self.vt, self.took = vt, took
        self.down: dict[int, Cause] = {}
        self.calls: list[tuple[float, int, bool, bool]] = []

    async def __call__(self, target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        cid = target.camera_id or 0
        self.calls.append((self.vt.now, cid, opts.video, opts.use_onvif and opts.onvif.device_info))
        await self.vt.sleep(self.took)
        if cid in self.down:
            return LadderResult("offline", self.down[cid], ())
        return LadderResult("online", None, (), video=() if opts.video else None)

    def starts(self, cid: int, video: bool = False) -> list[float]:
        return [at for at, c, v, _ in self.calls if c == cid and v is video]


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_phase_is_stable_and_spread() -> None:
    phases = [phase_of(i, 60.0) for i in range(1, 10001)]
    assert phases == [phase_of(i, 60.0) for i in range(1, 10001)]
    buckets = [0] * 6
    for p in phases:
        buckets[int(p // 10)] += 1
    assert all(1500 < b < 1850 for b in buckets), buckets  # ~1667 per 10 s: no burst


def test_outage_confirmed_by_reprobes_dated_at_the_midpoint_and_recovered() -> None:
    """The default schedule on virtual time: once per 60 s on the camera's phase; a failure is
    re-probed after 5 s and 10 s and then confirmed, dated halfway between the last success and
    the first failure; an offline camera is re-probed every 15 s and is back at the first
    success, dated halfway between it and the last failure."""
    vt = VirtualTime()
    script = Script(vt)
    events: list[tuple[int, Changed]] = []

    async def go() -> Scheduler:
        sched = Scheduler(DEFAULTS, None, ladder_fn=script, clock=vt.wall, timebase=vt,
                          on_event=lambda cam, ev: events.append((cam.id, ev)) if isinstance(ev, Changed) else None)
        sched.sync(fake_cameras(range(1, 7)), [])
        planned = {cid: s.planned for cid, s in sched.slots.items()}
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(60.0)
            assert all(s.status.state is State.ONLINE for s in sched.slots.values())
            for cid, p in planned.items():  # each camera once, on its phase (within a batching tick)
                assert len(script.starts(cid)) == 1 and p <= script.starts(cid)[0] <= p + DEFAULTS.tick_s
            script.down[1] = Cause.REFUSED
            first = sched.slots[1].planned  # its next regular probe fails
            await vt.wait_for(lambda: sched.slots[1].status.state is State.OFFLINE, 60.0)
            fail_starts = [t for t in script.starts(1) if t >= first]
            assert len(fail_starts) == 3  # the failure and its two re-probes
            gaps = [b - a for a, b in zip(fail_starts, fail_starts[1:], strict=False)]
            step = DEFAULTS.tick_s + script.took  # a probe's own time plus batching
            assert all(d <= g <= d + step for g, d in zip(gaps, (5.0, 10.0), strict=True)), gaps
            off = next(e for cid, e in events if cid == 1 and e.new is State.OFFLINE)
            assert off.cause is Cause.REFUSED
            last_ok = max(t for t in script.starts(1) if t < first)
            # dated halfway between the last success and the first failure, ± half that gap
            assert off.start == vt.at((last_ok + fail_starts[0]) / 2) and off.confirmed_at == vt.at(fail_starts[2])
            assert off.uncertainty_s == pytest.approx((fail_starts[0] - last_ok) / 2)
            # offline: re-probed every 15 s until the first success
            await vt.run_for(40.0)
            offline_starts = [t for t in script.starts(1) if t > fail_starts[2]]
            assert len(offline_starts) >= 2
            assert all(15.0 <= b - a <= 15.0 + step for a, b in zip(offline_starts, offline_starts[1:], strict=False))
            del script.down[1]
            up_at = vt.now
            await vt.wait_for(lambda: sched.slots[1].status.state is State.ONLINE, 15.0 + step)
            back = next(e for cid, e in events if cid == 1 and e.old is State.OFFLINE)
            last_fail, first_ok = [t for t in script.starts(1) if t <= vt.now][-2:]
            assert last_fail < up_at <= first_ok
            assert back.start == vt.at((last_fail + first_ok) / 2)
            assert back.uncertainty_s == pytest.approx((first_ok - last_fail) / 2)
            await vt.run_for(120.0)
            assert all(s.status.state is State.ONLINE for s in sched.slots.values())
            for cid in range(2, 7):  # the others: once per interval all along
                starts = script.starts(cid)
                assert all(60.0 - step <= b - a <= 60.0 + step for a, b in zip(starts, starts[1:], strict=False))
        finally:
            await stop(task)
        return sched

    sched = asyncio.run(go())
    assert sched.lateness.n == len(script.calls) and sched.lateness.total <= len(script.calls) * DEFAULTS.tick_s
    assert sched.last_sweep_s is not None and 0 < sched.last_sweep_s <= DEFAULTS.interval_s + DEFAULTS.tick_s


def test_due_probes_start_in_batches_one_tick_apart() -> None:
    """Probes due within one tick start together (their socket events share loop wake-ups), never early."""
    vt = VirtualTime()
    script = Script(vt)
    cfg = SchedulerConfig.from_settings(CollectorSettings(interval_s=2.0, offline_interval_s=0.5,
                                                          confirm_delays_s=[0.3, 0.3], video=False, catchup_s=0),
                                   tick_s=0.5)

    async def go() -> tuple[Scheduler, dict[int, float]]:
        sched = Scheduler(cfg, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 25)), [])  # 24 probes per interval
        planned = {cid: slot.planned for cid, slot in sched.slots.items()}
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(2.0 * 2 + 0.2)
        finally:
            await stop(task)
        return sched, planned

    sched, planned = asyncio.run(go())
    starts = [(at, cid) for at, cid, _, _ in script.calls]
    assert len(starts) >= 48  # 24 cameras, two sweeps
    first: dict[int, float] = {}
    for at, cid in starts:
        first.setdefault(cid, at)
    for cid, at in first.items():
        assert planned[cid] <= at <= planned[cid] + cfg.tick_s, (cid, at - planned[cid])
    groups = len({at for at, _ in starts})
    assert groups <= (2.0 * 2 + 0.2) / cfg.tick_s + 2, groups  # one wake-up per tick at most, not one per probe
    assert all(s.status.state is State.ONLINE for s in sched.slots.values())


def test_overload_keeps_probes_due_in_the_heap_not_as_waiting_tasks() -> None:
    """Behind schedule, at most `concurrency` probes run and nothing else piles up as tasks."""
    vt = VirtualTime()
    inflight = peak = peak_tasks = 0
    sched_ref: list[Scheduler] = []

    async def slow_ladder(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        nonlocal inflight, peak, peak_tasks
        inflight += 1
        peak = max(peak, inflight)
        peak_tasks = max(peak_tasks, len(sched_ref[0]._tasks))
        try:
            await vt.sleep(0.4)  # a slow camera network: 2 at a time cannot keep up with 24 per second
            return LadderResult("online", None, ())
        finally:
            inflight -= 1

    async def go() -> Scheduler:
        cfg = SchedulerConfig.from_settings(CollectorSettings(interval_s=1.0, offline_interval_s=0.5,
                                                              confirm_delays_s=[0.3, 0.3], video=False, concurrency=2,
                                                              catchup_s=0))
        sched = Scheduler(cfg, None, ladder_fn=slow_ladder, clock=vt.wall, timebase=vt)
        sched_ref.append(sched)
        sched.sync(fake_cameras(range(1, 25)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(3.0)
        finally:
            await stop(task)
        return sched

    sched = asyncio.run(go())
    assert peak == 2 and peak_tasks <= 2, (peak, peak_tasks)
    assert sched.lateness.n >= 8  # it kept probing, late
    assert sched.lateness.total / sched.lateness.n > 0.2  # and the lateness shows it


def test_video_tier_has_its_own_ladder_and_runs_at_once_when_a_camera_comes_back() -> None:
    """DESIGN §3: the fast tier asks ONVIF only the clock (as `camwatch run` configures it); the
    slower video tier adds GetDeviceInformation, and runs at once when a camera is back."""
    fast = ladder_options(load_settings(db_url="sqlite+aiosqlite:///:memory:", environ={}))
    video = video_ladder(fast)
    assert (fast.onvif.device_info, video.onvif.device_info, video.video) == (False, True, True)
    assert video.onvif.state is fast.onvif.state  # one per-camera memo (clock offset) for both
    vt = VirtualTime()
    script = Script(vt)
    cfg = SchedulerConfig.from_settings(CollectorSettings(video_interval_s=600.0, catchup_s=0))  # the others: defaults

    async def go() -> Scheduler:
        sched = Scheduler(cfg, None, ladder=fast, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 3)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(1200.0)
            for c in (1, 2):  # every video interval, from the camera's own phase
                starts = script.starts(c, video=True)
                assert 1 <= len(starts) <= 2 and all(b - a >= 600.0 for a, b in zip(starts, starts[1:], strict=False))
            script.down[1] = Cause.UNREACHABLE
            await vt.wait_for(lambda: sched.slots[1].status.state is State.OFFLINE, 120.0)
            del script.down[1]
            await vt.wait_for(lambda: sched.slots[1].status.state is State.ONLINE, 30.0)
            back = vt.now
            await vt.run_for(1.0)
            assert [t for t in script.starts(1, video=True) if t >= back - script.took][:1] \
                == pytest.approx([back], abs=DEFAULTS.tick_s + script.took)  # at once
            await vt.run_for(1800.0)  # and from there on one video plan, not one more per recovery
            after = [t for t in script.starts(1, video=True) if t >= back - script.took]
            assert len(after) == 4 and all(b - a >= 600.0 for a, b in zip(after, after[1:], strict=False)), after
        finally:
            await stop(task)
        return sched

    asyncio.run(go())
    assert {(v, d) for _, _, v, d in script.calls} == {(False, False), (True, True)}


def test_retired_camera_stops_being_probed_and_its_probe_in_flight_is_ignored() -> None:
    vt = VirtualTime()
    script = Script(vt, took=2.0)
    events: list[tuple[int, Changed]] = []

    async def go() -> Scheduler:
        sched = Scheduler(DEFAULTS, None, ladder_fn=script, clock=vt.wall, timebase=vt,
                          on_event=lambda cam, ev: events.append((cam.id, ev)) if isinstance(ev, Changed) else None)
        cams = fake_cameras(range(1, 4))
        sched.sync(cams, [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(60.0)
            slot = sched.slots[1]
            script.down[1] = Cause.REFUSED
            await vt.wait_for(lambda: slot.status.state is State.OFFLINE, 120.0)
            del script.down[1]
            await vt.wait_for(lambda: slot.running, 30.0)  # a re-probe that will succeed is in flight ...
            sched.sync(cams[1:], [], excluded={2})  # ... when camera 1 leaves the inventory; camera 2 is excluded
            assert slot.status.state is State.EXCLUDED and 1 not in sched.slots
            probes_of_1 = len(script.starts(1))
            await vt.run_for(300.0)
        finally:
            await stop(task)
        assert len(script.starts(1)) == probes_of_1  # none after it left
        return sched

    sched = asyncio.run(go())
    assert [(e.old, e.new) for cid, e in events if cid == 1][-2:] == [(State.ONLINE, State.OFFLINE),
                                                                       (State.OFFLINE, State.EXCLUDED)]
    # an exclusion in force: shown as excluded, still probed, its real state kept
    assert sched.slots[2].shown is State.EXCLUDED and sched.slots[2].status.state is State.ONLINE
    assert len(script.starts(2)) >= 6


def test_catch_up_probes_every_camera_within_catchup_s_spread_evenly_then_keeps_phases() -> None:
    """After a start each camera is first probed within collector.catchup_s (15 s by default),
    evenly spread (not a burst, not a whole interval later), then on its own phase."""
    vt = VirtualTime()
    script = Script(vt)
    config = SchedulerConfig.from_settings(CollectorSettings(video=False))
    assert config.catchup_s == 15.0

    async def go() -> Scheduler:
        sched = Scheduler(config, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 601)), [])
        planned = {cid: s.planned for cid, s in sched.slots.items()}
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(config.catchup_s + 1.0)
            assert all(s.status.state is State.ONLINE for s in sched.slots.values())
            firsts = sorted(script.starts(cid)[0] - vt.start for cid in planned)
            assert firsts[-1] <= config.catchup_s + config.tick_s
            # evenly: in every second of the catch-up about 600 / 15 = 40 first probes, not a burst
            per_second = [sum(1 for f in firsts if k <= f < k + 1) for k in range(15)]
            assert max(per_second) <= 2 * 40 and min(per_second) >= 40 // 2, per_second
            await vt.run_for(2 * config.interval_s)
            for cid, p in planned.items():  # then on its phase, once per interval
                later = [at for at in script.starts(cid) if at >= p - 1e-9]
                assert later and p <= later[0] <= p + config.tick_s + script.took
        finally:
            await stop(task)
        return sched

    asyncio.run(go())


# -- on the real event loop, against real sockets ------------------------------------------------

@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    with Fleet(6, workers=1) as f:
        yield f


def test_outage_detected_confirmed_and_recovered_on_the_real_loop(fleet: Fleet) -> None:
    """The loop's own clock and timers (no timebase given), the real ladder, the simulated fleet."""
    events: list[tuple[int, Changed]] = []
    slack = dt.timedelta(seconds=1.0)  # a busy 2-core box

    async def go() -> None:
        sched = Scheduler(FAST, None, ladder=LadderOptions(use_onvif=False),
                          on_event=lambda cam, ev: events.append((cam.id, ev)) if isinstance(ev, Changed) else None)
        sched.sync(cameras(fleet), [])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state is State.ONLINE for s in sched.slots.values()), 5)
            fleet.set_behaviour(0, Behaviour(power=Power.DOWN))
            down_at = dt.datetime.now(dt.UTC)
            await _wait(lambda: sched.slots[1].status.state is State.OFFLINE, 5)
            off = [e for cid, e in events if cid == 1 and e.new is State.OFFLINE][0]
            assert off.cause is Cause.REFUSED
            # dated at the midpoint after the last success (before down_at) and before the first failure
            interval = dt.timedelta(seconds=FAST.interval_s)
            assert down_at - interval - slack <= off.start <= down_at + interval + slack
            assert off.confirmed_at > off.start  # confirmed by re-probes, dated before them
            fleet.set_behaviour(0, Behaviour())
            up_at = dt.datetime.now(dt.UTC)
            await _wait(lambda: sched.slots[1].status.state is State.ONLINE, 5)
            back = [e for cid, e in events if cid == 1 and e.old is State.OFFLINE][0]
            again = dt.timedelta(seconds=FAST.policy.offline_interval_s)
            assert up_at - again - slack <= back.start <= up_at + again + slack
            assert all(s.status.state is State.ONLINE for cid, s in sched.slots.items() if cid != 1)
            assert sched.lateness.n > 6
            await _wait(lambda: sched.last_sweep_s is not None, 3 * FAST.interval_s)  # the next whole sweep
            assert sched.last_sweep_s is not None and 0 < sched.last_sweep_s < FAST.interval_s + 2
        finally:
            await stop(task)

    asyncio.run(go())


def test_fast_ladder_asks_the_fleet_for_the_clock_only(fleet: Fleet) -> None:
    fast = ladder_options(load_settings(db_url="sqlite+aiosqlite:///:memory:", environ={}))
    targets = [c.target for c in cameras(fleet)[:2]]
    fleet.reset_stats()

    async def go() -> list[LadderResult]:
        return [await run_ladder(t, fast) for t in targets + targets]

    assert all(r.state == "online" for r in asyncio.run(go()))
    stats = fleet.stats([0, 1])
    clock = sum(stats.camera(i).onvif_action("GetSystemDateAndTime") for i in (0, 1))
    identity = sum(stats.camera(i).onvif_action("GetDeviceInformation") for i in (0, 1))
    assert clock >= 4 and identity == 0, (clock, identity)


def test_upstream_down_when_parent_unreachable(loopback: LoopbackRange) -> None:
    holes = [Blackhole(f"127.{loopback.first_block}.1.{i}", 8554) for i in (1, 2, 3)]

    async def go() -> None:
        cams = [
            MonitoredCamera(i, f"cam{i}", 1, ProbeTarget(h.host, 8554, "/", None, "admin", "x", i), 100, None, Lifecycle.ACTIVE, LABELS)
            for i, h in enumerate(holes[:2], start=1)
        ]
        cfg = SchedulerConfig.from_settings(CollectorSettings(**FAST_KEYS, upstream_port=8554))
        sched = Scheduler(cfg, None, ladder=LadderOptions(use_onvif=False, reach_timeout_s=0.3))
        sched.sync(cams, [MonitoredDevice(100, "router", holes[2].host)])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state is State.OFFLINE for s in sched.slots.values()), 6)
            assert {s.status.cause for s in sched.slots.values()} == {Cause.UPSTREAM_DOWN}
            assert sched.devices[100].up is False
        finally:
            await stop(task)

    try:
        asyncio.run(go())
    finally:
        for h in holes:
            h.close()


async def _wait(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
