"""GB/T 28181 with collector replicas on the local PostgreSQL (DESIGN §8, §11): two real `camwatch
run` replicas; the leader hosts the SIP platform, simulated devices (an NVR with channels, an IPC
registering as itself) register to it over UDP; every GB28181-only camera is stepped by the
replica owning its shard, from the verdicts the leader relays through ``gb28181_verdicts``.
A device whose keepalives stop goes offline (platform_offline) on its owner; a listed camera that
never registers is not_registered. The leader killed with -9: the other replica leads, opens the
same SIP port, reads the registrations back and takes the shards over; the live devices'
cameras never go offline and every camera's intervals stay contiguous."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import GbVerdict
from collector.runtime.camera_state import Changed, State
from collector.runtime.gb28181_feed import Gb28181Feed, Signalled
from collector.runtime.gb28181_relay import RelayedVerdict, VerdictRelay, chunks, read_for, read_since
from collector.runtime.gb28181_replicas import VerdictFollower, lead_platform
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.shards import shard_of
from collector.settings import CollectorSettings
from inventory.access import Access
from inventory.db import create_engine
from inventory.monitored import NOWHERE, Lifecycle, MonitoredCamera
from probes.base import ProbeTarget
from probes.causes import Cause
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.tcp_proxy import TcpProxy
from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_gb28181_feed import HEAD, _row
from tests.collector.test_gb28181_restart import _free_port
from tests.collector.test_replicas import KEY, assert_contiguous, intervals, stop_all, via
from tests.collector.test_replicas import Replica as _Replica
from tests.conftest import fresh_pg_schema
from tests.inventory.helpers import do_import, migrated, write_csv
from tests.net import free_port

pytestmark = pytest.mark.postgres
SHARDS = 16
TIMEOUT_S = 3.0  # keepalive_timeout_s (keepalives every second)
PASSWORD = "default-Pw-1"
NVR = "34020000001180000001"
CHANNELS = [f"3402000000131000{n:04d}" for n in range(1, 11)]  # cameras 1-10, behind the NVR
OWN = "34020000001320000011"  # camera 11, registers as itself
NEVER = "34020000001310000012"  # camera 12, listed, never registers


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


class Replica(_Replica):
    def __init__(self, tmp: Path, url: str, name: str, sip_port: int, *, extra_env: dict[str, str] | None = None,
                 argv: list[str] | None = None) -> None:  # noqa: D107
        self.name, self.port = name, free_port()
        self.log = tmp / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
        env.update(KEY)
        env.update({
            "CAMWATCH_DB": url, "CAMWATCH_HTTP__PORT": str(self.port), "CAMWATCH_HTTP__HOST": "127.0.0.1",
            "CAMWATCH_LANGUAGE": "en", "CAMWATCH_COLLECTOR__REPLICAS": "true", "CAMWATCH_COLLECTOR__REPLICA_ID": name,
            "CAMWATCH_COLLECTOR__SHARDS": str(SHARDS), "CAMWATCH_COLLECTOR__INTERVAL_S": "2",
            "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "1", "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.3]",
            "CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "5",
            "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "60",
            "CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_GB28181__HOST": "127.0.0.1",
            "CAMWATCH_GB28181__PORT": str(sip_port), "CAMWATCH_GB28181__TRANSPORTS": '["udp"]',
            "CAMWATCH_GB28181__PASSWORD": PASSWORD, "CAMWATCH_GB28181__KEEPALIVE_INTERVAL_S": "1",
            "CAMWATCH_GB28181__STATUS_GRACE_S": "0.5", "CAMWATCH_GB28181__KEEPALIVE_TIMEOUT_S": str(TIMEOUT_S),
            "CAMWATCH_GB28181__PERSIST_EVERY_S": "0.3", "CAMWATCH_GB28181__PERSIST_SEEN_S": "1",
        })
        env.update(extra_env or {})
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        self.launch(argv or [exe, "run"], tmp, env)


async def until(cond: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll *cond* (in a thread: it may read over HTTP or the database; errors count as not yet)
    every 0.2 s while the simulated devices keep alive on this loop; the seconds it took."""
    loop = asyncio.get_running_loop()
    t0, last = loop.time(), None
    while loop.time() - t0 < timeout:
        try:
            if await asyncio.to_thread(cond):
                return loop.time() - t0
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s (last error: {last})")


def devices(r: Replica) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{r.port}/api/v1/gb28181/devices", timeout=5) as resp:
        return dict(json.loads(resp.read()))


def current(url: str) -> dict[int, str]:
    """Each camera's open interval's state."""
    return {cid: ivs[-1][0] for cid, ivs in intervals(url).items() if ivs[-1][2] is None}


def since_online(rows: list[tuple[str, dt.datetime, dt.datetime | None]]) -> list[tuple[str, dt.datetime, dt.datetime | None]]:
    """A camera's intervals from its first ``online`` on. (Before the devices register it may be
    ``not_registered`` already: on a busy machine the replicas' start and the shards' sharing can
    take longer than the grace of 2 x keepalive_timeout_s, which is the platform's rule, not a fault.)"""
    first = next((i for i, (st, _, _) in enumerate(rows) if st == "online"), len(rows))
    return rows[first:]


def gb_inventory(tmp_path: Path, pg_url: str) -> dict[str, int]:
    """The test's cameras imported (all 接入方式 国标): camera id by GB ID."""
    migrated(pg_url)
    rows = [_row(i + 1, gb, "国标") for i, gb in enumerate(CHANNELS)] + [_row(11, OWN, "国标"), _row(12, NEVER, "国标")]
    done = do_import(pg_url, write_csv(tmp_path / "in.csv", HEAD, rows))
    assert done.written and len(done.added_ids) == 12
    return dict(zip([*CHANNELS, OWN, NEVER], done.added_ids, strict=True))


async def register_devices(sim: GbSim) -> None:
    """The NVR and the IPC register to the platform (retried while the leader opens its port) and keep alive."""
    sim.add(SimDevice(NVR, PASSWORD, [SimChannel(ch) for ch in CHANNELS], keepalive_s=1.0))
    sim.add(SimDevice(OWN, PASSWORD, keepalive_s=1.0))
    for dev in (NVR, OWN):
        for _ in range(30):
            try:
                if await sim.register(dev) == 200:
                    break
            except (TimeoutError, OSError):
                pass
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"{dev} could not register to the leader")
        sim.start_keepalives(dev, first_after=0.0)


def test_the_leader_hosts_the_platform_and_relays_verdicts_to_the_owners(tmp_path: Path, pg_url: str) -> None:
    ids = gb_inventory(tmp_path, pg_url)
    sip = _free_port()
    replicas: list[Replica] = []

    async def go() -> None:
        replicas.extend([Replica(tmp_path, pg_url, "g1", sip), Replica(tmp_path, pg_url, "g2", sip)])
        a, b = replicas

        def settled() -> bool:
            sa, sb = a.shards(), b.shards()
            leads = {a.health()["replica"]["leader"], b.health()["replica"]["leader"]}
            return len(sa) == len(sb) == SHARDS // 2 and not sa & sb and len(leads) == 1 and None not in leads

        await until(settled, 90, "two replicas with half the shards each and one leader")
        leader = a if a.health()["replica"]["leader"] == a.name else b
        other = b if leader is a else a
        theirs = {c for c in ids.values() if shard_of(c, SHARDS) in other.shards()}
        assert theirs and theirs != set(ids.values()), "each replica owns some of the GB28181 cameras"
        # the platform answers on the leader only; a device registers to the one SIP address
        sim = GbSim(("127.0.0.1", sip), domain="3402000000", server_id="34020000002000000001")
        await sim.start()
        try:
            await register_devices(sim)
            registered = [ids[g] for g in (*CHANNELS, OWN)]
            took = await until(lambda: all(current(pg_url).get(c) == "online" for c in registered), 60,
                               "every registered camera online, on whichever replica owns it")
            print(f"\nleader {leader.name}; {len(theirs)} camera(s) owned by {other.name}; all online after {took:.1f} s")
            # /healthz: where the platform listens
            assert leader.health()["gb28181"] == {"platform_here": True, "listening": {"udp": f"127.0.0.1:{sip}"},
                                                  "registered_devices": 2, "kubernetes_service": None}
            assert other.health()["gb28181"] == {"platform_here": False, "listening": {}, "registered_devices": None,
                                                 "kubernetes_service": None}
            # the devices' list: from the leader; another replica names the leader
            on_leader, on_other = [await asyncio.to_thread(devices, x) for x in (leader, other)]
            assert on_leader["enabled"] and on_leader["host"] is None
            assert {d["device_id"] for d in on_leader["devices"]} == {NVR, OWN}
            nvr_body = next(d for d in on_leader["devices"] if d["device_id"] == NVR)
            assert {c["camera_id"] for c in nvr_body["channels"]} == {ids[g] for g in CHANNELS}  # (all: both replicas')
            assert on_other == {"enabled": True, "host": leader.name, "unlisted": False, "devices": []}
            told = await asyncio.to_thread(camwatch, tmp_path, "--lang", "zh", "gb28181", "devices", "--url",
                                           f"http://127.0.0.1:{other.port}", env={"CAMWATCH_DB": pg_url})
            assert told.returncode == 0 and f"国标接入平台运行在主副本 {leader.name} 上" in told.stdout, told
            told = await asyncio.to_thread(camwatch, tmp_path, "--lang", "en", "inventory", "import-catalog", NVR, "--out",
                                           str(tmp_path / "nvr.xlsx"), "--url", f"http://127.0.0.1:{other.port}",
                                           env={"CAMWATCH_DB": pg_url})
            assert told.returncode != 0 and f"runs on the leading replica {leader.name}" in told.stderr, told
            assert not (tmp_path / "nvr.xlsx").exists()
            await until(lambda: current(pg_url).get(ids[NEVER]) == "offline", 4 * TIMEOUT_S + 10,
                        "the camera that never registered: not_registered")

            # the IPC dies: offline (platform_offline) on its owner, within the timeout
            sim.kill(OWN)  # (keepalives stop; queries go unanswered)
            took = await until(lambda: current(pg_url).get(ids[OWN]) == "offline", 3 * TIMEOUT_S + 5,
                               "the silent device's camera offline")
            print(f"silent IPC offline after {took:.1f} s (keepalive timeout {TIMEOUT_S:g} s)")

            # the leader killed: the other leads, opens the same SIP port, takes every shard
            nvr = [ids[g] for g in CHANNELS]
            lost = [c for c in nvr if shard_of(c, SHARDS) in leader.shards()]
            assert lost, "the leader owns some of the NVR's cameras"
            killed = dt.datetime.now(dt.UTC)
            leader.proc.send_signal(signal.SIGKILL)
            leader.proc.wait(timeout=10)
            took = await until(lambda: len(other.shards()) == SHARDS and other.health()["replica"]["leader"] == other.name,
                               60, "the survivor leads and holds every shard")
            print(f"{leader.name} killed: {other.name} leads with every shard after {took:.1f} s")
            before = sum(sim.devices[NVR].keepalive_replies.values())
            await until(lambda: sim.devices[NVR].keepalive_replies[200] > 0
                        and sum(sim.devices[NVR].keepalive_replies.values()) > before + 2, 30,
                        "the NVR's keepalives answered by the new leader")
            await until(lambda: all(current(pg_url).get(c) == "online" for c in nvr), 30,
                        "the NVR's cameras online again on the survivor")
            await asyncio.sleep(TIMEOUT_S + 2)  # no false platform_offline once the new leader watches them
            now = await asyncio.to_thread(current, pg_url)
            assert all(now.get(c) == "online" for c in nvr), now
            assert now.get(ids[OWN]) == "offline" and now.get(ids[NEVER]) == "offline", now
        finally:
            await sim.close()
        rows = await asyncio.to_thread(intervals, pg_url)
        assert_contiguous(rows)
        for c in nvr:  # online, maybe unknown across the takeover: never offline
            assert {st for st, _, _ in since_online(rows[c])} <= {"unknown", "online"}, (c, rows[c])
        for c in lost:  # the killed leader's: unknown from its last heartbeat, online again from the relayed verdict
            last_two = [(st, s > killed - dt.timedelta(seconds=5)) for st, s, _ in rows[c][-2:]]
            assert last_two == [("unknown", True), ("online", True)], (c, rows[c])

    try:
        asyncio.run(go())
    finally:
        stop_all(replicas)


def test_a_leader_cut_off_from_postgresql_hands_the_platform_over(tmp_path: Path, pg_url: str) -> None:
    """Not killed: cut off. It stops leading, closes its SIP port on this host; the other replica
    leads, opens the same port once it is free, and the devices' cameras stay online."""
    ids = gb_inventory(tmp_path, pg_url)
    sip = _free_port()
    u = make_url(pg_url)
    proxy = TcpProxy((u.host or "127.0.0.1", u.port or 5432))
    replicas: list[Replica] = []

    async def go() -> None:
        first = Replica(tmp_path, via(pg_url, proxy.port), "c1", sip)  # through the proxy
        replicas.append(first)
        await until(lambda: first.health()["replica"]["leader"] == "c1" and first.health()["gb28181"]["platform_here"],
                    60, "the first replica leads and hosts the platform")
        second = Replica(tmp_path, pg_url, "c2", sip)
        replicas.append(second)
        await until(lambda: len(first.shards()) == len(second.shards()) == SHARDS // 2, 90, "the shards shared")
        sim = GbSim(("127.0.0.1", sip), domain="3402000000", server_id="34020000002000000001")
        await sim.start()
        try:
            await register_devices(sim)
            nvr = [ids[g] for g in CHANNELS]
            await until(lambda: all(current(pg_url).get(c) == "online" for c in nvr), 60, "the NVR's cameras online")
            proxy.stop()
            took = await until(lambda: second.health()["gb28181"]["platform_here"]
                               and len(second.shards()) == SHARDS, 60, "the second replica hosts the platform")
            print(f"\nthe leader cut off: the other hosts the platform after {took:.1f} s")
            assert first.health()["gb28181"]["platform_here"] is False  # (alive, its port closed)
            before = sim.devices[NVR].keepalive_replies[200]
            await until(lambda: sim.devices[NVR].keepalive_replies[200] >= before + 3, 30,
                        "the NVR's keepalives answered by the new leader")
            await until(lambda: all(current(pg_url).get(c) == "online" for c in nvr), 30,
                        "the NVR's cameras online on the new leader")
            await asyncio.sleep(TIMEOUT_S + 2)
            now = await asyncio.to_thread(current, pg_url)
            assert all(now.get(c) == "online" for c in nvr), now
        finally:
            await sim.close()
        rows = await asyncio.to_thread(intervals, pg_url)
        assert_contiguous(rows)
        for c in nvr:
            assert {st for st, _, _ in since_online(rows[c])} <= {"unknown", "online"}, (c, rows[c])

    try:
        asyncio.run(go())
    finally:
        proxy.stop()
        stop_all(replicas)


def test_the_relay_keeps_the_latest_verdict_in_commit_order(pg_url: str) -> None:
    migrated(pg_url)
    t0 = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)

    def v(cid: int, verdict: GbVerdict, s: int) -> RelayedVerdict:
        return RelayedVerdict(cid, verdict, t0 + dt.timedelta(seconds=s), None)

    # a camera twice in a batch: two statements, in order
    batch = [v(1, GbVerdict.ONLINE, 0), v(2, GbVerdict.ONLINE, 0), v(1, GbVerdict.PLATFORM_OFFLINE, 1)]
    assert [[x.camera_id for x in c] for c in chunks(batch)] == [[1, 2], [1]]
    assert [len(c) for c in chunks([v(i, GbVerdict.ONLINE, 0) for i in range(5)], 2)] == [2, 2, 1]

    async def go() -> None:
        engine = create_engine(pg_url)
        try:
            relay = VerdictRelay(engine, "g1")
            for x in batch:
                relay.submit(x)
            assert await relay.flush() == 3 and not relay.queue
            rows = await read_since(engine, 0)
            assert [(r.camera_id, r.verdict) for r in rows] == [(2, GbVerdict.ONLINE), (1, GbVerdict.PLATFORM_OFFLINE)]
            cursor = rows[-1].seq
            relay.submit(v(2, GbVerdict.CHANNEL_OFF, 2))
            assert await relay.flush() == 1
            later = await read_since(engine, cursor)
            assert [(r.camera_id, r.verdict, r.at) for r in later] == [(2, GbVerdict.CHANNEL_OFF, t0 + dt.timedelta(seconds=2))]
            assert {r.camera_id: r.verdict for r in await read_for(engine, [1, 2, 3])} == {
                1: GbVerdict.PLATFORM_OFFLINE, 2: GbVerdict.CHANNEL_OFF}
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_a_leadership_term_never_writes_an_earlier_terms_verdicts(pg_url: str) -> None:
    """What the platform decided but did not write before its replica stopped leading is dropped
    (a newer leader decides again), never written late over a newer leader's verdicts; at a stop
    while leading it is written. A real platform (UDP on loopback) and the local PostgreSQL."""
    migrated(pg_url)
    settings = Gb28181Settings(enabled=True, host="127.0.0.1", port=0, transports=["udp"], password=PASSWORD)
    sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)
    t0 = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)

    async def term(relay: VerdictRelay, queued: list[RelayedVerdict], leading: bool) -> None:
        feeds: list[Gb28181Feed | None] = []
        job = asyncio.create_task(lead_platform(lambda r: Gb28181Feed(settings, sched, list, relay=r), relay,
                                                feeds.append, lambda: leading))
        for _ in range(100):
            if feeds:
                break
            await asyncio.sleep(0.02)
        assert feeds and feeds[0] is not None and feeds[0].platform.addresses["udp"][1] > 0  # it listens
        assert not relay.queue  # (an earlier term's left-overs dropped)
        for v in queued:  # decided now, not yet written
            relay.submit(v)
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
        assert feeds[-1] is None and not relay.queue

    async def go() -> None:
        engine = create_engine(pg_url)
        try:
            relay = VerdictRelay(engine, "g1")
            relay.submit(RelayedVerdict(1, GbVerdict.ONLINE, t0, None))  # left from an earlier term
            await term(relay, [RelayedVerdict(2, GbVerdict.ONLINE, t0, None)], leading=False)  # deposed
            assert await read_since(engine, 0) == []
            await term(relay, [RelayedVerdict(3, GbVerdict.CHANNEL_OFF, t0, None)], leading=True)  # stopped
            assert [(v.camera_id, v.verdict) for v in await read_since(engine, 0)] == [(3, GbVerdict.CHANNEL_OFF)]
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_a_follower_steps_its_own_cameras_dated_from_when_they_came(pg_url: str) -> None:
    """The follower (a real scheduler, the relay on the local PostgreSQL): a verdict older than the
    camera's coming here dates its change at the coming (the unknown gap stays contiguous); a live
    one is dated between the device's last message and the verdict; another replica's camera is
    left alone; one that comes later gets its latest verdict at once; one never heard of is
    not_registered after the grace."""
    migrated(pg_url)
    t0 = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)
    now = [t0]

    def cam(cid: int) -> MonitoredCamera:
        return MonitoredCamera(cid, f"cam{cid}", cid, ProbeTarget("", 554, "/", None, None, None, cid), None, None,
                               Lifecycle.ACTIVE, NOWHERE, access=Access.GB28181)

    async def go() -> None:
        engine = create_engine(pg_url)
        events: list[tuple[int, Changed]] = []
        try:
            relay = VerdictRelay(engine, "g1")
            old = t0 - dt.timedelta(hours=1)
            for cid in (1, 2):
                relay.submit(RelayedVerdict(cid, GbVerdict.ONLINE, old, None))
            await relay.flush()
            sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None, clock=lambda: now[0],
                              on_event=lambda c, ev: events.append((c.id, ev)) if isinstance(ev, Changed) else None)
            sched.sync([cam(1), cam(3)], [])  # camera 2 is another replica's
            f = VerdictFollower(engine, Signalled(sched, 30.0, lambda: now[0]), clock=lambda: now[0])
            now[0] = t0 + dt.timedelta(seconds=2)
            await f.step()
            assert events == [(1, Changed(State.UNKNOWN, State.ONLINE, None, now[0], now[0]))]  # not an hour ago
            assert 2 not in sched.slots and sched.slots[3].status.state is State.UNKNOWN

            relay.submit(RelayedVerdict(1, GbVerdict.PLATFORM_OFFLINE, t0 + dt.timedelta(seconds=10),
                                        t0 + dt.timedelta(seconds=6)))
            await relay.flush()
            now[0] = t0 + dt.timedelta(seconds=11)
            await f.step()
            ev = events[-1][1]
            assert (events[-1][0], ev.new, ev.cause) == (1, State.OFFLINE, Cause.PLATFORM_OFFLINE)
            assert ev.start == t0 + dt.timedelta(seconds=8) and ev.uncertainty_s == 2.0  # between 6 and 10 s

            sched.sync([cam(1), cam(2), cam(3)], [])  # camera 2 comes here (a takeover)
            now[0] = t0 + dt.timedelta(seconds=12)
            await f.step()
            assert events[-1] == (2, Changed(State.UNKNOWN, State.ONLINE, None, now[0], now[0]))

            f.signalled.grace_s = 0.0  # camera 3: never heard of
            await f.step()
            assert (events[-1][0], events[-1][1].new, events[-1][1].cause) == (3, State.OFFLINE, Cause.NOT_REGISTERED)
        finally:
            await engine.dispose()

    asyncio.run(go())
