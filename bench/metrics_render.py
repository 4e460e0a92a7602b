"""Benchmark: rendering ``/metrics`` for a large fleet, against prometheus_client's own renderer.

    .venv/bin/python bench/metrics_render.py [--cameras 100000] [--scrapes 5] [--changed 0.25]

Fills a real :class:`collector.runtime.scheduler.Scheduler`'s slots with ``--cameras`` cameras in a
synthetic county (Chinese names; ~110 townships, ~2,100 villages) in realistic states: 93 %
online, 2 % degraded, 4 % offline with a cause, 0.5 % unknown, 0.5 % excluded; each with its
last fast-tier result (reach, RTSP, ONVIF stage durations, clock offset) and region figures
(1 d / 30 d availability, coverage, targets) as the collector refreshes them.

It times :func:`collector.metrics.text.render_text` cold (no cached fragments) and then warm over
``--scrapes`` scrapes, each after ``--changed`` of the slots got a new probe result (a 15 s
scrape over a 60 s probe interval sees a quarter of the fleet re-probed; 1 % of those changed
state too). The baseline is ``prometheus_client.generate_latest`` over the same collector; both
texts must have the same series count and the same ``# HELP``/``# TYPE`` lines.
The last line reads ``metrics render 100000 cameras: 0.45 s warm, 1.78 s cold (goal <= 1 s) PASS``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from collector.metrics.registry import CamwatchCollector, RegionFigures  # noqa: E402
from collector.metrics.text import render_text  # noqa: E402
from collector.runtime.camera_state import State, Status  # noqa: E402
from collector.runtime.gc_tuning import settle_gc  # noqa: E402
from collector.runtime.scheduler import Scheduler  # noqa: E402
from collector.runtime.scheduler_config import SchedulerConfig  # noqa: E402
from collector.settings import CollectorSettings  # noqa: E402
from inventory.lookup import MonitoredCamera, RegionLabels  # noqa: E402
from inventory.models import Lifecycle  # noqa: E402
from inventory.synthetic import sim_address  # noqa: E402
from probes.base import Cause, ProbeResult, ProbeTarget, Stage  # noqa: E402
from probes.kept import kept  # noqa: E402
from probes.ladder import LadderResult  # noqa: E402

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


def change(sched: Scheduler, share: float, rnd: random.Random, now: dt.datetime) -> None:
    """A new probe result for ``share`` of the slots; 1 % of those change state."""
    for slot in rnd.sample(list(sched.slots.values()), int(len(sched.slots) * share)):
        if rnd.random() < 0.01:
            state, cause = pick_state(rnd)
            slot.status = Status(state, cause, now)
        st = slot.status.state
        slot.last = kept(probe_result(rnd, st if st is not State.UNKNOWN else State.ONLINE, slot.status.cause), now)


def _shape(text: bytes) -> tuple[int, list[bytes]]:
    """The number of series of an exposition and its ``#`` lines (HELP and TYPE)."""
    lines = text.split(b"\n")
    heads = [line for line in lines if line.startswith(b"#")]
    return sum(1 for line in lines if line) - len(heads), heads


async def main(n: int, scrapes: int, share: float) -> bool:
    rnd = random.Random(5)
    cams = cameras(n)
    sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings()), None)
    sched.sync(cams, [])
    now = dt.datetime.now(dt.UTC)
    for slot in sched.slots.values():
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
    collector = CamwatchCollector(sched, regions=lambda: figures)
    if SETTLE:
        settle_gc()  # as `camwatch run` does once its inventory is loaded (gc.freeze + thresholds)
    else:
        gc.collect()

    t0 = time.perf_counter()
    text = render_text(collector)
    cold = time.perf_counter() - t0
    series = sum(1 for line in text.split(b"\n") if line and not line.startswith(b"#"))
    print(f"cold: {cold:.2f} s, {len(text) / 1e6:.0f} MB, {series} series", flush=True)
    warm: list[float] = []
    warm_cpu: list[float] = []  # this process's CPU time: steadier than the clock on a busy machine
    for i in range(scrapes):
        change(sched, share, rnd, now + dt.timedelta(seconds=15 * (i + 1)))
        t0, c0 = time.perf_counter(), time.process_time()
        text = render_text(collector)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
    print("warm: " + ", ".join(f"{w:.2f}" for w in warm) + f" s ({share:.0%} of slots changed before each);"
          f" CPU median {statistics.median(warm_cpu):.2f} s")
    for_reg = CollectorRegistry()
    for_reg.register(CamwatchCollector(sched, regions=lambda: figures))
    t0, c0 = time.perf_counter(), time.process_time()
    base = generate_latest(for_reg)
    base_s, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    base_series, base_heads = _shape(base)
    assert (base_series, base_heads) == _shape(text), "render_text and generate_latest disagree on the series or heads"
    med = statistics.median(warm)
    print(f"baseline prometheus_client generate_latest: {base_s:.2f} s for the same {base_series} series"
          f" ({base_s / med:.1f}x the warm render); CPU {base_cpu:.2f} s"
          f" ({base_cpu / statistics.median(warm_cpu):.1f}x the warm render's CPU)")
    verdict = "PASS" if med <= GOAL_S else "FAIL"
    print(f"metrics render {n} cameras: {med:.2f} s warm, {cold:.2f} s cold (goal <= {GOAL_S:g} s) {verdict}")
    return verdict == "PASS"


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=5)
    p.add_argument("--changed", type=float, default=0.25)
    p.add_argument("--no-settle-gc", action="store_true", help="skip the collector's settle_gc() (gc.freeze) after setup")
    a = p.parse_args()
    global SETTLE
    SETTLE = not a.no_settle_gc
    if not 1 <= a.cameras <= 1_000_000 or not 1 <= a.scrapes <= 50 or not 0 <= a.changed <= 1:
        p.error("need 1 <= cameras <= 1e6, 1 <= scrapes <= 50, 0 <= changed <= 1")
    return 0 if asyncio.run(main(a.cameras, a.scrapes, a.changed)) else 1


if __name__ == "__main__":
    sys.exit(run())
