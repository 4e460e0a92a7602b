"""/metrics put together from blocks and gzipped from pieces (collector.metrics.exposition, gzjoin),
``metrics.per_camera: offline_only``, and the region families of a replica (the leader's counts
over the whole fleet; none on the others). In process, on a real Scheduler's slots; the /metrics
handler over a real aiohttp server with gzip."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import random
import zlib
from types import SimpleNamespace

import pytest
from aiohttp import ClientSession, web
from prometheus_client import CollectorRegistry, generate_latest

from collector.metrics import exposition
from collector.metrics.exposition import render, render_async, wants_gzip
from collector.metrics.gzjoin import Piece, crc32_combine, gzip_join
from collector.metrics.registry import NO_REGIONS, CamwatchCollector, RegionFigures, fleet_counts
from collector.runtime.camera_state import State, Status
from collector.web import server
from collector.web.common import APP_KEY
from probes.base import Cause, ProbeResult, Stage
from probes.kept import kept
from probes.ladder import LadderResult
from tests.collector.test_metrics import NOW, _collector, _families, _samples, _scheduler

FAMILY_LINES = ("camwatch_camera_up", "camwatch_camera_location", "camwatch_camera_state_since_timestamp_seconds")


def test_crc32_combine_and_a_stream_joined_from_pieces() -> None:
    rnd = random.Random(3)
    parts = [rnd.randbytes(rnd.randrange(0, 5000)) for _ in range(40)] + [b"", b"camwatch " * 50_000, b""]
    for a, b in zip(parts, parts[1:], strict=False):
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    body = gzip_join(Piece.of(p) for p in parts)
    whole = b"".join(parts)
    assert gzip.decompress(body) == whole
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one gzip member, nothing after it
    assert d.decompress(body) == whole and d.eof and d.unused_data == b""
    assert gzip.decompress(gzip_join([])) == b""


def test_accept_encoding() -> None:
    assert wants_gzip("gzip")
    assert wants_gzip("identity, gzip;q=0.5")
    assert wants_gzip("deflate, GZIP")
    assert not wants_gzip("")
    assert not wants_gzip("identity")
    assert not wants_gzip("gzip;q=0")
    assert not wants_gzip("br, deflate")


def _reference(c: CamwatchCollector) -> dict[str, tuple[str, str, list[tuple[str, tuple[tuple[str, str], ...], float]]]]:
    reg = CollectorRegistry()
    reg.register(c)
    return _families(generate_latest(reg).decode())


@pytest.mark.parametrize("inflight", [0, 100, exposition.INFLIGHT_BYTES])
def test_gzip_body_is_the_plain_text_scrape_after_scrape(inflight: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gzipped body (pieces kept between scrapes, only the changed ones deflated again) is the
    plain text, and both are prometheus_client's families, through new results, transitions,
    exclusions and cameras going away; whatever the bound on text waiting to be deflated (0: each
    block's pieces are waited for before the next block's text is made)."""
    monkeypatch.setattr(exposition, "INFLIGHT_BYTES", inflight)
    s = _scheduler()
    c = _collector(s)

    def check(tag: str) -> None:
        body = render(c, gzip=True)
        text = render(c)
        assert gzip.decompress(body) == text, tag
        assert _families(text.decode()) == _reference(c), tag

    check("first")
    stages = (ProbeResult(Stage.REACH, True, 0.004), ProbeResult(Stage.RTSP, True, 0.25))
    s.slots[1].last = kept(LadderResult(State.ONLINE, None, stages, 1.5), NOW)
    check("a new result")
    s.slots[1].status = Status(State.OFFLINE, Cause.REFUSED, NOW + dt.timedelta(minutes=1))
    s.slots[5].status = Status(State.ONLINE, None, NOW + dt.timedelta(minutes=1))
    check("transitions (blocks changed)")
    s.slots[3].excluded = True
    check("excluded")
    del s.slots[6]
    check("a camera gone")
    assert render(c, gzip=True) == render(c, gzip=True)  # nothing changed: the same bytes


def test_offline_only_exports_the_cameras_to_act_on_and_counts_every_camera() -> None:
    """offline_only: per-camera series only for offline and degraded cameras (not excluded); the
    region counts still take every camera; a camera coming back online leaves /metrics."""
    s = _scheduler()
    full, bounded = _collector(s), _collector(s)
    bounded.offline_only = True
    assert CamwatchCollector(s, per_camera="offline_only").offline_only

    def cameras(c: CamwatchCollector, family: str) -> set[str]:
        text = render(c).decode()
        assert _families(text) == _reference(c)  # both renderers agree on the bounded set too
        return {dict(lb)["camera"] for name, lb, _ in _samples(text) if name == family}

    for family in FAMILY_LINES:
        assert cameras(bounded, family) <= {"2", "3"}  # 2 offline, 3 degraded; 1 online, 4 excluded, 5-6 unknown
    assert cameras(bounded, "camwatch_camera_location") == {"2", "3"}
    assert cameras(full, "camwatch_camera_location") == {"1", "2", "3", "4", "5", "6"}
    regions = {smp for smp in _samples(render(bounded).decode()) if smp[0] == "camwatch_region_cameras"}
    assert regions and regions == {smp for smp in _samples(render(full).decode()) if smp[0] == "camwatch_region_cameras"}
    s.slots[2].status = Status(State.ONLINE, None, NOW + dt.timedelta(minutes=2))
    assert cameras(bounded, "camwatch_camera_location") == {"3"}
    s.slots[1].status = Status(State.OFFLINE, Cause.TIMEOUT, NOW + dt.timedelta(minutes=3))  # its lines made now
    assert cameras(bounded, "camwatch_camera_location") == {"1", "3"}
    assert cameras(bounded, "camwatch_camera_offline_cause") == {"1"}
    assert gzip.decompress(render(bounded, gzip=True)) == render(bounded)


def test_per_camera_changed_on_a_running_collector_places_every_camera_again() -> None:
    """A camera's blocks follow from its key and ``metrics.per_camera`` (no map of them is kept):
    the same collector switched between ``all`` and ``offline_only`` renders what a new one does,
    plain and gzipped, through transitions in between."""
    s = _scheduler()
    c = _collector(s)

    def same_as_new(tag: str) -> None:
        fresh = _collector(s)
        fresh.offline_only = c.offline_only
        assert render(c) == render(fresh), tag
        assert gzip.decompress(render(c, gzip=True)) == render(fresh), tag
        assert _families(render(c).decode()) == _reference(c), tag

    same_as_new("all")
    c.offline_only = True
    same_as_new("offline_only")
    s.slots[1].status = Status(State.OFFLINE, Cause.TIMEOUT, NOW + dt.timedelta(minutes=3))
    s.slots[2].status = Status(State.ONLINE, None, NOW + dt.timedelta(minutes=3))
    same_as_new("offline_only, after transitions")
    c.offline_only = False
    same_as_new("all again")


def test_region_families_from_the_fleet_counts_or_none() -> None:
    """Replicas: the leader's figures carry the counts over the whole fleet, which both renderers
    export instead of its own slots' (a camera of another replica counted; none twice); a replica
    that is not the leader exports no region sample at all."""
    s = _scheduler()
    cams = [slot.cam for slot in s.slots.values()]
    other = dataclasses.replace(cams[0], id=99, name="另一副本的摄像机")  # owned by another replica
    states = {1: "online", 2: "offline", 3: "degraded", 4: "online", 99: "offline"}  # 5, 6: unknown
    counts, names = fleet_counts([*cams, other], states, {4})
    assert counts[("county", "130123000000")] == (1, 1, 2, 2, 1)  # online, degraded, offline, unknown, excluded
    assert counts[("village", "130123101201")] == (1, 1, 2, 0, 0)
    assert names[("village", "130123101201")] == "东关村"
    leader = CamwatchCollector(s, regions=lambda: RegionFigures(counts=counts, names=names))
    ratio = {dict(lb)["region"]: v for name, lb, v in _samples(render(leader).decode())
             if name == "camwatch_region_online_ratio"}
    assert ratio["130123000000"] == 2 / 4
    assert _families(render(leader).decode()) == _reference(leader)
    other_replica = CamwatchCollector(s, regions=lambda: NO_REGIONS)
    text = render(other_replica).decode()
    assert not [smp for smp in _samples(text) if smp[0].startswith("camwatch_region_")]
    assert _families(text) == _reference(other_replica)
    assert "# TYPE camwatch_region_cameras gauge" in text  # the families are declared, empty


def test_metrics_handler_gzip_as_prometheus_asks() -> None:
    """The real handler on a real server: gzip when asked (Content-Encoding, one stream that
    decompresses to the plain body), plain otherwise; rendered off the event loop."""

    c = _collector(_scheduler())

    async def go() -> None:
        webapp = web.Application()
        webapp[APP_KEY] = SimpleNamespace(collector=c)
        webapp.router.add_get("/metrics", server._metrics)
        webapp.cleanup_ctx.append(server.metrics_ready)
        runner = web.AppRunner(webapp)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            async with ClientSession(auto_decompress=False) as http:
                async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
                    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
                    zipped = await r.read()
                async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
                    assert "Content-Encoding" not in r.headers
                    plain = await r.read()
            assert gzip.decompress(zipped) == plain
            assert _families(plain.decode()) == _reference(c)
            async with ClientSession() as http, http.get(url) as r:  # aiohttp's own gunzip reads it whole
                assert await r.read() == plain
            assert await render_async(c, gzip=False) == plain
        finally:
            await runner.cleanup()

    asyncio.run(go())
