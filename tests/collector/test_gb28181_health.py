"""/healthz's ``gb28181.registered_devices``: the devices registered and alive now, not those
whose keepalives stopped or whose registration expired. The collector (the App, as ``camwatch
run`` builds it, SQLite) with simulated devices registering to it over UDP on loopback; and the
count's pure rule."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState
from collector.gb28181.verdict import registered_now
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import SimDevice
from tests.collector.gb28181_app import gb_app
from tests.collector.test_gb28181_feed import HEAD, TIMEOUT_S, _row, _settings
from tests.inventory.helpers import do_import, migrated, write_csv

IPCS = [f"3402000000132000001{i}" for i in range(1, 4)]
PEER = Peer("udp", "10.0.0.5", 5060)
S = Gb28181Settings(keepalive_timeout_s=75.0)


@pytest.mark.parametrize(("state", "alive"), [
    (DeviceState(IPCS[0], PEER, True, 1000.0, 4600.0, 1050.0, 1050.0, "OK"), True),
    (DeviceState(IPCS[0], PEER, True, 1000.0, 4600.0, 1000.0, 1000.0, "OK"), False),  # keepalives stopped 100 s ago
    (DeviceState(IPCS[0], PEER, True, 1000.0, 1090.0, 1099.0, 1099.0, "OK"), False),  # registration expired
    (DeviceState(IPCS[0], PEER, False, 1000.0, 1050.0, 1050.0, 1050.0, "OK"), False),  # withdrawn
    (DeviceState(IPCS[0]), False),  # never registered
])
def test_registered_now(state: DeviceState, alive: bool) -> None:
    assert registered_now([state], 1100.0, S) == int(alive)
    assert registered_now([state, DeviceState(IPCS[1], PEER, True, 1000.0, 4600.0, 1090.0)], 1100.0, S) == 1 + alive


def test_healthz_counts_the_devices_alive_now(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(i, g, "国标") for i, g in enumerate(IPCS, 1)])).written

    async def go() -> None:
        async with gb_app(url, _settings(url)) as rig:
            feed = rig.feed

            async def health() -> dict[str, object]:
                async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{rig.http_port}/healthz") as r:
                    body: dict[str, object] = (await r.json())["gb28181"]
                    return body

            async def until_registered(n: int, timeout_s: float) -> None:
                end = time.monotonic() + timeout_s
                while (await health())["registered_devices"] != n:
                    assert time.monotonic() < end, f"registered_devices never {n}: {await health()}"
                    await asyncio.sleep(0.2)

            assert (await health())["registered_devices"] == 0
            sim = await rig.sim()
            for dev in IPCS:
                sim.add(SimDevice(dev, "default-Pw-1", keepalive_s=1.0))
                assert await sim.register(dev) == 200, dev
                sim.start_keepalives(dev, first_after=0.0)
            await until_registered(3, 10)
            sim.kill(IPCS[0])  # its keepalives stop (and it answers nothing)
            await until_registered(2, TIMEOUT_S + 10)
            for dev in IPCS[1:]:
                sim.kill(dev)
            await until_registered(0, TIMEOUT_S + 10)
            # all three still registered as far as their registrations go, none alive: 0, not 3
            devices = feed.platform.registry.devices()
            assert len(devices) == 3 and all(d.registered and d.expires_at > time.time() for d in devices)
            end = time.monotonic() + 5  # (the registry's verdicts follow at its next tick, every second)
            while {str(feed.platform.registry.verdict(d)) for d in IPCS} != {"platform_offline"}:
                assert time.monotonic() < end, [feed.platform.registry.verdict(d) for d in IPCS]
                await asyncio.sleep(0.1)

    asyncio.run(go())
