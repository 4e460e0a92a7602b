"""The GB/T 28181 access platform against the project's device simulator, on real UDP and TCP
sockets on loopback: registration, keepalives, catalogs, dead devices, expiry, wrong
passwords, unlisted devices, malformed input, and no credential in the logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.platform import Platform
from collector.gb28181.state import ChannelEvent, DeviceEvent, GbEvent, GbVerdict
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice

NVR = "34020000001180000001"
IPC = "34020000001320000002"
CHANNELS = [f"3402000000131000000{i}" for i in range(1, 6)]
PASSWORD = "Village#2024"


async def until(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@dataclass
class Rig:
    platform: Platform
    sim: GbSim
    settings: Gb28181Settings
    events: list[GbEvent] = field(default_factory=list)

    def device_verdicts(self, device_id: str) -> list[GbVerdict]:
        return [e.verdict for e in self.events if isinstance(e, DeviceEvent) and e.device_id == device_id]

    def channel_verdicts(self, channel_id: str) -> list[GbVerdict]:
        return [e.verdict for e in self.events if isinstance(e, ChannelEvent) and e.channel_id == channel_id]


FAST = {"host": "127.0.0.1", "port": 0, "password": PASSWORD, "keepalive_interval_s": 0.4, "status_grace_s": 0.1,
        "keepalive_timeout_s": 1.0, "min_expires_s": 1, "auth_failures": 3, "auth_block_s": 600}


async def make_rig(listed: Callable[[str], bool] | None = None, *, catalog_scan_s: float = 30.0, **over: object) -> Rig:
    """A platform on loopback with the device simulator pointed at it (*over*: settings beside FAST)."""
    settings = Gb28181Settings.model_validate({**FAST, **over})
    platform = Platform(settings, passwords={IPC: "ipc-own-pw"}, listed=listed, tick_s=0.05, catalog_scan_s=catalog_scan_s)
    rig = Rig(platform, GbSim(("0.0.0.0", 0), domain=settings.domain, server_id=settings.server_id), settings)
    platform.registry.subscribe(rig.events.append)
    await platform.start()
    rig.sim.server = platform.addresses["udp"]
    await rig.sim.start()
    return rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = await make_rig()
    yield r
    await r.sim.close()
    await r.platform.close()


def nvr(transport: str = "udp", encoding: str = "GB18030", declared: str | None = None) -> SimDevice:
    chans = [SimChannel(c, name=f"村口{i}号𠀾", status="ON") for i, c in enumerate(CHANNELS, 1)]
    return SimDevice(NVR, PASSWORD, chans, transport=transport, encoding=encoding, declared=declared, keepalive_s=0.3)


@pytest.mark.parametrize(("transport", "encoding", "declared"), [
    ("udp", "GB18030", None), ("tcp", "GB18030", None), ("udp", "UTF-8", "GB2312"), ("tcp", "UTF-8", None)])
async def test_register_keepalive_catalog(rig: Rig, transport: str, encoding: str, declared: str | None) -> None:
    dev = rig.sim.add(nvr(transport, encoding, declared))
    assert await rig.sim.register(NVR) == 200
    assert await rig.sim.keepalive(NVR) == 200
    reg = rig.platform.registry
    await until(lambda: len(rig.channel_verdicts(CHANNELS[-1])) == 1 and reg.device(NVR).info is not None)  # type: ignore[union-attr]
    state = reg.device(NVR)
    assert state is not None and state.peer is not None and state.peer.transport == transport
    assert [c.name for c in state.channels.values()] == [f"村口{i}号𠀾" for i in range(1, 6)]
    assert state.catalog_at is not None and state.info is not None and state.info.channels == 5
    assert dev.queries["Catalog"] == 1 and dev.queries["DeviceInfo"] == 1  # asked at registration
    assert rig.device_verdicts(NVR) == [GbVerdict.ONLINE]
    # a channel switched off, told at once (catalog notification)
    rig.sim.set_status(NVR, CHANNELS[1], "OFF", notify=True)
    await until(lambda: rig.channel_verdicts(CHANNELS[1])[-1] is GbVerdict.CHANNEL_OFF)
    # ... or learned at the next catalog query
    rig.sim.set_status(NVR, CHANNELS[2], "OFF")
    rig.platform.query(state, "Catalog")
    await until(lambda: rig.channel_verdicts(CHANNELS[2])[-1] is GbVerdict.CHANNEL_OFF)
    assert rig.channel_verdicts(CHANNELS[0]) == [GbVerdict.ONLINE]


async def test_own_password_wins_over_the_default(rig: Rig) -> None:
    rig.sim.add(SimDevice(IPC, PASSWORD))
    assert await rig.sim.register(IPC) == 403  # the default is not this IPC's password
    assert await rig.sim.register(IPC, password="ipc-own-pw") == 200


async def test_dead_device_goes_offline_and_a_late_but_living_one_does_not(rig: Rig) -> None:
    rig.sim.add(nvr())
    quiet = rig.sim.add(SimDevice(IPC, "ipc-own-pw", keepalive_s=0.3))
    assert await rig.sim.register(NVR) == 200 and await rig.sim.register(IPC) == 200
    rig.sim.start_keepalives(NVR, first_after=0.0)
    await until(lambda: len(rig.channel_verdicts(CHANNELS[0])) == 1)
    await asyncio.sleep(0.5)
    rig.sim.kill(NVR)  # no keepalive, no answer
    rig.sim.stop_keepalives(IPC)  # no keepalive, but it answers the DeviceStatus query
    killed = time.monotonic()
    await until(lambda: rig.device_verdicts(NVR)[-1] is GbVerdict.PLATFORM_OFFLINE)
    detected = time.monotonic() - killed
    assert detected < rig.settings.keepalive_timeout_s + 2.0  # timeout + slack on a loaded box
    assert rig.channel_verdicts(CHANNELS[0])[-1] is GbVerdict.PLATFORM_OFFLINE
    assert rig.sim.devices[NVR].queries["DeviceStatus"] >= 1  # it was asked before it was given up
    await asyncio.sleep(2 * rig.settings.keepalive_timeout_s)
    assert quiet.queries["DeviceStatus"] >= 2 and rig.device_verdicts(IPC) == [GbVerdict.ONLINE]
    # a dead device that comes back: re-registers, online again, catalog asked again
    rig.sim.devices[NVR].answers = True
    assert await rig.sim.register(NVR) == 200
    await until(lambda: rig.device_verdicts(NVR)[-1] is GbVerdict.ONLINE)
    await until(lambda: rig.sim.devices[NVR].queries["Catalog"] == 2)


async def test_expiry_and_unregister(rig: Rig) -> None:
    rig.sim.add(nvr())
    assert await rig.sim.register(NVR, expires=1) == 200
    rig.sim.start_keepalives(NVR, first_after=0.0)  # keepalives go on, the registration does not
    await until(lambda: rig.device_verdicts(NVR)[-1:] == [GbVerdict.PLATFORM_OFFLINE])
    assert await rig.sim.keepalive(NVR) == 403  # not registered: the device registers again
    assert await rig.sim.register(NVR) == 200
    await until(lambda: rig.device_verdicts(NVR)[-1] is GbVerdict.ONLINE)
    assert await rig.sim.unregister(NVR) == 200
    await until(lambda: rig.device_verdicts(NVR)[-1] is GbVerdict.PLATFORM_OFFLINE)
    assert rig.device_verdicts(NVR) == [GbVerdict.ONLINE, GbVerdict.PLATFORM_OFFLINE] * 2


async def test_too_brief_registration_is_refused() -> None:
    r = await make_rig(min_expires_s=30)
    try:
        r.sim.add(nvr())
        assert await r.sim.register(NVR, expires=5) == 423
        assert r.platform.registry.device(NVR) is None
    finally:
        await r.sim.close()
        await r.platform.close()


async def test_wrong_passwords_are_throttled_and_no_credential_is_logged(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="camwatch.gb28181")
    rig.sim.add(nvr())
    thief = GbSim(rig.platform.addresses["udp"], domain=rig.settings.domain, server_id=rig.settings.server_id,
                  local_host="127.0.0.2")
    await thief.start()
    try:
        thief.add(SimDevice(NVR, "guess-1"))
        for guess in ("guess-1", "guess-2", "guess-3"):
            assert await thief.register(NVR, password=guess) == 403
        assert rig.platform.stats.auth_failures == 3
        assert await thief.register(NVR, password=PASSWORD) == 403  # blocked: not even checked
        assert rig.platform.stats.throttled >= 1
        assert await rig.sim.register(NVR) == 200  # another address is not affected
    finally:
        await thief.close()
    text = caplog.text
    assert "wrong password for 34020000001180000001 from 127.0.0.2" in text
    for secret in (PASSWORD, "guess-1", "guess-2", "guess-3", "ipc-own-pw", "response=", "Digest", "nonce"):
        assert secret not in text


async def test_unlisted_devices_are_kept_apart() -> None:
    r = await make_rig(listed=lambda i: i == IPC)
    try:
        r.sim.add(nvr())
        assert await r.sim.register(NVR) == 200
        await until(lambda: bool(r.platform.registry.unlisted()) and len(r.platform.registry.unlisted()[0].channels) == 5)
        assert r.events == [] and r.platform.registry.devices() == []
        [dev] = r.platform.registry.unlisted()
        assert dev.device_id == NVR and dev.info is not None  # its catalog and info, for import
    finally:
        await r.sim.close()
        await r.platform.close()


async def test_malformed_and_oversized_input_is_refused_cheaply(rig: Rig) -> None:
    rig.sim.add(nvr())
    assert await rig.sim.register(NVR) == 200
    for junk in (b"\x00" * 100, b"GET / HTTP/1.1\r\n\r\n", b"MESSAGE sip:x SIP/2.0\r\n" + b"X: y\r\n" * 200 + b"\r\n",
                 b"REGISTER sip:a@b SIP/2.0\r\nContent-Length: 900\r\n\r\nshort"):
        await rig.sim.send_raw(junk)
    await until(lambda: rig.platform.stats.malformed >= 4)
    # a body with a DTD, and one that is not XML: 400, the device stays registered
    dtd = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><Notify><CmdType>Keepalive</CmdType></Notify>'
    for body in (dtd, b"<<<"):
        req = rig.sim._request(rig.sim.devices[NVR], "MESSAGE", body)
        assert (await rig.sim._transact(rig.sim.devices[NVR], req)).status == 400
    # a TCP stream that never ends its head is cut off
    host, port = rig.platform.addresses["tcp"]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"MESSAGE sip:a@b SIP/2.0\r\n" + b"X-Pad: " + b"z" * 70_000)
        await writer.drain()
    except ConnectionError:
        pass
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the platform
    writer.close()
    assert await rig.sim.keepalive(NVR) == 200  # and everyone else is still served


async def test_keepalive_from_an_unregistered_device_is_refused(rig: Rig) -> None:
    rig.sim.add(nvr())
    await rig.sim._peer(rig.sim.devices[NVR])
    assert await rig.sim.keepalive(NVR) == 403
    assert rig.platform.stats.refused == 1 and rig.events == []


async def test_a_retransmitted_register_gets_the_same_answer(rig: Rig) -> None:
    """A REGISTER whose 200 was lost is sent again as it was: it must get 200 again (its nonce
    count, seen once already, would otherwise be refused as a replay)."""
    from probes.gb28181.digest import authorization, parse_challenge
    from probes.gb28181.fields import required

    dev = rig.sim.add(nvr())
    first = rig.sim._request(dev, "REGISTER", extra=(("Expires", "600"),), call_id="c1@x", cseq=1)
    challenge = parse_challenge(required(await rig.sim._transact(dev, first), "WWW-Authenticate"))
    auth = authorization(challenge, username=NVR, password=PASSWORD, method="REGISTER",
                         uri=f"sip:{rig.settings.server_id}@{rig.settings.domain}")
    second = rig.sim._request(dev, "REGISTER", extra=(("Expires", "600"), ("Authorization", auth)),
                              call_id="c1@x", cseq=2)
    assert (await rig.sim._transact(dev, second)).status == 200
    again = await rig.sim._transact(dev, second)
    assert again.status == 200 and again.get("Expires") == "600"
    assert rig.platform.stats.registers == 1  # answered from the kept answer, not registered twice


async def test_default_password_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CAMWATCH_TEST_GB_PW", "from-env-7")
    r = await make_rig(password="env:CAMWATCH_TEST_GB_PW")
    try:
        r.sim.add(SimDevice(NVR, "from-env-7"))
        assert await r.sim.register(NVR) == 200
    finally:
        await r.sim.close()
        await r.platform.close()
    monkeypatch.delenv("CAMWATCH_TEST_GB_PW")
    r = await make_rig(password="env:CAMWATCH_TEST_GB_PW")
    try:
        r.sim.add(SimDevice(NVR, "from-env-7"))
        assert await r.sim.register(NVR) == 403  # no default password: refused, never an empty one
        assert "CAMWATCH_TEST_GB_PW is not set" in caplog.text and "from-env-7" not in caplog.text
    finally:
        await r.sim.close()
        await r.platform.close()


def test_a_tcp_device_registers_on_uvloop_as_camwatch_run_runs_the_platform() -> None:
    import uvloop  # lazy: the loop `camwatch run` uses (collector/cli/runtime.py)

    async def go() -> int:
        r = await make_rig()
        try:
            r.sim.add(nvr("tcp"))
            return await r.sim.register(NVR)
        finally:
            await r.sim.close()
            await r.platform.close()

    assert uvloop.run(asyncio.wait_for(go(), 15)) == 200
