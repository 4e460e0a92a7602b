"""A state change heard through GB/T 28181 signalling is dated at the message that told it: the
collector (the App) runs the platform, simulated devices register over UDP (SQLite). A channel
back ON by a NOTIFY, a device registering again after it died, and a cause change (channel_off ->
platform_offline) are dated at their own instant, not halfway back to the last verdict (which
recorded every outage shorter than it was); a keepalive timeout is dated between the device's
last sign of life and its deadline (last + keepalive_timeout_s)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collector.runtime.camera_state import State
from inventory.db import create_engine
from inventory.models import Camera, StateInterval
from probes.causes import Cause
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.gb28181_app import gb_app, gb_settings
from tests.collector.test_gb28181_feed import HEAD, _row, _until
from tests.inventory.helpers import do_import, migrated, write_csv

NVR, CH1, CH2 = "34020000001180000001", "34020000001310000001", "34020000001310000002"
IPC = "34020000001320000003"  # registers as itself (no inventory password: the default one)
TIMEOUT_S = 4.0  # gb_settings' keepalive_timeout_s
SLACK_S = 0.05


def _wall(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def test_signalled_changes_are_dated_at_their_message(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, CH1, "国标"), _row(2, CH2, "国标"), _row(3, IPC, "国标")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written
    marks: dict[str, tuple[dt.datetime, dt.datetime]] = {}  # what -> (just before the message, just after it)

    async def go() -> None:
        async with gb_app(url, gb_settings(url)) as rig:
            app, reg, sim = rig.app, rig.feed.platform.registry, await rig.sim()
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1), SimChannel(CH2)], keepalive_s=1.0))
            sim.add(SimDevice(IPC, "default-Pw-1", keepalive_s=1.0))
            for dev in (NVR, IPC):
                assert await sim.register(dev) == 200, dev
                sim.start_keepalives(dev, first_after=0.0)
            ids = {c.gb_id: c.id for c in app._inventory[0]}

            def status(gb: str):  # type: ignore[no-untyped-def]
                return app.scheduler.slots[ids[gb]].status

            await _until(lambda: all(status(g).state is State.ONLINE for g in (CH1, CH2, IPC)))

            # 1. a channel OFF then ON by NOTIFY: online from the ON, not from halfway back to the OFF
            sim.set_status(NVR, CH2, "OFF", notify=True)
            await _until(lambda: status(CH2).cause is Cause.CHANNEL_OFF)
            await asyncio.sleep(2.0)
            before = time.time()
            sim.set_status(NVR, CH2, "ON", notify=True)
            await _until(lambda: status(CH2).state is State.ONLINE)
            marks["notify_on"] = (_wall(before), _wall(time.time()))
            assert status(CH2).since >= _wall(before - SLACK_S), (status(CH2).since, before)

            # 2. an IPC dies: its outage dated between its last keepalive and that + the timeout ...
            sim.kill(IPC)
            await _until(lambda: status(IPC).state is State.OFFLINE, 3 * TIMEOUT_S)
            last = reg.device(IPC).last_seen  # type: ignore[union-attr]
            assert last is not None
            assert _wall(last) <= status(IPC).since <= _wall(last + TIMEOUT_S), (status(IPC).since, last)
            marks["ipc_dead"] = (_wall(last), _wall(last + TIMEOUT_S))
            # ... and it registers again: online from its REGISTER
            await asyncio.sleep(1.5)
            sim.devices[IPC].answers = True
            before = time.time()
            assert await sim.register(IPC) == 200
            await _until(lambda: status(IPC).state is State.ONLINE)
            marks["ipc_back"] = (_wall(before), _wall(time.time()))
            assert status(IPC).since >= _wall(before - SLACK_S), (status(IPC).since, before)

            # 3. channel_off, then its NVR dies: platform_offline not before the NVR's last keepalive
            sim.set_status(NVR, CH2, "OFF", notify=True)
            await _until(lambda: status(CH2).cause is Cause.CHANNEL_OFF)
            await asyncio.sleep(1.5)  # keepalives go on meanwhile
            sim.kill(NVR)
            await _until(lambda: status(CH2).cause is Cause.PLATFORM_OFFLINE, 3 * TIMEOUT_S)
            nvr_last = reg.device(NVR).last_seen  # type: ignore[union-attr]
            assert nvr_last is not None and status(CH2).since >= _wall(nvr_last), (status(CH2).since, nvr_last)
            assert status(CH1).since >= _wall(nvr_last)
            # the NVR registers again: its cameras online from the REGISTER
            await asyncio.sleep(1.0)
            sim.devices[NVR].answers = True
            before = time.time()
            assert await sim.register(NVR) == 200
            await _until(lambda: status(CH1).state is State.ONLINE)
            marks["nvr_back"] = (_wall(before), _wall(time.time()))
            assert status(CH1).since >= _wall(before - SLACK_S), (status(CH1).since, before)
            await _until(lambda: app.writer.pending == 0, 10)

        engine = create_engine(url)
        async with AsyncSession(engine) as ses:
            by_gb = dict((await ses.execute(select(Camera.id, Camera.gb_id))).all())
            got: dict[str | None, list[tuple[str, str | None, dt.datetime, int]]] = {}
            for cid, st, cause, start, unc in (await ses.execute(select(
                    StateInterval.camera_id, StateInterval.state, StateInterval.cause, StateInterval.start,
                    StateInterval.start_uncertainty_us).order_by(StateInterval.start, StateInterval.id))).all():
                got.setdefault(by_gb[cid], []).append((st, cause, start, unc))
        await engine.dispose()
        # as written: a recovery told by a message starts at it, known exactly
        for gb, mark in ((CH2, "notify_on"), (IPC, "ipc_back"), (CH1, "nvr_back")):
            lo, hi = marks[mark]
            back = [(s, u) for st, _, s, u in got[gb] if st == "online" and lo - dt.timedelta(seconds=SLACK_S) <= s <= hi]
            assert back and all(u == 0 for _, u in back), (gb, got[gb], marks[mark])
        # the timeout: within (last keepalive, last + timeout), ± half the timeout
        lo, hi = marks["ipc_dead"]
        dead = [(s, u) for st, c, s, u in got[IPC] if c == "platform_offline"]
        assert dead and lo <= dead[0][0] <= hi and 0 < dead[0][1] <= TIMEOUT_S / 2 * 1e6 + 1, (dead, lo, hi)

    asyncio.run(go())
