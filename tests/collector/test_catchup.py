"""The start's catch-up (collector.catchup_s, collector.catchup_rate): every new camera probed once
soon after a start, spread evenly, and never faster than the rate the machine and the network are
asked for; the workers share the rate. Virtual time, the scheduler's own ladder stand-in (no
network: what is tested is when probes start)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig, catchup_step
from collector.runtime.workers import worker_hello
from collector.settings import CollectorSettings, Settings
from tests.collector.test_scheduler import Script, fake_cameras, stop
from tests.collector.virtual_time import VirtualTime

BASE = SchedulerConfig.from_settings(CollectorSettings(video=False))


@pytest.mark.parametrize(("catchup_s", "rate", "interval_s", "new", "spread"), [
    (15.0, 2000.0, 60.0, 600, 15.0),  # a county: catchup_s governs
    (15.0, 2000.0, 60.0, 30_000, 15.0),  # exactly the rate
    (15.0, 2000.0, 60.0, 40_000, 20.0),  # above the rate: longer
    (15.0, 2000.0, 60.0, 100_000, 50.0),  # 2,000 a second
    (15.0, 2000.0, 60.0, 200_000, 60.0),  # never over the interval (then: the phases, the steady rate)
    (15.0, 100.0, 60.0, 30_000, 60.0),
    (15.0, 1000.0, 20.0, 600, 10.0),  # catchup_s itself capped at half the interval
    (0.0, 2000.0, 60.0, 100_000, 0.0),  # 0: no catch-up at all
    (15.0, 2000.0, 60.0, 0, 0.0),  # nothing new
])
def test_catchup_step_spreads_by_time_and_rate(catchup_s: float, rate: float, interval_s: float, new: int,
                                              spread: float) -> None:
    config = replace(BASE, catchup_s=catchup_s, catchup_rate=rate, interval_s=interval_s)
    assert catchup_step(config, new) * new == pytest.approx(spread)


def test_settings_default_rate_and_the_workers_share_it() -> None:
    s = Settings(collector={"catchup_rate": 3000})
    assert CollectorSettings().catchup_rate == 2000.0
    assert [worker_hello(s, i, 3).config.catchup_rate for i in range(3)] == [1000.0] * 3
    assert worker_hello(s, 0, 1).config.catchup_rate == 3000.0


def test_a_fleet_above_the_rate_is_caught_up_at_the_rate_not_in_a_burst() -> None:
    """600 cameras at 20 a second: their first probes over 30 s (not the 15 s of catchup_s), about
    20 in every second."""
    vt = VirtualTime()
    script = Script(vt)
    config = replace(BASE, catchup_rate=20.0)

    async def go() -> None:
        sched = Scheduler(config, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.sync(fake_cameras(range(1, 601)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(31.0)
            firsts = sorted(script.starts(cid)[0] - vt.start for cid in sched.slots)
            assert len(firsts) == 600 and firsts[-1] <= 30.0 + config.tick_s
            per_second = [sum(1 for f in firsts if k <= f < k + 1) for k in range(30)]
            # each second ~20 catch-up probes and the ~10 cameras whose phase came first (600 / 60 s):
            # at catchup_s's 15 s it would be 40 + 10 a second, all 600 first probes in 15 s
            assert max(per_second) <= 36, per_second
            assert sum(per_second[:15]) <= 420 and firsts[-1] > 25.0, (per_second, firsts[-1])
        finally:
            await stop(task)

    asyncio.run(go())
