"""Registrations survive a restart of camwatch: the collector (the App) runs the SIP platform on a
fixed port, simulated devices register and keep alive over UDP, camwatch stops and starts again
(SQLite); the live devices' cameras stay online (no not_registered, no platform_offline) and
their keepalives are accepted at once, while a device that died during the downtime is found
within the keepalive timeout of the start. The store itself round-trips on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collector.gb28181.persist import RegistrationStore
from collector.gb28181.state import ChannelState, DeviceInfoFields, DeviceState
from collector.runtime.app import App
from collector.runtime.camera_state import State
from collector.settings import load_settings
from inventory.db import create_engine
from inventory.models import Camera, Gb28181Registration, StateInterval
from inventory.secrets import SecretBox
from probes.causes import Cause
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.test_gb28181_feed import HEAD, _row, _until
from tests.inventory.helpers import KEY, do_import, migrated, write_csv

NVR, CH1, CH2 = "34020000001180000001", "34020000001310000001", "34020000001310000002"
OWN = "34020000001320000004"  # registers as itself
DEAD = "34020000001320000006"  # dies while camwatch is down
TIMEOUT_S = 3.0


def _free_port() -> int:
    """A port free for both UDP and TCP (the platform must come back on the same one)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise AssertionError("no free port")


def _settings(url: str, port: int):  # type: ignore[no-untyped-def]
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__INTERVAL_S": "2", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "2",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.3, 0.6]",
        "CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_HTTP__PORT": "0", "CAMWATCH_HTTP__HOST": "127.0.0.1",
        "CAMWATCH_PROBE__ONVIF": "false",
        "CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_GB28181__HOST": "127.0.0.1", "CAMWATCH_GB28181__PORT": str(port),
        "CAMWATCH_GB28181__TRANSPORTS": '["udp"]', "CAMWATCH_GB28181__PASSWORD": "default-Pw-1",
        "CAMWATCH_GB28181__KEEPALIVE_INTERVAL_S": "1", "CAMWATCH_GB28181__STATUS_GRACE_S": "0.5",
        "CAMWATCH_GB28181__KEEPALIVE_TIMEOUT_S": str(TIMEOUT_S), "CAMWATCH_GB28181__PERSIST_EVERY_S": "0.3",
    })


def test_registrations_survive_a_restart(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, CH1, "国标"), _row(2, CH2, "国标"), _row(4, OWN, "国标"), _row(6, DEAD, "国标")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written
    port = _free_port()
    live = (CH1, CH2, OWN)

    async def go() -> None:
        engine = create_engine(url)
        app = App(_settings(url, port), engine, SecretBox(KEY))
        await app.start()
        s = app.settings.gb28181
        sim = GbSim(("127.0.0.1", port), domain=s.domain, server_id=s.server_id)
        await sim.start()
        try:
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1), SimChannel(CH2)], keepalive_s=1.0))
            sim.add(SimDevice(OWN, "default-Pw-1", keepalive_s=1.0))
            sim.add(SimDevice(DEAD, "default-Pw-1", keepalive_s=1.0))
            for dev in (NVR, OWN, DEAD):
                assert await sim.register(dev) == 200, dev
                sim.start_keepalives(dev, first_after=0.0)
            ids = {c.gb_id: c.id for c in app._inventory[0]}

            def state(a: App, gb: str) -> tuple[State, Cause | None]:
                st = a.scheduler.slots[ids[gb]].status
                return st.state, st.cause

            await _until(lambda: all(state(app, g)[0] is State.ONLINE for g in (*live, DEAD)))
            feed = app.gb28181
            assert feed is not None and feed.store is not None
            await _until(lambda: feed.platform.registry.device(NVR).catalog_at is not None)  # type: ignore[union-attr]
            await asyncio.sleep(0.5)  # a flush after the catalog
            await app.stop()
            stopped = time.monotonic()
            async with AsyncSession(engine) as ses:
                kept = set((await ses.execute(select(Gb28181Registration.device_id))).scalars())
            assert kept == {NVR, OWN, DEAD}

            # camwatch is down longer than the keepalive timeout; one device dies meanwhile
            sim.kill(DEAD)
            await asyncio.sleep(TIMEOUT_S + 1.0)
            for dev in (NVR, OWN):
                sim.devices[dev].keepalive_replies.clear()
            app2 = App(_settings(url, port), engine, SecretBox(KEY))
            await app2.start()
            started = time.monotonic()
            try:
                assert started - stopped > TIMEOUT_S
                # at once: the live devices' cameras online (read back, not waiting for a REGISTER)
                assert all(state(app2, g) == (State.ONLINE, None) for g in live), [state(app2, g) for g in live]
                seen: set[tuple[State, Cause | None]] = set()
                while time.monotonic() - started < 2 * TIMEOUT_S + 1.0:
                    seen |= {state(app2, g) for g in live}
                    if state(app2, DEAD)[0] is State.OFFLINE and "dead" not in locals():
                        dead = time.monotonic() - started
                    await asyncio.sleep(0.05)
                assert seen == {(State.ONLINE, None)}, seen
                assert state(app2, DEAD) == (State.OFFLINE, Cause.PLATFORM_OFFLINE)
                assert dead <= TIMEOUT_S + 1.5, dead  # within the keepalive timeout of the start (+ a tick and slack)
                for dev in (NVR, OWN):  # their keepalives accepted without a new REGISTER
                    replies = sim.devices[dev].keepalive_replies
                    assert replies[200] >= 3 and replies[403] == 0, (dev, replies)
                assert feed.platform.stats.registers >= 3 and app2.gb28181.platform.stats.registers == 0  # type: ignore[union-attr]
                await _until(lambda: app2.writer.pending == 0, 10)
            finally:
                await app2.stop()
        finally:
            await sim.close()

        async with AsyncSession(engine) as ses:
            by_gb = dict((await ses.execute(select(Camera.id, Camera.gb_id))).all())
            causes: dict[str, list[tuple[str, str | None]]] = {}
            for cid, st, cause in (await ses.execute(select(StateInterval.camera_id, StateInterval.state,
                                                            StateInterval.cause).order_by(StateInterval.start))).all():
                causes.setdefault(by_gb[cid], []).append((st, cause))
        await engine.dispose()
        for g in live:  # online, unknown while camwatch was down, online again: never offline
            assert not any(st == "offline" for st, _ in causes[g]), (g, causes[g])
        assert ("offline", "platform_offline") in causes[DEAD]

    asyncio.run(go())


def test_the_store_round_trips(db_url: str) -> None:
    migrated(db_url)
    now = time.time()
    ch = ChannelState("34020000001310000001", NVR, "村口一号", "海康", "DS-2CD", "340200", "东关村", False, NVR, "ON", now)
    nvr = DeviceState(NVR, Peer("udp", "127.0.0.1", 5062), True, now - 100, now + 3500, now - 5, now - 5, "OK",
                      now - 50, None, None, MappingProxyType({ch.channel_id: ch}),
                      DeviceInfoFields("NVR", "海康", "DS-7608", "V4", 1), True)
    ipc = DeviceState(OWN, Peer("tcp", "10.0.0.9", 5060), True, now - 10, now + 50, now - 1, None, "", listed=False)

    async def go() -> None:
        engine = create_engine(db_url)
        store = RegistrationStore(engine)
        try:
            assert await store.write([nvr, ipc], [nvr, ipc], [], [], now) == 3
            later = DeviceState(**{**{f: getattr(nvr, f) for f in nvr.__slots__},  # type: ignore[arg-type]
                                   "last_seen": now + 30, "last_keepalive": now + 30})
            assert await store.write([], [], [later], [], now + 30) == 1  # a keepalive: its times only
            back = {d.device_id: d for d in await store.load()}
            got = back[NVR]
            assert got.peer == nvr.peer and got.registered and got.info == nvr.info
            assert abs(got.last_seen - (now + 30)) < 1e-3 and abs(got.expires_at - nvr.expires_at) < 1e-3  # type: ignore[operator]
            assert dict(got.channels) == {ch.channel_id: ch} or got.channels[ch.channel_id].name == "村口一号"
            assert got.channels[ch.channel_id].status == "ON" and not back[OWN].listed
            assert back[OWN].peer == Peer("tcp", "10.0.0.9", 5060) and back[OWN].channels == {}
            await store.write([], [], [], [OWN], now + 31)  # forgotten
            assert {d.device_id for d in await store.load()} == {NVR}
        finally:
            await engine.dispose()

    asyncio.run(go())
    assert dt.datetime.fromtimestamp(now, dt.UTC)  # times are wall clock


def test_keepalive_times_are_held_back_but_registrations_are_not() -> None:
    """A device's keepalives cost a row at most every persist_seen_s; a registration or a catalog
    is in the next batch; a failed batch is taken again; the final batch has every time."""
    from collector.gb28181.config import Gb28181Settings
    from collector.gb28181.persist import Batches
    from collector.gb28181.registry import Registry

    reg = Registry(Gb28181Settings(password="x"))
    b = Batches(reg, 300.0)
    peer = Peer("udp", "127.0.0.1", 5060)
    t = 1_000_000.0
    for i in range(3):
        reg.register(f"3402000000132000000{i}", peer, 3600, t)
    first = b.take()
    assert len(first.full) == 3 and not first.seen
    b.done(first)
    for k in range(1, 5):  # four keepalives a minute apart: held back
        for i in range(3):
            reg.seen(f"3402000000132000000{i}", peer, t + 60 * k, keepalive_status="OK")
        got = b.take()
        assert not got.full and not got.seen, k
    reg.seen("34020000001320000000", peer, t + 301, keepalive_status="OK")  # 301 s after the written one
    got = b.take()
    assert [d.device_id for d in got.seen] == ["34020000001320000000"] and got.seen[0].last_seen == t + 301
    b.failed(got)  # the database was away: taken again
    again = b.take()
    assert [d.device_id for d in again.seen + again.full] == ["34020000001320000000"]
    b.done(again)
    final = b.take(final=True)  # a stop: every device's last times
    assert sorted(d.device_id for d in final.seen) == ["34020000001320000001", "34020000001320000002"]
    assert {d.last_seen for d in final.seen} == {t + 240}
    assert not len(b.take(final=True))
