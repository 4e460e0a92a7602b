"""A sweep (every camera probed once in an interval) completes while a camera is offline.

An offline camera is re-probed every 15 s; a re-probe of an unreachable camera lasts as long as
its timeouts, so it often runs across the camera's regular slot and stands for it. The sweep
then still completes: ``last_sweep_s`` and the INFO sweep line keep coming once per interval.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from collector.runtime.scheduler import Scheduler
from probes.base import Cause, ProbeTarget
from probes.ladder import LadderOptions, LadderResult
from tests.collector.test_scheduler import DEFAULTS, Script, fake_cameras, stop
from tests.collector.virtual_time import VirtualTime


class SlowWhenDown(Script):
    """A down camera's probe lasts ``down_took`` (its timeouts); the others ``took``."""

    def __init__(self, vt: VirtualTime, down_took: float) -> None:
        super().__init__(vt)
        self.down_took = down_took

    async def __call__(self, target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        cid = target.camera_id or 0
        if cid not in self.down:
            return await super().__call__(target, opts)
        self.calls.append((self.vt.now, cid, opts.video, False))
        await self.vt.sleep(self.down_took)
        return LadderResult("offline", self.down[cid], ())


@pytest.mark.parametrize("down_took", [0.01, 4.0, 12.0])
def test_sweeps_complete_every_interval_while_a_camera_is_offline(
        down_took: float, caplog: pytest.LogCaptureFixture) -> None:
    vt = VirtualTime()
    script = SlowWhenDown(vt, down_took)
    caplog.set_level(logging.INFO, logger="camwatch.scheduler")

    async def go() -> list[float]:
        sched = Scheduler(DEFAULTS, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 7)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        seen: list[float] = []
        try:
            await vt.run_for(60.0)
            script.down[1] = Cause.UNREACHABLE
            for _ in range(10 * 60):  # ten intervals, sampled every second
                before = sched.last_sweep_s
                await vt.run_for(1.0)
                if sched.last_sweep_s is not None and sched.last_sweep_s is not before:
                    seen.append(vt.now)
        finally:
            await stop(task)
        return seen

    completed = asyncio.run(go())
    # about one completed sweep per interval, none missing for long
    assert len(completed) >= 8, completed
    assert all(b - a <= 2 * DEFAULTS.interval_s for a, b in zip(completed, completed[1:], strict=False)), completed
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep:")]
    assert len(lines) >= 9 and any("1 offline" in line for line in lines[-3:]), lines[-3:]


def test_no_sweep_of_cameras_let_go_of(caplog: pytest.LogCaptureFixture) -> None:
    """A replica fenced (its shards lost) drops every slot while probes are in flight: their ends make
    no sweep of nothing (it logged an empty "sweep: 0 online ..." line for each, hundreds after a pause)."""
    vt = VirtualTime()
    script = SlowWhenDown(vt, 5.0)
    caplog.set_level(logging.INFO, logger="camwatch.scheduler")

    async def go() -> tuple[float | None, float | None]:
        sched = Scheduler(DEFAULTS, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 41)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(2 * DEFAULTS.interval_s)
            script.down.update({cid: Cause.TIMEOUT for cid in range(1, 41)})  # every probe now lasts 5 s
            await vt.run_for(DEFAULTS.interval_s)
            before = sched.last_sweep_s
            caplog.clear()
            for cid in list(sched.slots):  # (what ShardCameras._stop_probing does when fenced)
                sched.slots.pop(cid).seq += 1
            await vt.run_for(3 * DEFAULTS.interval_s)
            return before, sched.last_sweep_s
        finally:
            await stop(task)

    before, after = asyncio.run(go())
    assert after == before
    assert not [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep:")]
