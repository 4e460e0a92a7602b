"""A device already dead when ``camwatch run`` stops is not taken for alive at the next start: the
collector (the App) runs the platform on a fixed port, simulated devices register over UDP, one
falls silent and goes platform_offline, camwatch stops and starts again (SQLite). Its camera
stays offline with the same cause from the start (no online interval, no recovery), while the
live device's cameras are online at once; when the dead one speaks again it is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.persist import RegistrationStore
from collector.gb28181.registry import Registry
from collector.gb28181.state import DeviceState
from collector.gb28181.verdict import device_verdict
from collector.runtime.app import App
from collector.runtime.camera_state import State
from inventory.db import create_engine
from inventory.models import Camera, StateInterval
from inventory.secrets import SecretBox
from probes.causes import Cause
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.test_gb28181_feed import HEAD, _row, _until
from tests.collector.test_gb28181_restart import TIMEOUT_S, _free_port, _settings
from tests.inventory.helpers import KEY, do_import, migrated, write_csv

NVR, CH1 = "34020000001180000001", "34020000001310000001"
DEAD = "34020000001320000006"  # silent before the stop


def test_a_device_dead_at_the_stop_stays_offline_after_a_restart(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, CH1, "国标"), _row(6, DEAD, "国标")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written
    port = _free_port()
    seen: set[tuple[State, Cause | None]] = set()

    async def go() -> None:
        engine = create_engine(url)
        app = App(_settings(url, port), engine, SecretBox(KEY))
        await app.start()
        s = app.settings.gb28181
        sim = GbSim(("127.0.0.1", port), domain=s.domain, server_id=s.server_id)
        await sim.start()
        try:
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1)], keepalive_s=1.0))
            sim.add(SimDevice(DEAD, "default-Pw-1", keepalive_s=1.0))
            for dev in (NVR, DEAD):
                assert await sim.register(dev) == 200, dev
                sim.start_keepalives(dev, first_after=0.0)
            ids = {c.gb_id: c.id for c in app._inventory[0]}

            def state(a: App, gb: str) -> tuple[State, Cause | None]:
                st = a.scheduler.slots[ids[gb]].status
                return st.state, st.cause

            await _until(lambda: all(state(app, g)[0] is State.ONLINE for g in (CH1, DEAD)))
            sim.kill(DEAD)
            await _until(lambda: state(app, DEAD) == (State.OFFLINE, Cause.PLATFORM_OFFLINE), 4 * TIMEOUT_S)
            await asyncio.sleep(0.5)
            await app.stop()

            # a short downtime (shorter than the keepalive timeout): the dead one is still dead
            await asyncio.sleep(0.3)
            sim.devices[NVR].keepalive_replies.clear()
            app2 = App(_settings(url, port), engine, SecretBox(KEY))
            await app2.start()
            started = time.monotonic()
            try:
                assert state(app2, CH1) == (State.ONLINE, None)  # alive at the stop: online at once, as before
                while time.monotonic() - started < TIMEOUT_S + 1.5:
                    seen.add(state(app2, DEAD))
                    assert state(app2, CH1) == (State.ONLINE, None)
                    await asyncio.sleep(0.05)
                assert seen == {(State.OFFLINE, Cause.PLATFORM_OFFLINE)}, seen
                reg = app2.gb28181.platform.registry  # type: ignore[union-attr]
                assert reg.device(DEAD).restored_at is None  # type: ignore[union-attr]
                # it speaks again (its registration still in force): back online at once
                sim.devices[DEAD].answers = True
                assert await sim.keepalive(DEAD) == 200
                await _until(lambda: state(app2, DEAD) == (State.ONLINE, None), 5)
                await _until(lambda: app2.writer.pending == 0, 10)
            finally:
                await app2.stop()
        finally:
            await sim.close()

        async with AsyncSession(engine) as ses:
            cid = (await ses.execute(select(Camera.id).where(Camera.gb_id == DEAD))).scalar_one()
            got = [(st, cause) for st, cause in (await ses.execute(
                select(StateInterval.state, StateInterval.cause).where(StateInterval.camera_id == cid)
                .order_by(StateInterval.start, StateInterval.id))).all()]
        await engine.dispose()
        # online, platform_offline, (unknown while camwatch was down), platform_offline, online when it spoke
        known = [g for g in got if g[0] != "unknown"]
        assert known == [("online", None), ("offline", "platform_offline"), ("offline", "platform_offline"),
                         ("online", None)], got

    asyncio.run(go())


def test_the_store_marks_the_devices_dead_at_the_stop(tmp_path: Path) -> None:
    """The rows of the devices silent at a clean stop carry the stop as ``updated_at`` (read back as
    ``kept_at``); a device restored from such a row stays offline, one alive at the stop is online."""
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    s = Gb28181Settings(keepalive_timeout_s=70.0)
    peer = Peer("udp", "10.0.0.1", 5060)

    async def go() -> None:
        engine = create_engine(url)
        store = RegistrationStore(engine)
        stop = 10_000.0
        alive = DeviceState(NVR, peer, True, 5000.0, stop + 3600, stop - 10, stop - 10, "OK")
        dead = DeviceState(DEAD, peer, True, 5000.0, stop + 3600, stop - 300, stop - 300, "OK")
        await store.write([alive, dead], [], [], (), stop - 5)
        await store.stopped([DEAD], stop)
        states = {st.device_id: st for st in await store.load()}
        assert states[DEAD].kept_at == stop and states[NVR].kept_at == stop - 5
        reg = Registry(s)
        start = stop + 30.0  # a downtime shorter than the timeout
        reg.restore(states.values(), start)
        assert device_verdict(reg.device(NVR), start, s).value == "online"
        assert device_verdict(reg.device(DEAD), start, s).value == "platform_offline"
        await engine.dispose()

    asyncio.run(go())
