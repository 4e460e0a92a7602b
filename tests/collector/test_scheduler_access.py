"""接入方式 in the scheduler: a GB28181-only camera has a slot (state from signalling) but is never
probed; a change of its access in the inventory starts or stops its probes at once; a signalling
outcome applied through ``Scheduler.apply`` is one confirmed step (no re-probes)."""

from __future__ import annotations

import asyncio
import dataclasses

from collector.runtime.camera_state import Outcome, State
from collector.runtime.scheduler import Scheduler
from inventory.access import Access
from probes.causes import Cause
from tests.collector.test_scheduler import DEFAULTS, Script, fake_cameras, stop
from tests.collector.virtual_time import VirtualTime


def test_gb28181_cameras_are_not_probed_until_their_access_changes() -> None:
    vt = VirtualTime()
    script = Script(vt)

    async def go() -> None:
        sched = Scheduler(DEFAULTS, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        direct, gb = fake_cameras(range(1, 3))
        gb = dataclasses.replace(gb, gb_id="34020000001310000002", access=Access.GB28181)
        sched.sync([direct, gb], [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(180.0)
            assert len(script.starts(1)) >= 3 and script.starts(2) == []
            assert sched.slots[2].status.state is State.UNKNOWN and sched.unprobed == 1
            assert sched.last_sweep_s is not None  # sweeps complete without the unprobed camera
            # signalling: one outcome decides (the platform confirmed it), through the same state machine
            no_confirm = dataclasses.replace(sched.policy, confirm_delays_s=())
            sched.apply(sched.slots[2], Outcome(vt.wall(), True), no_confirm)
            sched.apply(sched.slots[2], Outcome(vt.wall(), False, Cause.PLATFORM_OFFLINE), no_confirm)
            assert (sched.slots[2].status.state, sched.slots[2].status.cause) == (State.OFFLINE, Cause.PLATFORM_OFFLINE)
            # the inventory makes it direct: probed from now on
            sched.sync([direct, dataclasses.replace(gb, access=Access.DIRECT)], [])
            await vt.run_for(5.0)
            assert len(script.starts(2)) >= 1 and sched.unprobed == 0
            # ... and GB28181 again: no more probes
            sched.sync([direct, gb], [])
            n = len(script.starts(2))
            await vt.run_for(300.0)
            assert len(script.starts(2)) == n
        finally:
            await stop(task)

    asyncio.run(go())
