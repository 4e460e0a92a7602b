"""A device that restarts and registers again while its registration is still in force (an NVR
rebooting in less than ``keepalive_timeout_s``) is asked its catalog again at once, and
subscribed again: its new channel list is known within seconds, not after ``catalog_interval_s``.
A routine refresh (same Call-ID, higher CSeq) is not. The platform against the project's device
simulator over real UDP and TCP on loopback, and end to end through the collector (the App as
``camwatch run`` builds it): the inventory cameras of the NVR's channels follow."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from collector.gb28181.counters import Query
from collector.gb28181.registrations import BootCycles, Registration
from collector.gb28181.state import GbVerdict
from collector.gb28181.subscribe import SubState
from collector.runtime.camera_state import State
from probes.causes import Cause
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.gb28181_app import gb_app, gb_settings
from tests.collector.test_gb28181_feed import HEAD, TOKEN, _row, _until
from tests.collector.test_gb28181_platform import PASSWORD, make_rig, until
from tests.inventory.helpers import do_import, migrated, write_csv

NVR = "34020000001180000001"
C1, C2, C3 = (f"3402000000131000000{i}" for i in (1, 2, 3))


def test_boot_cycles_tell_a_restart_from_a_refresh() -> None:
    b = BootCycles(max_devices=2)
    assert b.accepted(NVR, "a@x", 2, in_force=False) is Registration.NEW
    assert b.accepted(NVR, "a@x", 4, in_force=True) is Registration.REFRESH  # same Call-ID, higher CSeq
    assert b.accepted(NVR, "a@x", 6, in_force=True) is Registration.REFRESH
    assert b.accepted(NVR, "b@x", 2, in_force=True) is Registration.RESTART  # a new Call-ID
    assert b.accepted(NVR, "b@x", 1, in_force=True) is Registration.RESTART  # its CSeq back: it started again
    assert b.accepted(NVR, "b@x", 1, in_force=True) is Registration.RESTART  # not higher: not a refresh
    assert b.accepted(NVR, "c@x", 9, in_force=False) is Registration.NEW  # none in force: new, whatever the Call-ID
    b.accepted(C1, "d@x", 1, in_force=False)
    b.accepted(C2, "e@x", 1, in_force=False)  # NVR forgotten (the oldest, over max_devices)
    assert b.accepted(NVR, "z@x", 1, in_force=True) is Registration.REFRESH  # its last Call-ID unknown: not told
    b.forget(NVR)
    assert b.accepted(NVR, "y@x", 1, in_force=True) is Registration.REFRESH


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_restarted_nvr_is_asked_its_catalog_at_once(transport: str) -> None:
    rig = await make_rig(keepalive_interval_s=1.0, keepalive_timeout_s=4.0, catalog_interval_s=600.0)
    try:
        sim, platform = rig.sim, rig.platform
        reg = platform.registry
        dev = sim.add(SimDevice(NVR, PASSWORD, [SimChannel(C1), SimChannel(C2)], transport=transport, keepalive_s=0.5))
        assert await sim.register(NVR) == 200
        sim.start_keepalives(NVR, first_after=0.0)

        def channels() -> set[str]:
            d = reg.device(NVR)
            return set() if d is None else set(d.channels)

        def subscribed() -> bool:
            sub = platform.subscriptions.get(NVR)
            return sub is not None and sub.state is SubState.ACTIVE

        await until(lambda: channels() == {C1, C2} and subscribed())
        first_sub = platform.subscriptions.get(NVR)
        assert first_sub is not None and dev.subscription is not None
        assert dev.queries["Catalog"] == 1 and dev.queries["SUBSCRIBE"] == 1

        # a routine refresh: same Call-ID, higher CSeq; nothing asked again
        call_id = dev.call_id
        assert await sim.register(NVR) == 200 and dev.call_id == call_id
        await asyncio.sleep(0.5)
        assert dev.queries["Catalog"] == 1 and dev.queries["DeviceInfo"] == 1 and dev.queries["SUBSCRIBE"] == 1
        assert platform.stats.by_kind[Registration.REFRESH] == 1

        # the NVR reboots with another channel list and registers again well within the keepalive timeout
        sim.restart(NVR, channels=[SimChannel(C2), SimChannel(C3, status="OFF")])
        assert dev.subscription is None and dev.call_id == ""
        restarted = time.monotonic()
        assert await sim.register(NVR) == 200 and dev.call_id != call_id
        sim.start_keepalives(NVR, first_after=0.0)
        await until(lambda: channels() == {C2, C3} and subscribed(), timeout=5.0)
        took = time.monotonic() - restarted
        assert took < 3.0, took  # not catalog_interval_s (600 s) later
        assert dev.queries["Catalog"] == 2 and dev.queries["DeviceInfo"] == 2
        sub = platform.subscriptions.get(NVR)
        assert sub is not None and dev.subscription is not None and sub.call_id == dev.subscription.call_id
        assert sub.call_id != first_sub.call_id  # a new dialog: the device forgot the old one
        assert rig.channel_verdicts(C1)[-1] is GbVerdict.NOT_REGISTERED  # dropped from the new catalog
        assert rig.channel_verdicts(C3) == [GbVerdict.CHANNEL_OFF]
        assert rig.channel_verdicts(C2) == [GbVerdict.ONLINE]  # never offline through the reboot
        assert rig.device_verdicts(NVR) == [GbVerdict.ONLINE]
        assert platform.stats.by_kind[Registration.RESTART] == 1 and platform.stats.by_kind[Registration.NEW] == 1

        # a device that keeps its Call-ID across reboots (made from its ID) but starts its CSeq again
        assert await sim.register(NVR) == 200 and dev.register_cseq == 4  # (a refresh first: CSeq 3, 4)
        kept = dev.call_id
        sim.restart(NVR, channels=[SimChannel(C1)])
        dev.call_id = kept
        assert await sim.register(NVR) == 200 and dev.call_id == kept and dev.register_cseq == 2
        await until(lambda: channels() == {C1}, timeout=5.0)
        assert platform.stats.by_kind[Registration.RESTART] == 2 and platform.stats.by_kind[Registration.REFRESH] == 2
        assert platform.stats.by_query[Query.CATALOG] == 3 and dev.queries["Catalog"] == 3
    finally:
        await rig.sim.close()
        await rig.platform.close()


def test_the_cameras_of_a_restarted_nvr_follow_its_new_channels(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(i, g, "国标") for i, g in enumerate((C1, C2, C3), 1)])).written

    async def go() -> None:
        async with gb_app(url, gb_settings(url, GB28181__STATUS_GRACE_S="0.5", GB28181__CATALOG_INTERVAL_S="600")) as rig:
            app, sim = rig.app, await rig.sim()
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(C1), SimChannel(C2)], keepalive_s=1.0))
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            ids = {c.gb_id: c.id for c in app._inventory[0]}

            def state(gb: str) -> tuple[State, Cause | None]:
                st = app.scheduler.slots[ids[gb]].status
                return st.state, st.cause

            async def api_channels() -> set[str]:
                async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http, \
                        http.get(f"http://127.0.0.1:{rig.http_port}/api/v1/gb28181/devices") as r:
                    assert r.status == 200
                    page = await r.json()
                return {ch["channel_id"] for d in page["devices"] if d["device_id"] == NVR for ch in d["channels"]}

            await _until(lambda: state(C1)[0] is State.ONLINE and state(C2)[0] is State.ONLINE, 15)
            assert state(C3)[0] is not State.ONLINE and await api_channels() == {C1, C2}

            sim.restart(NVR, channels=[SimChannel(C2), SimChannel(C3)])
            restarted = time.monotonic()
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            seen_c2: set[State] = set()
            while not (state(C3) == (State.ONLINE, None) and state(C1) == (State.OFFLINE, Cause.NOT_REGISTERED)):
                assert time.monotonic() - restarted < 5.0, (state(C1), state(C3))  # seconds, not catalog_interval_s
                seen_c2.add(state(C2)[0])
                await asyncio.sleep(0.05)
            assert seen_c2 <= {State.ONLINE}  # the channel kept through the reboot never went down
            assert await api_channels() == {C2, C3}

    asyncio.run(go())
