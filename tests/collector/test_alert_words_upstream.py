"""Which side failed: the scheduler checks a failing camera's parent device (DeviceSlot.up) and
its state change now carries the answer (``Changed.upstream_up``), so the alerts need not call
"疑似上联中断" for cameras that hang behind a router that answers (the alert side:
test_alert_words_messages)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from collector.cli.demo_county import Blackhole
from collector.runtime.camera_state import Changed, Outcome, Policy, State, Status, step
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings
from inventory.models import Lifecycle
from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.base import Cause, ProbeTarget
from probes.ladder import LadderOptions, LadderResult
from probes.sim.loopback import LoopbackRange
from tests.collector.test_scheduler import FAST_KEYS, LABELS, _wait, stop

T0 = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
POLICY = Policy(confirm_delays_s=(5.0,), offline_interval_s=15.0, flap_changes=4, flap_window_s=1800.0, midpoint=True)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


@pytest.mark.parametrize("up", [True, False, None])
def test_the_change_to_offline_carries_the_confirming_probes_parent_answer(up: bool | None) -> None:
    s = Status(State.ONLINE, None, t(-60))
    s, ev = step(s, Outcome(t(0), False, Cause.TIMEOUT, upstream_up=not up if up is not None else None), POLICY)
    assert ev == []
    s, ev = step(s, Outcome(t(5), False, Cause.TIMEOUT, upstream_up=up), POLICY)
    assert [e.upstream_up for e in ev if isinstance(e, Changed)] == [up]
    s, ev = step(s, Outcome(t(20), False, Cause.UNREACHABLE, upstream_up=up), POLICY)  # a new cause while offline
    assert [(e.cause, e.upstream_up) for e in ev if isinstance(e, Changed)] == [(Cause.UNREACHABLE, up)]


async def hang(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
    """Every camera connects but never answers RTSP (the tester's "hang")."""
    await asyncio.sleep(0.01)
    return LadderResult("offline", Cause.TIMEOUT, ())


def test_scheduler_tells_whether_the_parent_answered(loopback: LoopbackRange) -> None:
    """Cameras 1, 2 behind router 100, which answers (its port refuses: the host is there); camera
    3 behind router 200, which does not (a black hole)."""
    port = 18554
    dead = Blackhole(f"127.{loopback.first_block + 1}.0.2", port)
    alive = f"127.{loopback.first_block + 1}.0.1"  # nothing listens: refused, i.e. it answered
    events: list[tuple[int, Changed]] = []

    async def go() -> None:
        cams = [MonitoredCamera(i, f"cam{i}", 1, ProbeTarget(f"127.{loopback.first_block}.0.{i}", 8554, "/", None, "a", "x", i),
                                parent, None, Lifecycle.ACTIVE, LABELS) for i, parent in ((1, 100), (2, 100), (3, 200))]
        cfg = SchedulerConfig.from_settings(CollectorSettings(**FAST_KEYS, upstream_port=port))
        sched = Scheduler(cfg, None, ladder=LadderOptions(use_onvif=False, reach_timeout_s=0.3), ladder_fn=hang,
                          on_event=lambda cam, ev: events.append((cam.id, ev)) if isinstance(ev, Changed) else None)
        sched.sync(cams, [MonitoredDevice(100, "东关村-4G路由器", alive), MonitoredDevice(200, "西庄村-4G路由器", dead.host)])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state is State.OFFLINE for s in sched.slots.values()), 6)
            assert (sched.devices[100].up, sched.devices[200].up) == (True, False)
        finally:
            await stop(task)

    try:
        asyncio.run(go())
    finally:
        dead.close()
    off = {cid: (e.cause, e.upstream_up) for cid, e in events if e.new is State.OFFLINE}
    assert off == {1: (Cause.TIMEOUT, True), 2: (Cause.TIMEOUT, True), 3: (Cause.UPSTREAM_DOWN, False)}
