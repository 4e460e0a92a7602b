"""Why a device is refused, as the integrator reads it in camwatch's log: the platform on loopback
against the project's simulated devices with the settings people get wrong (an ID of the wrong
length, the device's own domain as Digest realm, a SIP user name that is not the ID, no password
configured), a flood of wrong passwords from one address (its neighbours blocked: said so), a
device registered again from another address, a catalog in broken XML or bytes of no encoding.
Each reason is logged once, names the device ID and what to change, and never a password."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from collector.gb28181.refusals import Told, auth_problem, declared_encoding, shown
from probes.gb28181.sip import SipRequest
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.test_gb28181_platform import CHANNELS, NVR, PASSWORD, Rig, make_rig

SECRETS = (PASSWORD, "guess-", "response=", "nonce=", "username=")


@pytest.fixture
async def rig(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Rig]:
    caplog.set_level(logging.INFO, logger="camwatch.gb28181")
    r = await make_rig()
    yield r
    await r.sim.close()
    await r.platform.close()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _no_secret(caplog: pytest.LogCaptureFixture) -> None:
    for secret in SECRETS:
        assert secret not in caplog.text, secret


async def test_an_id_of_the_wrong_length_is_named(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    short = NVR[:-1]  # 19 digits, as typed into a device's page by hand
    rig.sim.add(SimDevice(short, PASSWORD))
    for _ in range(3):
        assert await rig.sim.register(short) == 400
    [line] = _warnings(caplog)  # once, not once per try
    assert f"device ID '{short}'" in line and "not 20 digits" in line and "127.0.0.1" in line
    _no_secret(caplog)


async def test_a_wrong_realm_or_user_name_is_named(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.sim.add(SimDevice(NVR, PASSWORD, realm="4401000000"))  # the device answers with its own domain
    rig.sim.add(SimDevice(CHANNELS[0], PASSWORD, sip_user="admin"))
    for dev in (NVR, CHANNELS[0], NVR, CHANNELS[0]):
        assert await rig.sim.register(dev) == 401  # challenged again (not 403: not a guessed password)
    lines = _warnings(caplog)
    assert len(lines) == 2, lines
    assert NVR in lines[0] and "realm '4401000000' is not camwatch's SIP domain '3402000000'" in lines[0]
    assert CHANNELS[0] in lines[1] and "SIP user name 'admin' is not its device ID" in lines[1]
    assert rig.platform.stats.auth_failures == 0  # a wrong setting is not a guessed password
    _no_secret(caplog)


async def test_no_password_configured_is_not_called_a_wrong_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="camwatch.gb28181")
    r = await make_rig(password=None)
    try:
        r.sim.add(SimDevice(NVR, PASSWORD))
        for _ in range(6):  # more than auth_failures (3): the address is not blocked for it
            assert await r.sim.register(NVR) == 403
        assert r.platform.stats.auth_failures == 0 and r.platform.stats.throttled == 0
        [line] = _warnings(caplog)
        assert NVR in line and "no password to check it against" in line and "gb28181.password" in line
        assert "wrong password" not in caplog.text
    finally:
        await r.sim.close()
        await r.platform.close()


async def test_a_blocked_address_says_so_and_names_the_devices_refused(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.sim.add(SimDevice(NVR, "guess-1"))
    rig.sim.add(SimDevice(CHANNELS[0], PASSWORD))  # a good device behind the same (NAT) address
    assert await rig.sim.register(CHANNELS[0]) == 200
    for _ in range(3 + 20):  # auth_failures of the rig, then a flood
        assert await rig.sim.register(NVR) == 403
    for _ in range(3):  # the good one renews its registration: refused too
        assert await rig.sim.register(CHANNELS[0]) == 403
    for n in range(20):  # made-up IDs from the blocked address: one line for them all
        assert await rig.sim.register(rig.sim.add(SimDevice(f"340200000013200{n:05d}", PASSWORD)).device_id) == 403
    lines = _warnings(caplog)
    wrong = [x for x in lines if x.startswith("gb28181: wrong password for")]
    assert len(wrong) == 3 and "checked against gb28181.password" in wrong[0]
    assert sum("127.0.0.1 blocked for" in x and "after 3 wrong passwords" in x for x in lines) == 1
    refused = [x for x in lines if "refused (403): the address is blocked" in x]
    assert len(refused) == 2, refused  # the first refused, and the good one the platform knows
    assert NVR in refused[0] and CHANNELS[0] in refused[1] and "every device behind it" in refused[1]
    _no_secret(caplog)


async def test_a_device_registered_again_from_another_address_is_told(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.sim.add(SimDevice(NVR, PASSWORD))
    assert await rig.sim.register(NVR) == 200
    twin = GbSim(rig.platform.addresses["udp"], domain=rig.settings.domain, server_id=rig.settings.server_id,
                 local_host="127.0.0.2")
    await twin.start()
    try:
        twin.add(SimDevice(NVR, PASSWORD))
        assert await twin.register(NVR) == 200
        assert await rig.sim.keepalive(NVR) == 403  # the first one, now refused
        assert await rig.sim.keepalive(NVR) == 403
    finally:
        await twin.close()
    lines = _warnings(caplog)
    assert len(lines) == 2, lines
    assert NVR in lines[0] and "from udp 127.0.0.2" in lines[0] and "while registered from 127.0.0.1" in lines[0]
    assert "same ID" in lines[0]
    assert "from 127.0.0.1 refused (403): the device is registered from 127.0.0.2" in lines[1]


async def test_an_unreadable_catalog_names_its_device_and_fault(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    dev = rig.sim.add(SimDevice(NVR, PASSWORD, [SimChannel(CHANNELS[0])]))
    assert await rig.sim.register(NVR) == 200
    broken = ('<?xml version="1.0" encoding="GB2312"?>\r\n<Response><CmdType>Catalog</CmdType><SN>7</SN>'
              f'<DeviceID>{NVR}</DeviceID><SumNum>1</SumNum><DeviceList Num="1"><Item><DeviceID>{CHANNELS[0]}'
              '</DeviceID><Name>村口 & 路口</Name><Status>OFF</Status></Item></DeviceList></Response>').encode("gbk")
    bad_bytes = b'<?xml version="1.0" encoding="ISO-2022-CN"?>\r\n<Response>\x1b$A</Response>'
    for body in (broken, bad_bytes, broken):
        req: SipRequest = rig.sim._request(dev, "MESSAGE", body)
        assert (await rig.sim._transact(dev, req)).status == 400
    lines = [x for x in _warnings(caplog) if NVR in x]
    assert len(lines) == 1, lines  # once per device a while, however often it sends
    assert "MESSAGE body was refused (400)" in lines[0] and "malformed XML" in lines[0]
    assert await rig.sim.keepalive(NVR) == 200  # still registered, still served


def test_the_words_pieces() -> None:
    assert shown("a\r\nb" + "9" * 50) == repr("a??b" + "9" * 36 + "...")
    told = Told(10.0, max_keys=2)
    assert told.due(("a",), 0) and not told.due(("a",), 5) and told.due(("a",), 10)
    assert told.due(("b",), 0) and told.due(("c",), 0) and told.due(("a",), 11)  # bounded: "a" forgotten
    assert declared_encoding(b'<?xml version="1.0" encoding="GBK"?><a/>') == " (declared encoding 'GBK')"
    assert declared_encoding(b"<a/>") == ""
    value = 'Digest username="{u}", realm="{r}", nonce="n", uri="sip:x", response="0", algorithm={a}'
    assert auth_problem(value.format(u=NVR, r="3402000000", a="MD5"), realm="3402000000", device_id=NVR) is None
    assert "SHA-256" in (auth_problem(value.format(u=NVR, r="3402000000", a="SHA-256"), realm="3402000000",
                                      device_id=NVR) or "")
    assert auth_problem("Basic eA==", realm="3402000000", device_id=NVR) == "its Authorization is not a Digest answer"
