"""A camera's own word, and a REGISTER sent twice, on real sockets on loopback.

- A password in the inventory (ledgers fill in every camera's RTSP/ONVIF login) does not lock out a
  camera that only its NVR lists: until the camera registers as itself, the NVR's catalog tells
  it; once it has, only its own registration does (a forger's listing of it is ignored, the NVR's
  earlier word dropped, and a restart reads it back so).
- A REGISTER whose 200 was lost, sent again as it was (same Call-ID, CSeq and Digest answer), gets
  the same 200 from the address it was accepted from; from another address it is a replay: 401.
- A NAT's many TCP devices: more than 64 connections from one address are served by default.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.registrations import Registration
from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelState, DeviceState, GbVerdict
from collector.runtime.camera_state import State
from probes.gb28181.digest import Challenge, authorization, parse_challenge
from probes.gb28181.sip import SipResponse, StreamFramer
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.gb28181_app import gb_app
from tests.collector.test_gb28181_feed import HEAD, _row, _settings, _until
from tests.collector.test_gb28181_platform import CHANNELS, IPC, NVR, PASSWORD, make_rig, until
from tests.collector.test_gb28181_trust import _register, _Udp
from tests.inventory.helpers import do_import, migrated, write_csv

FORGER = "34020000001180000666"
URI = "sip:34020000002000000001@3402000000"


# -- 1. who speaks for a camera with an inventory password ---------------------------------
def test_a_camera_with_an_inventory_password_behind_an_nvr_is_online_by_the_nvr(tmp_path: Path) -> None:
    """The ledger's RTSP login for every camera, as imported: the camera behind the NVR never
    registers by itself, and the NVR's catalog (Status ON) tells it online."""
    ch1, ch2 = "34020000001310000001", "34020000001310000002"
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, ch1, "国标", "rtsp-Pw-1"), _row(2, ch2, "国标", "rtsp-Pw-2")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written

    async def go() -> None:
        async with gb_app(url, _settings(url)) as rig:
            app, sim = rig.app, await rig.sim()
            reg = rig.feed.platform.registry
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(ch1, status="ON"), SimChannel(ch2, status="OFF")],
                              keepalive_s=1.0))
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            await _until(lambda: reg.channel_verdict(NVR, ch1) is GbVerdict.ONLINE)
            dev = reg.device(NVR)
            assert dev is not None and set(dev.channels) == {ch1, ch2}  # neither left out for its password
            slots = {c.gb_id: app.scheduler.slots[c.id] for c in app._inventory[0]}
            await _until(lambda: slots[ch1].status.state is State.ONLINE
                         and slots[ch2].status.state is State.OFFLINE)
            assert reg.channel_verdict(NVR, ch2) is GbVerdict.CHANNEL_OFF

    asyncio.run(go())


async def test_once_a_camera_registered_as_itself_only_its_own_word_counts() -> None:
    rig = await make_rig(listed=lambda i: i in (IPC, CHANNELS[0]))
    try:
        reg = rig.platform.registry
        rig.sim.add(SimDevice(NVR, PASSWORD, [SimChannel(IPC, status="ON"), SimChannel(CHANNELS[0], status="ON")]))
        assert await rig.sim.register(NVR) == 200
        await until(lambda: reg.channel_verdict(NVR, IPC) is GbVerdict.ONLINE)  # the NVR tells it, as before
        assert reg.online_elsewhere(IPC, "")
        rig.sim.add(SimDevice(IPC, "ipc-own-pw"))  # now it registers as itself (its own password)
        assert await rig.sim.register(IPC) == 200
        await until(lambda: rig.device_verdicts(IPC) == [GbVerdict.ONLINE])
        nvr = reg.device(NVR)
        assert nvr is not None and list(nvr.channels) == [CHANNELS[0]]  # the NVR's earlier word on it dropped
        assert not reg.online_elsewhere(IPC, IPC)
        forger = rig.sim.add(SimDevice(FORGER, PASSWORD, [SimChannel(IPC, status="ON")]))
        assert await rig.sim.register(forger.device_id) == 200
        await until(lambda: (d := reg.device(FORGER)) is not None and d.catalog_at is not None)
        assert list(reg.device(FORGER).channels) == []  # type: ignore[union-attr]
        rig.platform.query(nvr, "Catalog")  # the NVR listing it again: not taken either
        await until(lambda: (d := reg.device(NVR)) is not None and d.catalog_at != nvr.catalog_at)
        assert list(reg.device(NVR).channels) == [CHANNELS[0]]  # type: ignore[union-attr]
        rig.sim.kill(IPC)  # the camera dies: offline, the forger's and the NVR's ON changing nothing
        await until(lambda: rig.device_verdicts(IPC)[-1] is GbVerdict.PLATFORM_OFFLINE)
        assert not reg.online_elsewhere(IPC, IPC) and rig.channel_verdicts(IPC) == [GbVerdict.ONLINE,
                                                                                    GbVerdict.NOT_REGISTERED]
    finally:
        await rig.sim.close()
        await rig.platform.close()


@pytest.mark.parametrize("own_first", [True, False])
def test_a_restart_reads_back_who_speaks_for_a_camera(own_first: bool) -> None:
    """An NVR's stored channel for a camera with an inventory password is kept while the camera
    has no registration of its own; with one (stored too, whatever the order read), it is not."""
    peer = Peer("udp", "127.0.0.9", 5060)

    def state(dev: str, chans: list[str]) -> DeviceState:
        return DeviceState(dev, peer, True, 100.0, 10_000.0, 100.0,
                           channels={c: ChannelState(c, dev, status="ON") for c in chans})

    def registry() -> Registry:
        return Registry(Gb28181Settings(), listed=lambda i: i in (IPC, CHANNELS[0]), sole=lambda i: i == IPC)

    alone = registry()
    alone.restore([state(NVR, [IPC, CHANNELS[0]])], 110.0)
    assert alone.channel_verdict(NVR, IPC) is GbVerdict.ONLINE
    both = registry()
    states = [state(IPC, []), state(NVR, [IPC, CHANNELS[0]])]
    both.restore(states if own_first else states[::-1], 110.0)
    nvr = both.device(NVR)
    assert nvr is not None and list(nvr.channels) == [CHANNELS[0]] and both.channel_verdict(NVR, IPC) is None
    assert both.verdict(IPC) is GbVerdict.ONLINE


# -- 2. a REGISTER sent twice ------------------------------------------------------------
@pytest.mark.parametrize("qop", [False, True])
async def test_a_register_sent_again_gets_the_same_200_from_its_own_address_only(qop: bool) -> None:
    rig = await make_rig()
    try:
        server = rig.platform.addresses["udp"]

        def run() -> list[SipResponse]:
            honest, thief = _Udp("127.0.0.1", server), _Udp("127.0.0.9", server)
            first = honest.send(_register(NVR, "127.0.0.1", "c1@x", 1, 3600, None))
            ch = parse_challenge(first.get("WWW-Authenticate") or "")
            auth = authorization(Challenge(ch.realm, ch.nonce, "auth" if qop else None), username=NVR,
                                 password=PASSWORD, method="REGISTER", uri=URI)
            ok = honest.send(_register(NVR, "127.0.0.1", "c1@x", 2, 3600, auth))
            # its 200 lost: the same REGISTER again (a new Via branch: not the platform's kept answer)
            again = honest.send(_register(NVR, "127.0.0.1", "c1@x", 2, 3600, auth))
            replay = thief.send(_register(NVR, "127.0.0.1", "c1@x", 2, 3600, auth))
            other_cseq = honest.send(_register(NVR, "127.0.0.1", "c1@x", 3, 3600, auth))  # not the same REGISTER
            return [ok, again, replay, other_cseq]

        ok, again, replay, other_cseq = await asyncio.to_thread(run)
        assert (ok.status, again.status, replay.status, other_cseq.status) == (200, 200, 401, 401)
        assert again.get("Expires") == ok.get("Expires") == "3600" and again.get("Contact") == ok.get("Contact")
        assert "stale=true" in (replay.get("WWW-Authenticate") or "")
        dev = rig.platform.registry.device(NVR)
        assert dev is not None and dev.peer is not None and dev.peer.host == "127.0.0.1"
        kinds = dict(rig.platform.stats.snapshot(blocked_addresses=0, registered_devices=0).registrations)
        assert kinds[Registration.NEW] == 1 and kinds[Registration.RESTART] == 0  # answered, not registered anew
        assert rig.platform.stats.auth_failures == 0
    finally:
        await rig.sim.close()
        await rig.platform.close()


async def test_a_register_sent_again_over_a_new_tcp_connection_gets_the_same_200() -> None:
    rig = await make_rig(transports=["udp", "tcp"])
    try:
        server = rig.platform.addresses["tcp"]

        def send(data: bytes) -> SipResponse:
            with socket.create_connection(server, timeout=3.0) as sock:
                sock.sendall(data)
                framer = StreamFramer()
                while True:
                    for msg in framer.feed(sock.recv(65536)):
                        if isinstance(msg, SipResponse):
                            return msg

        def reg(cseq: int, auth: str | None) -> bytes:
            return _register(NVR, "127.0.0.1", "t1@x", cseq, 3600, auth).replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")

        def run() -> tuple[int, int]:
            ch = parse_challenge(send(reg(1, None)).get("WWW-Authenticate") or "")
            auth = authorization(Challenge(ch.realm, ch.nonce, None), username=NVR, password=PASSWORD,
                                 method="REGISTER", uri=URI)
            return send(reg(2, auth)).status, send(reg(2, auth)).status  # the connection broke before the 200

        assert await asyncio.to_thread(run) == (200, 200)
    finally:
        await rig.sim.close()
        await rig.platform.close()


# -- 3. a NAT's TCP devices -----------------------------------------------------------------
def test_max_tcp_per_address_defaults_above_a_townships_nat() -> None:
    assert Gb28181Settings().max_tcp_per_address == 1024


async def test_more_than_64_tcp_devices_behind_one_address_are_served() -> None:
    rig = await make_rig(transports=["udp", "tcp"])
    try:
        host, port = rig.platform.addresses["tcp"]
        conns = [await asyncio.open_connection(host, port, local_addr=("127.0.0.5", 0)) for _ in range(80)]
        for i, (_, w) in enumerate(conns):
            dev = f"340200000013200{i:05d}"
            w.write(_register(dev, "127.0.0.5", f"n{i}@x", 1, 3600, None).replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
        deadline = time.monotonic() + 10.0

        async def answer(r: asyncio.StreamReader) -> int:
            framer = StreamFramer()
            while True:
                data = await asyncio.wait_for(r.read(65536), max(0.1, deadline - time.monotonic()))
                assert data, "closed unanswered"
                for msg in framer.feed(data):
                    if isinstance(msg, SipResponse):
                        return msg.status

        assert await asyncio.gather(*(answer(r) for r, _ in conns)) == [401] * 80  # the 65th and on too
        for _, w in conns:
            w.close()
    finally:
        await rig.sim.close()
        await rig.platform.close()
