"""What a device's word is worth, on real sockets on loopback (the platform, or the collector as
``camwatch run`` builds it, with simulated devices and raw UDP/TCP peers): a camera listed by two
devices is online while either says so; a device cannot speak for a camera that registered as
itself with its own password; a captured REGISTER is not good twice; DeviceInfo is the sender's
own; unauthenticated floods write one log line per address; channels are capped a device; TCP
connections are capped an address and a silent one is closed."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest

from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelEvent, GbVerdict
from collector.runtime.camera_state import State
from probes.causes import Cause
from probes.gb28181 import bodies
from probes.gb28181.digest import AuthResult, Challenge, DigestServer, authorization, parse_challenge
from probes.gb28181.fields import new_branch, new_tag
from probes.gb28181.sip import SipRequest, SipResponse, parse_datagram
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.gb28181_app import gb_app
from tests.collector.test_gb28181_feed import HEAD, _row, _settings, _until
from tests.collector.test_gb28181_platform import CHANNELS, IPC, NVR, PASSWORD, Rig, make_rig, until
from tests.inventory.helpers import do_import, migrated, write_csv

CH1 = "34020000001310000001"
PLATFORM = "34020000002000000077"  # a cascaded county platform listing the same camera


# -- 1. a camera listed by two devices -----------------------------------------------------
def test_a_camera_listed_by_two_devices_is_online_while_either_says_so(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, CH1, "国标")])).written

    async def go() -> None:
        async with gb_app(url, _settings(url)) as rig:
            app, feed, sim = rig.app, rig.feed, await rig.sim()
            reg = feed.platform.registry
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1)], keepalive_s=1.0))
            sim.add(SimDevice(PLATFORM, "default-Pw-1", [SimChannel(CH1)], keepalive_s=1.0))
            for dev in (NVR, PLATFORM):  # the platform lists it last
                assert await sim.register(dev) == 200
                sim.start_keepalives(dev, first_after=0.0)
            await _until(lambda: reg.channel_verdict(PLATFORM, CH1) is GbVerdict.ONLINE
                         and reg.channel_verdict(NVR, CH1) is GbVerdict.ONLINE)
            [cam] = app._inventory[0]
            slot = app.scheduler.slots[cam.id]
            await _until(lambda: slot.status.state is State.ONLINE)
            sim.kill(PLATFORM)  # the last to list it dies; the NVR still says ON
            await _until(lambda: reg.verdict(PLATFORM) is GbVerdict.PLATFORM_OFFLINE, 20)
            await asyncio.sleep(1.0)
            assert slot.status.state is State.ONLINE, slot.status
            sim.kill(NVR)  # now neither
            await _until(lambda: (slot.status.state, slot.status.cause) == (State.OFFLINE, Cause.PLATFORM_OFFLINE))
            sim.restart(NVR)  # it comes back, registers and sends its catalog again
            sim.devices[NVR].answers = True
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            await _until(lambda: slot.status.state is State.ONLINE)

    asyncio.run(go())


def test_online_elsewhere_counts_every_device_listing_the_camera() -> None:
    """Every device listing a camera is asked (not only the last to list it): one device's
    offline verdict is outweighed while another living one lists it ON."""
    from collector.gb28181.config import Gb28181Settings
    from probes.gb28181.manscdp import Catalog, CatalogItem
    from probes.gb28181.transport import Peer

    events: list[object] = []
    reg = Registry(Gb28181Settings(keepalive_interval_s=5, keepalive_timeout_s=10), listed=lambda i: i == CH1)
    reg.subscribe(events.append)
    for i, dev in enumerate((NVR, PLATFORM)):
        reg.register(dev, Peer("udp", f"127.0.0.{i + 1}", 5060), 3600, 100.0)
        reg.apply_catalog(Catalog(dev, 1, 1, (CatalogItem(CH1, status="ON"),)), dev, 100.0)
    assert reg.online_elsewhere(CH1, PLATFORM) and reg.online_elsewhere(CH1, NVR)
    reg.tick(100.0)
    reg.seen(NVR, Peer("udp", "127.0.0.1", 5060), 105.0)
    reg.tick(112.0)  # the platform fell silent: only the NVR's word is left, and it says ON
    assert reg.channel_verdict(PLATFORM, CH1) is GbVerdict.PLATFORM_OFFLINE
    assert reg.online_elsewhere(CH1, PLATFORM) and not reg.online_elsewhere(CH1, NVR)


# -- 2. who may vouch for a camera ---------------------------------------------------------
async def test_a_device_cannot_vouch_for_a_camera_that_registered_with_its_own_password(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.gb28181")
    rig = await make_rig(listed=lambda i: i in (IPC, CHANNELS[0]))
    try:
        rig.sim.add(SimDevice(IPC, "ipc-own-pw"))  # the camera speaks for itself (before that, a lister may:
        assert await rig.sim.register(IPC) == 200  # test_gb28181_own_word)
        await until(lambda: rig.device_verdicts(IPC) == [GbVerdict.ONLINE])
        forger = rig.sim.add(SimDevice("34020000001180000666", PASSWORD, [SimChannel(IPC), SimChannel(CHANNELS[0])]))
        assert await rig.sim.register(forger.device_id) == 200
        reg = rig.platform.registry
        await until(lambda: (d := reg.device(forger.device_id)) is not None and d.catalog_at is not None)
        dev = reg.device(forger.device_id)
        assert dev is not None and list(dev.channels) == [CHANNELS[0]]  # the own-password IPC left out
        assert rig.channel_verdicts(IPC) == []
        assert not reg.online_elsewhere(IPC, IPC)
        lines = [r.getMessage() for r in caplog.records if "own inventory password" in r.getMessage()]
        assert len(lines) == 1 and forger.device_id in lines[0]
        rig.platform.query(dev, "Catalog")  # told again: not logged again
        await asyncio.sleep(0.3)
        assert len([r for r in caplog.records if "own inventory password" in r.getMessage()]) == 1
    finally:
        await rig.sim.close()
        await rig.platform.close()


# -- 3. a captured REGISTER is not good twice ----------------------------------------------
def test_an_answer_without_qop_is_good_once() -> None:
    srv = DigestServer("3402000000")
    ch = parse_challenge(srv.challenge(100.0))
    auth = authorization(Challenge(ch.realm, ch.nonce, None), username=IPC, password="pw", method="REGISTER",
                         uri="sip:x@3402000000")
    assert srv.check(auth, method="REGISTER", password="pw", now=101.0, username=IPC) is AuthResult.OK
    assert srv.check(auth, method="REGISTER", password="pw", now=102.0, username=IPC) is AuthResult.REPEATED


class _Udp:
    """A raw SIP peer on a loopback address of its own."""

    def __init__(self, host: str, server: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(3.0)
        self.server = server

    def send(self, data: bytes) -> SipResponse:
        self.sock.sendto(data, self.server)
        while True:  # (the platform's own queries to a registered device are not the answer)
            msg = parse_datagram(self.sock.recv(65536))
            if isinstance(msg, SipResponse):
                return msg


def _register(device: str, via_host: str, call_id: str, cseq: int, expires: int, auth: str | None) -> bytes:
    headers = [("Via", f"SIP/2.0/UDP {via_host}:5060;rport;branch={new_branch()}"),
               ("From", f"<sip:{device}@3402000000>;tag={new_tag()}"), ("To", f"<sip:{device}@3402000000>"),
               ("Call-ID", call_id), ("CSeq", f"{cseq} REGISTER"), ("Max-Forwards", "70"),
               ("Contact", f"<sip:{device}@{via_host}:5060>"), ("Expires", str(expires))]
    if auth is not None:
        headers.append(("Authorization", auth))
    return SipRequest("REGISTER", "sip:34020000002000000001@3402000000", tuple(headers), b"").encode()


async def test_a_captured_register_without_qop_cannot_be_replayed_from_elsewhere() -> None:
    rig = await make_rig()
    try:
        server = rig.platform.addresses["udp"]

        def run() -> tuple[int, int, int, int]:
            honest, thief = _Udp("127.0.0.1", server), _Udp("127.0.0.9", server)
            first = honest.send(_register(NVR, "127.0.0.1", "c1@x", 1, 3600, None))
            ch = parse_challenge(first.get("WWW-Authenticate") or "")
            auth = authorization(Challenge(ch.realm, ch.nonce, None), username=NVR, password=PASSWORD,
                                 method="REGISTER", uri="sip:34020000002000000001@3402000000")
            ok = honest.send(_register(NVR, "127.0.0.1", "c1@x", 2, 3600, auth)).status
            replay = thief.send(_register(NVR, "127.0.0.1", "c1@x", 2, 60, auth))  # Expires changed
            # the honest device refreshing with the nonce it kept: a fresh challenge, answered anew
            again = honest.send(_register(NVR, "127.0.0.1", "c1@x", 3, 3600, auth))
            ch2 = parse_challenge(again.get("WWW-Authenticate") or "")
            auth2 = authorization(Challenge(ch2.realm, ch2.nonce, None), username=NVR, password=PASSWORD,
                                  method="REGISTER", uri="sip:34020000002000000001@3402000000")
            refreshed = honest.send(_register(NVR, "127.0.0.1", "c1@x", 4, 3600, auth2)).status
            return ok, replay.status, again.status, refreshed

        ok, replay, again, refreshed = await asyncio.to_thread(run)
        assert (ok, replay, again, refreshed) == (200, 401, 401, 200)
        dev = rig.platform.registry.device(NVR)
        assert dev is not None and dev.peer is not None and dev.peer.host == "127.0.0.1"
        assert dev.expires_at - time.time() > 3000  # the replay's Expires: 60 was not taken
    finally:
        await rig.sim.close()
        await rig.platform.close()


# -- 4. DeviceInfo is the sender's own -----------------------------------------------------
async def test_a_device_cannot_write_another_devices_info() -> None:
    rig = await make_rig()
    try:
        await _info_not_overwritten(rig)
    finally:
        await rig.sim.close()
        await rig.platform.close()


async def _info_not_overwritten(rig: Rig) -> None:
    rig.sim.add(SimDevice(NVR, PASSWORD, [SimChannel(CHANNELS[0])]))
    rig.sim.add(SimDevice(IPC, "ipc-own-pw"))
    for dev in (NVR, IPC):
        assert await rig.sim.register(dev) == 200
    reg = rig.platform.registry
    await until(lambda: all((d := reg.device(i)) is not None and d.info is not None for i in (NVR, IPC)))
    before = reg.device(NVR).info  # type: ignore[union-attr]
    body = bodies.device_info(NVR, 99, name="伪造", manufacturer="x", model="x", firmware="x", channels=0)
    ipc = rig.sim.devices[IPC]
    resp = await rig.sim._transact(ipc, rig.sim._request(ipc, "MESSAGE", body))
    assert resp.status == 200
    await asyncio.sleep(0.2)
    assert reg.device(NVR).info == before  # type: ignore[union-attr]


# -- 5. floods of made-up IDs --------------------------------------------------------------
async def test_a_flood_of_made_up_ids_writes_one_line_per_address_and_counts_the_rest(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.gb28181")
    rig = await make_rig(password=None, auth_block_s=1.0)
    try:
        for i in range(20):  # no password to check: 403, one line for the address
            dev = rig.sim.add(SimDevice(f"34020000001330{i:06d}", "x"))
            assert await rig.sim.register(dev.device_id) == 403
        for i in range(20):  # MESSAGEs from unregistered senders, broken bodies: 403, nothing read nor logged
            dev = rig.sim.add(SimDevice(f"34020000001340{i:06d}", "x"))
            resp = await rig.sim._transact(dev, rig.sim._request(dev, "MESSAGE", b"<Notify><CmdType>\xff"))
            assert resp.status == 403
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "no password to check it against" in lines[0], lines
        await asyncio.sleep(1.1)
        rig.sim.add(SimDevice("34020000001320099999", "x"))
        assert await rig.sim.register("34020000001320099999") == 403
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 2 and "and 19 more like it from this address" in lines[1], lines
    finally:
        await rig.sim.close()
        await rig.platform.close()


# -- 6. channels a device ------------------------------------------------------------------
async def test_channels_beyond_the_cap_are_ignored_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.gb28181")
    rig = await make_rig(max_channels_per_device=3)
    try:
        rig.sim.add(SimDevice(NVR, PASSWORD, [SimChannel(c) for c in CHANNELS]))  # 5, two a message
        assert await rig.sim.register(NVR) == 200
        reg = rig.platform.registry
        await until(lambda: (d := reg.device(NVR)) is not None and d.catalog_at is not None)
        assert list(reg.device(NVR).channels) == CHANNELS[:3]  # type: ignore[union-attr]
        assert [e.channel_id for e in rig.events if isinstance(e, ChannelEvent)] == CHANNELS[:3]
        lines = [r.getMessage() for r in caplog.records if "max_channels_per_device" in r.getMessage()]
        assert len(lines) == 1 and NVR in lines[0]
    finally:
        await rig.sim.close()
        await rig.platform.close()


# -- 7. TCP connections an address ---------------------------------------------------------
async def test_tcp_connections_are_capped_an_address_and_a_silent_one_is_closed(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.gb28181")
    rig = await make_rig(transports=["udp", "tcp"], max_tcp_per_address=2, tcp_first_message_s=0.5)
    try:
        host, port = rig.platform.addresses["tcp"]
        hog = [await asyncio.open_connection(host, port, local_addr=("127.0.0.7", 0)) for _ in range(4)]
        await asyncio.sleep(0.1)
        assert all(await asyncio.gather(*(_closed(r, 1.0) for r, _ in hog[2:])))  # over the cap: closed at once
        lines = [r.getMessage() for r in caplog.records if "max_tcp_per_address" in r.getMessage()]
        assert len(lines) == 1 and "127.0.0.7" in lines[0]
        # another address is not locked out: a device registers over TCP and keeps its connection
        other = GbSim(rig.platform.addresses["udp"], domain=rig.settings.domain, server_id=rig.settings.server_id,
                      local_host="127.0.0.8")
        other.server = (host, port)
        await other.start()
        try:
            other.add(SimDevice(NVR, PASSWORD, transport="tcp"))
            assert await other.register(NVR) == 200
            # the two silent connections of the hog are closed after tcp_first_message_s
            assert all(await asyncio.gather(*(_closed(r) for r, _ in hog[:2])))
            assert await other.keepalive(NVR) == 200  # (the device's, which spoke, is kept)
        finally:
            await other.close()
        for _, w in hog:
            w.close()
    finally:
        await rig.sim.close()
        await rig.platform.close()


async def _closed(reader: asyncio.StreamReader, timeout: float = 3.0) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), timeout) == b""
    except ConnectionError:
        return True
