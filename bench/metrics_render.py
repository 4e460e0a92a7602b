"""Benchmark: ``/metrics`` for a large fleet, as Prometheus scrapes it (gzip), against the plain text
and prometheus_client's own renderer.

    .venv/bin/python bench/metrics_render.py [--cameras 100000] [--scrapes 5] [--scrape-interval 30]
                                             [--prometheus-scrapes 4] [--per-camera all|offline_only]

Fills a real :class:`collector.runtime.scheduler.Scheduler`'s slots with ``--cameras`` cameras in a
synthetic county (Chinese names; ~110 townships, ~2,100 villages) in realistic states: 93 %
online, 2 % degraded, 4 % offline with a cause, 1 % unknown, 0.5 % excluded; each with its
last fast-tier result (reach, RTSP, ONVIF stage durations, clock offset) and region figures
(1 d / 30 d availability, coverage, targets) as the collector refreshes them.

Probing is modelled as the scheduler does it: a camera is probed at its phase of the 60 s
interval (:func:`collector.runtime.slots.phase_of`), offline ones every 15 s; between two scrapes
``--scrape-interval`` s apart the cameras whose phase fell in that window (and every offline one)
get a new result, 1 % of them a new state.

1. In process: :func:`collector.metrics.exposition.render` cold, then warm over ``--scrapes``
   scrapes, plain and gzipped (CPU time beside: steadier on a shared box); the baseline
   ``prometheus_client.generate_latest`` over the same collector (same series, same heads).
2. Over HTTP, as Prometheus scrapes: the real ``/metrics`` handler (collector.web.server) on an
   aiohttp server on loopback, the probes model running on its event loop every second; curl
   with Prometheus's headers (``Accept-Encoding: gzip``, its default ``Accept``) times whole
   scrapes, then a real Prometheus (Debian ``prometheus``) scrapes it ``--prometheus-scrapes``
   times and its ``scrape_duration_seconds`` and ``scrape_samples_scraped`` are read back.
   The event loop's longest stall during the scrapes is printed too.
3. The floor: the same gzip body served as it is by a static aiohttp handler (nothing made per
   scrape), scraped by a real Prometheus the same way: what Prometheus itself needs to fetch,
   gunzip, parse and store these samples on this box, whatever the exporter does.
The last line reads e.g. ``metrics scrape 100000 cameras (gzip, as Prometheus): 0.86 s median of
its warm scrapes (goal <= 1 s) PASS; Prometheus alone on the same body from a static server 0.70 s
(within the goal: its own floor on this box); ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import gzip
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from collector.metrics.exposition import PREPARE_S, prepare, render  # noqa: E402
from collector.metrics.registry import CamwatchCollector, RegionFigures  # noqa: E402
from collector.runtime.camera_state import State, Status  # noqa: E402
from collector.runtime.gc_tuning import settle_gc  # noqa: E402
from collector.runtime.scheduler import Scheduler  # noqa: E402
from collector.runtime.scheduler_config import SchedulerConfig  # noqa: E402
from collector.runtime.slots import phase_of  # noqa: E402
from collector.settings import CollectorSettings  # noqa: E402
from collector.web import server  # noqa: E402
from collector.web.common import APP_KEY  # noqa: E402
from inventory.models import Lifecycle  # noqa: E402
from inventory.monitored import MonitoredCamera, RegionLabels  # noqa: E402
from inventory.synthetic import sim_address  # noqa: E402
from probes.base import Cause, ProbeResult, ProbeTarget, Stage  # noqa: E402
from probes.kept import kept  # noqa: E402
from probes.ladder import LadderResult  # noqa: E402
from tests.net import free_port  # noqa: E402

GOAL_S = 1.0
SETTLE = True
CAUSES = (Cause.UNREACHABLE, Cause.TIMEOUT, Cause.REFUSED, Cause.AUTH_FAILED, Cause.UPSTREAM_DOWN)
TOWNS = ("城关镇", "东风镇", "新华乡", "红旗镇", "太平乡", "永安镇", "和平乡", "长青镇", "丰收乡", "建设镇")
POINTS = ("村口", "十字路口", "村委会", "学校门口", "池塘", "广场", "桥头", "卫生室")


def cameras(n: int) -> list[MonitoredCamera]:
    out = []
    shared: dict[str, RegionLabels] = {}
    per_village = 48
    per_township = 19 * per_village
    for i in range(1, n + 1):
        t, v = 101 + (i - 1) // per_township, 201 + ((i - 1) % per_township) // per_village
        t_code, v_code = f"130123{t:03d}000", f"130123{t:03d}{v:03d}"
        labels = shared.get(v_code)
        if labels is None:  # one per village, as inventory.lookup.load_monitored shares them
            labels = shared[v_code] = RegionLabels(v_code, f"{'东西南北前后'[v % 6]}{'王李张刘陈'[t % 5]}庄{v}", t_code,
                                                   f"{TOWNS[t % 10]}{t}", "130123000000", "示范县")
        point = POINTS[i % len(POINTS)]
        out.append(MonitoredCamera(
            i, f"{labels.village_name}{point}{i}", i, ProbeTarget(sim_address(i - 1), 8554, "/Streaming/Channels/101", 8000, "admin", "x", i),
            None, "示范县运维公司", Lifecycle.ACTIVE, labels, point, 114.2 + (i % 997) * 0.001, 38.1 + (i % 991) * 0.001))
    return out


def probe_result(rnd: random.Random, state: State, cause: Cause | None) -> LadderResult:
    reach = rnd.uniform(0.0005, 0.05)
    if state is State.OFFLINE:
        return LadderResult(state, cause, (ProbeResult(Stage.REACH, False, 3.0 if cause is Cause.TIMEOUT else reach, cause),))
    return LadderResult(state, None, (
        ProbeResult(Stage.REACH, True, reach), ProbeResult(Stage.RTSP, True, rnd.uniform(0.002, 0.2)),
        ProbeResult(Stage.ONVIF, True, rnd.uniform(0.005, 0.3))), clock_offset_s=rnd.uniform(-40, 40))


def pick_state(rnd: random.Random) -> tuple[State, Cause | None]:
    r = rnd.random()
    if r < 0.93:
        return State.ONLINE, None
    if r < 0.95:
        return State.DEGRADED, None
    if r < 0.99:
        return State.OFFLINE, rnd.choice(CAUSES)
    return State.UNKNOWN, None


def region_figures(cams: list[MonitoredCamera], rnd: random.Random) -> RegionFigures:
    names: dict[tuple[str, str], str] = {}
    for c in cams:
        lb = c.labels
        names[("village", lb.village)] = lb.village_name
        names[("township", lb.township)] = lb.township_name
        names[("county", lb.county)] = lb.county_name
    avail = {(lv, code, w): rnd.uniform(0.85, 1.0) for (lv, code) in names for w in ("1d", "30d")}
    cov = {key: rnd.uniform(0.8, 1.0) for key in names}
    targets = {key: 0.95 for key in names if key[0] != "village"}
    return RegionFigures(names, avail, cov, targets)


def change(sched: Scheduler, window: tuple[float, float], rnd: random.Random, now: dt.datetime) -> int:
    """A new probe result for the cameras probed in *window* (fractions of the interval: their phase
    falls in it) and for every offline camera (re-probed every 15 s); 1 % of those change state."""
    lo, hi = window
    n = 0
    for cid, slot in sched.slots.items():
        ph = PHASE[cid]
        due = (lo <= ph < hi) if lo <= hi else (ph >= lo or ph < hi)
        if not due and slot.status.state is not State.OFFLINE:
            continue
        n += 1
        if rnd.random() < 0.01:
            state, cause = pick_state(rnd)
            slot.status = Status(state, cause, now)
        st = slot.status.state
        slot.last = kept(probe_result(rnd, st if st is not State.UNKNOWN else State.ONLINE, slot.status.cause), now)
    return n


PHASE: dict[int, float] = {}
PREPARED: list[float] = []  # CPU seconds of the prepared in-process gzip scrapes


def _shape(text: bytes) -> tuple[int, list[bytes]]:
    """The number of series of an exposition and its ``#`` lines (HELP and TYPE)."""
    lines = text.split(b"\n")
    heads = [line for line in lines if line.startswith(b"#")]
    return sum(1 for line in lines if line) - len(heads), heads


def load() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return "load " + " ".join(fh.read().split()[:3])


def build(n: int, per_camera: str) -> tuple[Scheduler, CamwatchCollector, RegionFigures, random.Random, dt.datetime]:
    rnd = random.Random(5)
    cams = cameras(n)
    sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings()), None)
    sched.sync(cams, [])
    now = dt.datetime.now(dt.UTC)
    for cid, slot in sched.slots.items():
        PHASE[cid] = phase_of(cid, 1.0)
        state, cause = pick_state(rnd)
        slot.status = Status(state, cause, now - dt.timedelta(seconds=rnd.uniform(0, 30 * 86400)))
        if state is not State.UNKNOWN:
            slot.last = kept(probe_result(rnd, state, cause), now)  # as the scheduler keeps it
            slot.video_ok = state is State.ONLINE
        slot.excluded = rnd.random() < 0.005
    for lo in (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0):
        for _ in range(n // 10):
            sched.lateness.observe(rnd.uniform(0, lo))
    sched.last_sweep_s = 59.2
    figures = region_figures(cams, rnd)
    collector = CamwatchCollector(sched, regions=lambda: figures, per_camera=per_camera)
    return sched, collector, figures, rnd, now


def in_process(n: int, scrapes: int, every: float, per_camera: str) -> None:
    sched, collector, figures, rnd, now = build(n, per_camera)
    if SETTLE:
        settle_gc()  # as `camwatch run` does once its inventory is loaded (gc.freeze + thresholds)
    else:
        gc.collect()
    t0 = time.perf_counter()
    text = render(collector)
    cold = time.perf_counter() - t0
    series = sum(1 for line in text.split(b"\n") if line and not line.startswith(b"#"))
    t0 = time.perf_counter()
    body = render(collector, gzip=True)
    cold_gz = time.perf_counter() - t0
    print(f"cold: plain {cold:.2f} s, {len(text) / 1e6:.0f} MB, {series} series; gzip {cold_gz:.2f} s more "
          f"(every block deflated), {len(body) / 1e6:.1f} MB ({load()})", flush=True)
    plain: list[float] = []
    gz: list[float] = []
    gz_cpu: list[float] = []
    span = every / INTERVAL_S
    for i in range(scrapes):
        lo = (i * span) % 1.0
        changed = change(sched, (lo, (lo + span) % 1.0), rnd, now + dt.timedelta(seconds=every * (i + 1)))
        t0, c0 = time.perf_counter(), time.process_time()
        body = render(collector, gzip=True)
        gz.append(time.perf_counter() - t0)
        gz_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        text = render(collector)
        plain.append(time.perf_counter() - t0)
        assert gzip.decompress(body) == text, "the gzip body is not the plain text"
        print(f"  scrape {i + 1}: {changed} cameras re-probed; gzip {gz[-1]:.2f} s (CPU {gz_cpu[-1]:.2f} s, "
              f"{len(body) / 1e6:.1f} MB), plain {plain[-1]:.2f} s ({len(text) / 1e6:.0f} MB)", flush=True)
    print(f"warm: gzip median {statistics.median(gz):.2f} s (CPU {statistics.median(gz_cpu):.2f} s), plain median "
          f"{statistics.median(plain):.2f} s ({every:g} s between scrapes, 60 s interval; {load()})")
    # as camwatch run does it: what changed prepared every PREPARE_S between scrapes (keep_ready)
    prepared: list[float] = []
    prepared_cpu: list[float] = []
    t_sim = scrapes * every
    for _ in range(scrapes):
        steps = max(1, round(every / PREPARE_S))
        for k in range(steps):
            lo = (t_sim / INTERVAL_S) % 1.0
            t_sim += PREPARE_S
            change(sched, (lo, (lo + PREPARE_S / INTERVAL_S) % 1.0), rnd, now + dt.timedelta(seconds=t_sim))
            if k < steps - 1:
                prepare(collector, list(sched.slots.values()), gzip=True)
        t0, c0 = time.perf_counter(), time.process_time()
        render(collector, gzip=True)
        prepared.append(time.perf_counter() - t0)
        prepared_cpu.append(time.process_time() - c0)
    PREPARED.extend(prepared_cpu)
    print(f"prepared every {PREPARE_S:g} s (as camwatch run): gzip scrape " + ", ".join(f"{w:.2f}" for w in prepared)
          + " s, CPU " + ", ".join(f"{c:.2f}" for c in prepared_cpu) + f" s (both compressing threads; {load()})")
    text = render(collector)  # the state now (the prepared scrapes moved it on)
    for_reg = CollectorRegistry()
    for_reg.register(CamwatchCollector(sched, regions=lambda: figures, per_camera=per_camera))
    t0, c0 = time.perf_counter(), time.process_time()
    base = generate_latest(for_reg)
    base_s, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    base_series, base_heads = _shape(base)
    assert (base_series, base_heads) == _shape(text), "render and generate_latest disagree on the series or heads"
    print(f"baseline prometheus_client generate_latest (plain): {base_s:.2f} s for the same {base_series} series"
          f" ({base_s / statistics.median(gz):.1f}x the warm gzip render); CPU {base_cpu:.2f} s")


PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # Prometheus 2.42's default


async def over_http(n: int, every: float, prom_scrapes: int, per_camera: str, curls: int) -> tuple[float, float]:
    sched, collector, _, rnd, now = build(n, per_camera)
    if SETTLE:
        settle_gc()
    webapp = web.Application()
    webapp[APP_KEY] = SimpleNamespace(collector=collector)  # what the handler reads of the App
    webapp.router.add_get("/metrics", server._metrics)  # the real /metrics handler ...
    webapp.cleanup_ctx.append(server.metrics_ready)  # ... prepared between scrapes, as in camwatch run
    runner = web.AppRunner(webapp, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/metrics"
    stall = [0.0]

    async def probing() -> None:  # the cameras due each second get their new result, on the loop
        t, last = 0, time.perf_counter()
        while True:
            await asyncio.sleep(1.0)
            gap = time.perf_counter() - last
            stall[0] = max(stall[0], gap - 1.0)
            lo = (t / INTERVAL_S) % 1.0
            change(sched, (lo, (lo + 1 / INTERVAL_S) % 1.0), rnd, now + dt.timedelta(seconds=t))
            t += 1
            last = time.perf_counter()

    task = asyncio.create_task(probing())
    try:
        await asyncio.sleep(0.1)
        first = await curl(url)  # cold: every block rendered and deflated
        print(f"HTTP cold scrape (curl, gzip): {first[0]:.2f} s, {first[1] / 1e6:.1f} MB", flush=True)
        times = []
        stall[0] = 0.0
        for _ in range(curls):
            await asyncio.sleep(every)
            took, size = await curl(url)
            times.append(took)
            print(f"  curl scrape after {every:g} s: {took:.2f} s, {size / 1e6:.1f} MB ({load()})", flush=True)
        print(f"curl (Prometheus's headers, gzip): median {statistics.median(times):.2f} s, max {max(times):.2f} s;"
              f" longest event-loop stall {stall[0] * 1000:.0f} ms")
        med = await prometheus(url, every, prom_scrapes)
    finally:
        task.cancel()
        await runner.cleanup()
    return med, await static_floor(render(collector, gzip=True), every, prom_scrapes)


async def static_floor(body: bytes, every: float, scrapes: int) -> float:
    """Prometheus's side alone: the same gzip body served as it is (nothing made per scrape), so its
    scrape durations are its own transfer, gunzip, parse and storing of these samples."""
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": "gzip",
                                                "Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        print(f"the same body ({len(body) / 1e6:.1f} MB gzip) from a static server, as a floor:", flush=True)
        return await prometheus(f"http://127.0.0.1:{port}/metrics", every, scrapes)
    finally:
        await runner.cleanup()


async def curl(url: str) -> tuple[float, int]:
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}",
        "-H", "Accept-Encoding: gzip", "-H", f"Accept: {PROMETHEUS_ACCEPT}", "--max-time", "30", url,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    took, size, code = out.decode().split()
    assert code == "200", code
    return float(took), int(size)


async def prometheus(url: str, every: float, scrapes: int) -> float:
    """A real Prometheus scrapes *url* every *every* s; its own scrape durations (median)."""
    exe = shutil.which("prometheus")
    assert exe, "prometheus not found (Debian package prometheus)"
    port = free_port()
    target = url.split("/")[2]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "prometheus.yml"
        cfg.write_text(json.dumps({"global": {"scrape_interval": f"{every:g}s", "scrape_timeout": f"{min(every, 25):g}s"},
                                   "scrape_configs": [{"job_name": "bench", "static_configs": [{"targets": [target]}]}]}))
        proc = await asyncio.create_subprocess_exec(
            exe, f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            api = f"http://127.0.0.1:{port}/api/v1/query"
            deadline = time.monotonic() + every * (scrapes + 2) + 30
            durations: list[float] = []
            while time.monotonic() < deadline:
                await asyncio.sleep(every)
                durations, samples, ups = await _prom_series(api, every)
                if len(durations) >= scrapes + 1:
                    break
            warm = durations[1:] or durations  # the first is the cold one
            print(f"Prometheus {len(durations)} scrapes (first cold): durations "
                  + ", ".join(f"{d:.2f}" for d in durations) + f" s; samples scraped {samples}; up {ups}")
            assert durations and ups and set(ups) == {1.0}, "Prometheus could not scrape it"
            return statistics.median(warm) if warm else float("inf")
        finally:
            proc.terminate()
            await proc.wait()


async def _prom_series(api: str, every: float) -> tuple[list[float], int, list[float]]:
    """Its raw samples (one per scrape) of the last 15 minutes: durations, samples scraped, up."""
    def get(q: str) -> list[float]:
        params = urllib.parse.urlencode({"query": f"{q}[15m]"})
        with urllib.request.urlopen(f"{api}?{params}", timeout=10) as r:
            res = json.loads(r.read())["data"]["result"]
        return [float(v) for _, v in res[0]["values"]] if res else []

    durations = await asyncio.to_thread(get, "scrape_duration_seconds")
    samples = await asyncio.to_thread(get, "scrape_samples_scraped")
    ups = await asyncio.to_thread(get, "up")
    return durations, int(samples[-1]) if samples else 0, ups


INTERVAL_S = 60.0


async def main(n: int, scrapes: int, every: float, prom_scrapes: int, per_camera: str) -> bool:
    print(f"{n} cameras, metrics.per_camera={per_camera}; {load()}", flush=True)
    in_process(n, scrapes, every, per_camera)
    gc.collect()
    med, floor = await over_http(n, every, prom_scrapes, per_camera, curls=min(scrapes, 3))
    cpu = statistics.median(PREPARED)
    verdict = "PASS" if med <= GOAL_S else "FAIL"
    print(f"metrics scrape {n} cameras (gzip, as Prometheus): {med:.2f} s median of its warm scrapes"
          f" (goal <= {GOAL_S:g} s) {verdict}; Prometheus alone on the same body from a static server {floor:.2f} s"
          f" ({'within' if floor <= GOAL_S else 'over'} the goal: its own floor on this box); CPU of a prepared"
          f" scrape {cpu:.2f} s; {load()}")
    return verdict == "PASS"


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=5)
    p.add_argument("--scrape-interval", type=float, default=30.0, help="seconds between scrapes (camwatch's example config: 30)")
    p.add_argument("--prometheus-scrapes", type=int, default=4)
    p.add_argument("--per-camera", choices=("all", "offline_only"), default="all")
    p.add_argument("--no-settle-gc", action="store_true", help="skip the collector's settle_gc() (gc.freeze) after setup")
    a = p.parse_args()
    global SETTLE
    SETTLE = not a.no_settle_gc
    if not (1 <= a.cameras <= 1_000_000 and 1 <= a.scrapes <= 50 and 5 <= a.scrape_interval <= 120
            and 1 <= a.prometheus_scrapes <= 20):
        p.error("need 1 <= cameras <= 1e6, 1 <= scrapes <= 50, 5 <= scrape-interval <= 120, 1 <= prometheus-scrapes <= 20")
    return 0 if asyncio.run(main(a.cameras, a.scrapes, a.scrape_interval, a.prometheus_scrapes, a.per_camera)) else 1


if __name__ == "__main__":
    sys.exit(run())
