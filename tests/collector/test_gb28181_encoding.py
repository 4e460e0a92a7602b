"""Catalog names over SIP in the encodings devices really send (UTF-8 under the standard's GB2312
declaration, GBK, GB18030): the platform on loopback against the project's simulated devices
keeps each channel's name as written (what `import-catalog` puts in the inventory), and a body
valid in no encoding is refused with a reason naming the device."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from probes.gb28181.sip import SipRequest
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.test_gb28181_platform import NVR, PASSWORD, Rig, make_rig, until

NAMES = ["村口、路口", "1号杆—南", "二期Ⅱ", "张·李", "“东门”", "①号"]
CHANNELS = [f"3402000000131000000{i}" for i in range(1, len(NAMES) + 1)]


@pytest.fixture
async def rig(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Rig]:
    caplog.set_level(logging.INFO, logger="camwatch.gb28181")
    r = await make_rig()
    yield r
    await r.sim.close()
    await r.platform.close()


@pytest.mark.parametrize(("encoding", "declared"), [("UTF-8", "GB2312"), ("GBK", "GB2312"), ("GB18030", None)])
async def test_catalog_names_arrive_as_written(rig: Rig, encoding: str, declared: str | None) -> None:
    chans = [SimChannel(c, name=n, address=f"{n}旁") for c, n in zip(CHANNELS, NAMES, strict=True)]
    rig.sim.add(SimDevice(NVR, PASSWORD, chans, encoding=encoding, declared=declared))
    assert await rig.sim.register(NVR) == 200
    reg = rig.platform.registry
    await until(lambda: (d := reg.device(NVR)) is not None and d.catalog_at is not None)
    state = reg.device(NVR)
    assert state is not None
    assert {c.channel_id: (c.name, c.address) for c in state.channels.values()} == {
        c: (n, f"{n}旁") for c, n in zip(CHANNELS, NAMES, strict=True)}
    assert rig.platform.stats.malformed == 0


async def test_bytes_of_no_encoding_are_refused_naming_the_device(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    dev = rig.sim.add(SimDevice(NVR, PASSWORD, [SimChannel(CHANNELS[0])]))
    assert await rig.sim.register(NVR) == 200
    body = ('<?xml version="1.0" encoding="GB2312"?>\r\n<Response><CmdType>Catalog</CmdType><SN>7</SN>'
            f'<DeviceID>{NVR}</DeviceID><SumNum>1</SumNum><DeviceList Num="1"><Item><DeviceID>{CHANNELS[0]}'
            '</DeviceID><Name>村口').encode("gb18030") + b"\xff\xfe</Name></Item></DeviceList></Response>"
    req: SipRequest = rig.sim._request(dev, "MESSAGE", body)
    assert (await rig.sim._transact(dev, req)).status == 400
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and NVR in r.getMessage()]
    assert len(lines) == 1, lines
    assert "MESSAGE body was refused (400)" in lines[0] and "neither UTF-8" in lines[0] and "nor GB18030" in lines[0]
    assert "(declared encoding 'GB2312')" in lines[0]
    reg = rig.platform.registry  # (its catalog answered at registration is kept, not the refused one)
    await until(lambda: (d := reg.device(NVR)) is not None and d.catalog_at is not None)
    device = reg.device(NVR)
    assert device is not None and [c.name for c in device.channels.values()] == ["通道"]
