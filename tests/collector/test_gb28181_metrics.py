"""The GB/T 28181 platform's counters on /metrics (``camwatch_gb28181_*``, families.GB28181_FAMILIES):
the collector (the App as ``camwatch run`` builds it, SQLite) with simulated devices registering,
refreshing, restarting, guessing passwords and talking out of turn over UDP on loopback; its real
/metrics scraped, checked by ``promtool check metrics``; and the Collector over a registry the test
passes in agreeing with the fast renderer."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.gb28181.counters import PlatformCounts, Query, Refusal
from collector.gb28181.registrations import Registration
from collector.metrics import families
from collector.metrics.exposition import render_text
from collector.metrics.gb28181 import Gb28181Collector
from collector.metrics.registry import CamwatchCollector
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings
from probes.sim.gb28181_sim import GbSim, SimChannel, SimDevice
from tests.collector.gb28181_app import gb_app, gb_settings
from tests.collector.test_gb28181_feed import HEAD, _row, _until
from tests.collector.test_gb28181_platform import IPC, make_rig
from tests.inventory.helpers import do_import, migrated, write_csv

NVR, CH1, CH2 = "34020000001180000001", "34020000001310000001", "34020000001310000002"
LONE = "34020000001320000007"  # never registers; its keepalive is refused
GB_NAMES = {f.name for f in families.GB28181_FAMILIES}
COUNTS = PlatformCounts(((Registration.NEW, 3), (Registration.REFRESH, 0), (Registration.RESTART, 1),
                         (Registration.UNREGISTER, 0)), 2, 1, tuple((r, i) for i, r in enumerate(Refusal)), 40,
                        ((Query.CATALOG, 4), (Query.DEVICE_STATUS, 0), (Query.DEVICE_INFO, 3)), 2)


def _families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {fam.name: [(s.name, s.labels, s.value) for s in fam.samples]
            for fam in text_string_to_metric_families(text)}


def _gb(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {k: v for k, v in _families(text).items() if k.startswith("camwatch_gb28181_")}


def _promtool(text: str) -> None:
    path = shutil.which("promtool")
    assert path, "promtool not found: install Debian's prometheus package (.ci/setup does)"
    r = subprocess.run([path, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), (r.stdout, r.stderr)


def _fixed(counts: PlatformCounts | None) -> Gb28181Collector:
    return Gb28181Collector(lambda: counts)


def test_both_renderers_write_the_platform_families_as_declared() -> None:
    async def empty() -> Scheduler:
        return Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)

    sched = asyncio.run(empty())
    for counts in (COUNTS, None):  # None: the platform does not run here (a replica that does not lead)
        c = CamwatchCollector(sched, more=(_fixed(counts),))
        reg = CollectorRegistry()
        reg.register(c)
        fast, slow = render_text(c).decode(), generate_latest(reg).decode()
        assert _gb(fast) == _gb(slow)
        assert list(_gb(fast)) == [f.name.removesuffix("_total") for f in families.GB28181_FAMILIES]
        for f in families.GB28181_FAMILIES:
            assert f"# HELP {f.name} {f.help}\n# TYPE {f.name} {f.kind}\n" in fast
        got = _gb(fast)
        if counts is None:
            assert all(not samples for samples in got.values())
            continue
        by = {name: {tuple(sorted(lb.items())): v for _, lb, v in samples} for name, samples in got.items()}
        assert by["camwatch_gb28181_registrations"] == {(("kind", "new"),): 3, (("kind", "refresh"),): 0,
                                                        (("kind", "restart"),): 1, (("kind", "unregister"),): 0}
        assert by["camwatch_gb28181_refused"] == {(("reason", r.value),): i for i, r in enumerate(Refusal)}
        assert by["camwatch_gb28181_blocked_addresses"] == {(): 1} and by["camwatch_gb28181_registered_devices"] == {(): 2}
        _promtool(fast)
    # without the platform (gb28181.enabled false) nothing of it is written
    assert not _gb(render_text(CamwatchCollector(sched)).decode())


async def test_each_refusal_is_counted_under_its_reason() -> None:
    """One refusal of each kind on a platform over UDP on loopback: each counted once, under its
    reason; none of them a wrong password."""
    rig = await make_rig(password=None, min_expires_s=30)  # no default password: only IPC has one
    twin = GbSim(rig.platform.addresses["udp"], domain=rig.settings.domain, server_id=rig.settings.server_id,
                 local_host="127.0.0.2")
    try:
        sim = rig.sim
        await twin.start()
        short = NVR[:-1]
        sim.add(SimDevice(short, "x"))
        sim.add(SimDevice(NVR, "x"))
        ipc = sim.add(SimDevice(IPC, "ipc-own-pw", realm="4401000000"))  # answers with its own domain
        assert await sim.register(short) == 400  # bad_id
        assert await sim.register(NVR) == 403  # no_password
        assert await sim.register(IPC) == 401  # bad_digest
        ipc.realm = None
        assert await sim.register(IPC, expires=5) == 423  # too_brief
        assert await sim.register(IPC) == 200
        twin.add(SimDevice(IPC, "ipc-own-pw"))
        await twin._peer(twin.devices[IPC])
        assert await twin.keepalive(IPC) == 403  # other_address
        assert await sim.keepalive(NVR) == 403  # not_registered
        bad = sim._request(ipc, "MESSAGE", b"<<<")
        assert (await sim._transact(ipc, bad)).status == 400  # bad_body
        counts = rig.platform.counts()
        assert dict(counts.refused) == {r: 0 if r is Refusal.BLOCKED else 1 for r in Refusal}
        assert counts.auth_failures == 0 and counts.blocked_addresses == 0 and counts.registered_devices == 1
        assert dict(counts.registrations) == {Registration.NEW: 1, Registration.REFRESH: 0, Registration.RESTART: 0,
                                              Registration.UNREGISTER: 0}
        assert dict(counts.queries)[Query.CATALOG] == 1 and dict(counts.queries)[Query.DEVICE_INFO] == 1
        assert await sim.unregister(IPC) == 200
        assert dict(rig.platform.counts().registrations)[Registration.UNREGISTER] == 1
        assert rig.platform.counts().registered_devices == 0
    finally:
        await twin.close()
        await rig.sim.close()
        await rig.platform.close()


def test_a_running_collector_exports_the_platform_counters(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, CH1, "国标"), _row(2, CH2, "国标"),
                                                                  _row(3, LONE, "国标")])).written

    async def go() -> None:
        async with gb_app(url, gb_settings(url, GB28181__AUTH_FAILURES="2", GB28181__AUTH_BLOCK_S="600")) as rig:
            feed = rig.feed

            async def scrape(gzip: bool = False) -> str:
                headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
                async with aiohttp.ClientSession() as http, \
                        http.get(f"http://127.0.0.1:{rig.http_port}/metrics", headers=headers) as r:
                    assert r.status == 200 and (r.headers.get("Content-Encoding") == "gzip") is gzip
                    return await r.text()

            def value(text: str, family: str, **labels: str) -> float:
                found = [v for _, lb, v in _families(text)[family.removesuffix("_total")] if lb == labels]
                assert len(found) == 1, (family, labels, _families(text)[family.removesuffix("_total")])
                return found[0]

            before = await scrape()
            assert value(before, "camwatch_gb28181_registrations_total", kind="new") == 0
            assert value(before, "camwatch_gb28181_registered_devices") == 0

            sim, thief = await rig.sim(), await rig.sim(local_host="127.0.0.2")
            dev = sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1)], keepalive_s=0.5))
            sim.add(SimDevice(LONE, "default-Pw-1"))
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            await _until(lambda: feed.platform.registry.device(NVR) is not None
                         and feed.platform.registry.device(NVR).catalog_at is not None, 10)  # type: ignore[union-attr]
            assert await sim.register(NVR) == 200  # a refresh
            sim.restart(NVR, channels=[SimChannel(CH1), SimChannel(CH2)])  # rebooted with another channel
            assert await sim.register(NVR) == 200
            sim.start_keepalives(NVR, first_after=0.0)
            await _until(lambda: set(feed.platform.registry.device(NVR).channels) == {CH1, CH2}, 5)  # type: ignore[union-attr]
            await sim._peer(sim.devices[LONE])
            assert await sim.keepalive(LONE) == 403  # not registered
            thief.add(SimDevice(NVR, "guess"))
            for _ in range(2):
                assert await thief.register(NVR) == 403  # wrong passwords: the address is blocked after 2
            assert await thief.register(NVR, password="default-Pw-1") == 403  # blocked: not even checked
            await asyncio.sleep(1.5)  # a few keepalives

            text = await scrape()
            assert await scrape(gzip=True)  # (what Prometheus asks for: the same families, gzipped)
            assert value(text, "camwatch_gb28181_registrations_total", kind="new") == 1
            assert value(text, "camwatch_gb28181_registrations_total", kind="refresh") == 1
            assert value(text, "camwatch_gb28181_registrations_total", kind="restart") == 1
            assert value(text, "camwatch_gb28181_registrations_total", kind="unregister") == 0
            assert value(text, "camwatch_gb28181_auth_failures_total") == 2
            assert value(text, "camwatch_gb28181_blocked_addresses") == 1
            assert value(text, "camwatch_gb28181_refused_total", reason="blocked") == 1
            assert value(text, "camwatch_gb28181_refused_total", reason="not_registered") == 1
            assert value(text, "camwatch_gb28181_refused_total", reason="bad_id") == 0
            assert value(text, "camwatch_gb28181_keepalives_total") >= 2
            assert value(text, "camwatch_gb28181_queries_total", query="catalog") == dev.queries["Catalog"] == 2
            assert value(text, "camwatch_gb28181_queries_total", query="device_info") == 2
            assert value(text, "camwatch_gb28181_registered_devices") == 1
            # bounded labels: the fixed sets, never a device ID or an address
            allowed = {"kind": {k.value for k in Registration}, "reason": {r.value for r in Refusal},
                       "query": {q.value for q in Query}}
            gb = _gb(text)
            assert {f.name.removesuffix("_total") for f in families.GB28181_FAMILIES} == set(gb)
            for samples in gb.values():
                for _, labels, _ in samples:
                    assert all(v in allowed[k] for k, v in labels.items()), labels
            assert NVR not in text and "127.0.0.2" not in text and "default-Pw-1" not in text and "guess" not in text
            _promtool(text)
            await asyncio.sleep(1.0)
            again = await scrape()  # counters only go up
            assert value(again, "camwatch_gb28181_keepalives_total") >= value(text, "camwatch_gb28181_keepalives_total")

    asyncio.run(go())
