"""Benchmark: hostile cameras do not slow a sweep (issue 14, point 6; DESIGN §3).

    .venv/bin/python bench/hostile_sweep.py [--healthy 1000] [--hostile 50] [--interval 60] [--sweeps 1]

One :class:`probes.sim.Fleet` holds ``--healthy`` healthy cameras and ``--hostile`` hostile ones,
the hostile ones cycling through the kinds of the hostile suite the simulator has: ONVIF (entity
bomb, external entity, 50 MB body, endless tiny chunks, 1-byte chunks, garbage), RTSP (garbage,
oversized header line and, where the simulator has them, 1 byte/s, 100k header lines, 5 MB SDP,
endless 401, TLS, wrong CSeq) and a hang. In THIS process, on uvloop, the real
:class:`~collector.runtime.scheduler.Scheduler` runs the collector's fast tier (reach + RTSP +
ONVIF clock, the stage limits of the ``probe:`` settings) twice, one after the other over the
same fleet:

1. **baseline**: the healthy cameras only;
2. **hostile**: the healthy cameras and the hostile ones.

Each run: one warm-up sweep, then ``--sweeps`` measured sweeps of ``--interval`` seconds (60 s:
the fast tier's default). The figure is the healthy cameras' lateness (actual minus planned
start of each probe) p99 in the measured sweeps of each run, and their ratio hostile / baseline.
Goal: ratio <= 1.2. Also printed: this process's CPU per sweep of each run and the hostile
cameras' verdicts. The fleet's workers run at nice 10 (cameras on other machines), as in
``bench/collector_sweep.py``. Exit status 0 when the goal holds, 1 otherwise, 3 when the fleet
cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from collector.runtime.ladders import ladder_options  # noqa: E402
from collector.runtime.scheduler import Scheduler  # noqa: E402
from collector.runtime.scheduler_config import SchedulerConfig  # noqa: E402
from collector.runtime.slots import CameraSlot  # noqa: E402
from collector.settings import CollectorSettings, Settings  # noqa: E402
from inventory.lookup import MonitoredCamera, RegionLabels  # noqa: E402
from inventory.models import Lifecycle  # noqa: E402
from probes.base import ProbeTarget  # noqa: E402
from probes.sim import Behaviour, Fleet, FleetError, Power, Reply  # noqa: E402

GOAL_RATIO = 1.2
FLEET_NICE = 10
ONVIF_KINDS = ("entity_bomb", "external_entity", "huge_body", "endless_chunks", "byte_chunks", "garbage")
RTSP_KINDS = ("garbage", "oversized", "trickle", "many_headers", "big_sdp", "endless_401", "tls", "wrong_cseq")


def hostile_kinds(which: str = "all") -> list[tuple[str, Behaviour]]:
    """The hostile behaviours this simulator has (RTSP kinds another change may not have yet);
    *which*: all, onvif or rtsp (the hang counts as RTSP)."""
    known = {r.value for r in Reply}
    kinds: list[tuple[str, Behaviour]] = []
    if which in ("all", "onvif"):
        kinds += [(f"onvif:{k}", Behaviour(onvif_reply=Reply(k))) for k in ONVIF_KINDS if k in known]
    if which in ("all", "rtsp"):
        kinds += [(f"rtsp:{k}", Behaviour(rtsp_reply=Reply(k))) for k in RTSP_KINDS if k in known]
        kinds.append(("hang", Behaviour(power=Power.HANG)))
    return kinds


class LateScheduler(Scheduler):
    """The real scheduler, also recording each probe's lateness with its camera id."""

    record: list[tuple[float, int, float]]  # (monotonic time, camera id, lateness s)

    async def _probe(self, slot: CameraSlot, planned: float) -> None:
        self.record.append((time.monotonic(), slot.cam.id, max(0.0, self._now() - planned)))
        await super()._probe(slot, planned)


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def run(cams: list[MonitoredCamera], healthy: set[int], interval: float, sweeps: int,
              label: str) -> tuple[float, list[float], dict[str, int]]:
    """One scheduler run: healthy lateness p99 over the measured sweeps, CPU per sweep, states."""
    settings = Settings()
    d = settings.collector
    cfg = SchedulerConfig.from_settings(CollectorSettings(
        interval_s=interval, video=False, offline_interval_s=min(d.offline_interval_s, interval),
        confirm_delays_s=[x for x in d.confirm_delays_s if x < interval]))
    sched = LateScheduler(cfg, None, ladder=ladder_options(settings))
    sched.record = []
    sched.sync(cams, [])
    task = asyncio.ensure_future(sched.run())
    t0 = time.monotonic()
    marks: list[tuple[float, float]] = []
    try:
        for k in range(sweeps + 2):
            await asyncio.sleep(max(0.0, t0 + k * interval - time.monotonic()))
            marks.append((time.monotonic(), cpu_s()))
            if task.done():
                task.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    start, end = marks[1][0], marks[-1][0]  # after the warm-up sweep
    late = [v for t, cid, v in sched.record if start <= t < end and cid in healthy]
    cpu = [b[1] - a[1] for a, b in zip(marks[1:], marks[2:], strict=False)]
    states = collections.Counter(
        f"{s.status.state.value}{':' + s.status.cause.value if s.status.cause else ''}"
        f"{':' + ','.join(s.status.video_failed) if s.status.video_failed else ''}"
        for s in sched.slots.values() if s.cam.id not in healthy)
    fine = sum(1 for s in sched.slots.values() if s.cam.id in healthy and s.status.state.value == "online")
    why = collections.Counter(str(s.status.cause or s.status.pending and s.status.pending.cause)
                              for s in sched.slots.values() if s.cam.id in healthy and s.status.state.value != "online")
    probed = collections.Counter(cid for t, cid, _ in sched.record if start <= t < end and cid in healthy)
    p50, p99, worst = pct(late, 0.5), pct(late, 0.99), max(late, default=float("nan"))
    print(f"{label:>9}: {len(cams)} cameras, {len(late)} healthy probes measured; healthy lateness "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms; "
          f"CPU per sweep {', '.join(f'{c:.2f} s' for c in cpu)}; healthy cameras online at the end "
          f"{fine}/{len(healthy)}, probed more than once a sweep (re-probes after a failure) "
          f"{sum(1 for n in probed.values() if n > sweeps)}"
          + (f" (not online: {dict(why)})" if why else ""), flush=True)
    return p99, cpu, dict(states)


async def main(fleet: Fleet, n_healthy: int, kinds: list[tuple[str, Behaviour]], n_hostile: int,
               interval: float, sweeps: int) -> bool:
    labels = RegionLabels("130123101201", "大前村1", "130123101000", "城关镇", "130123000000", "示范县")
    cams = [MonitoredCamera(i + 1, f"cam{i + 1}", i + 1,
                            ProbeTarget(c.host, c.rtsp_port, c.rtsp_path, c.onvif_port, c.username, c.password, i + 1),
                            None, None, Lifecycle.ACTIVE, labels) for i, c in enumerate(fleet.cameras())]
    healthy = {c.id for c in cams[:n_healthy]}
    base_p99, _, _ = await run(cams[:n_healthy], healthy, interval, sweeps, "baseline")
    host_p99, _, states = await run(cams, healthy, interval, sweeps, "hostile")
    print(f"hostile cameras' states ({n_hostile}): "
          + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    ratio = host_p99 / base_p99 if base_p99 > 0 else (1.0 if host_p99 == 0 else float("inf"))
    ok = ratio <= GOAL_RATIO
    print(f"healthy lateness p99: hostile {host_p99 * 1000:.1f} ms / baseline {base_p99 * 1000:.1f} ms = "
          f"ratio {ratio:.2f} (goal <= {GOAL_RATIO}) {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


def cli() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--healthy", type=int, default=1000)
    p.add_argument("--hostile", type=int, default=50)
    p.add_argument("--interval", type=float, default=60.0, help="the fast tier's interval (default 60 s)")
    p.add_argument("--sweeps", type=int, default=1, help="measured sweeps per run, after one warm-up sweep")
    p.add_argument("--workers", type=int, default=None, help="fleet worker processes (default: auto)")
    p.add_argument("--kinds", choices=("all", "onvif", "rtsp"), default="all", help="which hostile kinds")
    a = p.parse_args()
    kinds = hostile_kinds(a.kinds)
    n = a.healthy + a.hostile
    try:
        fleet = Fleet(n, workers=a.workers, default=Behaviour(nonce_ttl_s=600.0), start_timeout_s=300.0,
                      nice=FLEET_NICE)
        fleet.start()
    except FleetError as exc:
        print(f"fleet cannot start: {exc}", file=sys.stderr)
        return 3
    try:
        for j in range(a.hostile):
            fleet.set_behaviour(a.healthy + j, kinds[j % len(kinds)][1])
        print(f"fleet: {a.healthy} healthy + {a.hostile} hostile cameras of {len(kinds)} kinds "
              f"({', '.join(k for k, _ in kinds)}); interval {a.interval:g} s, 1 warm-up + {a.sweeps} "
              f"measured sweep(s) per run", flush=True)
        ok = uvloop.run(main(fleet, a.healthy, kinds, a.hostile, a.interval, a.sweeps))
    finally:
        fleet.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(cli())
