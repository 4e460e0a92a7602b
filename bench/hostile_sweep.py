"""Benchmark: hostile cameras do not slow a sweep (issue 14, point 6; DESIGN §3).

    .venv/bin/python bench/hostile_sweep.py [--healthy 1000] [--hostile 50] [--interval 60] [--sweeps 1]
                                            [--rounds 1] [--workers N] [--kinds all|onvif|rtsp]

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
the fast tier's default); ``--rounds`` pairs of runs alternate (baseline, hostile, baseline,
...), so a change in the machine's load hits both alike. Printed for each run and then pooled
over the rounds: the healthy cameras' failed probes (by cause and by fleet worker: a worker
shared with hostile cameras shows there when the simulator, not the prober, falls behind), their
lateness (actual minus planned start) p50 and p99, this process's CPU per sweep (the
collector) and each fleet worker's CPU per sweep (the simulator: a worker near 60 s a sweep is
saturated or spinning and the figures measure it, not the prober), and the load average.
Goals: no more healthy probes failed than in the baseline, and the lateness p99 ratio hostile /
baseline <= 1.2. The fleet's workers run at nice 10 (cameras on other machines), as in
``bench/collector_sweep.py``. Exit status 0 when both goals hold, 1 otherwise, 3 when the fleet
cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from collector.runtime.ladders import ladder_options  # noqa: E402
from collector.runtime.scheduler import Scheduler  # noqa: E402
from collector.runtime.scheduler_config import SchedulerConfig  # noqa: E402
from collector.runtime.slots import CameraSlot  # noqa: E402
from collector.settings import CollectorSettings, Settings  # noqa: E402
from inventory.models import Lifecycle  # noqa: E402
from inventory.monitored import MonitoredCamera, RegionLabels  # noqa: E402
from probes.base import ProbeTarget  # noqa: E402
from probes.ladder import LadderOptions, LadderResult, run_ladder  # noqa: E402
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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc), NaN when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


@dataclass
class RunFigures:
    """What one scheduler run measured on the healthy cameras (its measured sweeps only)."""

    label: str
    lateness: list[float] = field(default_factory=list)  # s, one per healthy probe started
    failed: collections.Counter[str] = field(default_factory=collections.Counter)  # healthy probes by cause
    failed_by_worker: collections.Counter[int] = field(default_factory=collections.Counter)
    cpu_per_sweep: list[float] = field(default_factory=list)  # this process (the collector)
    fleet_cpu_per_sweep: list[float] = field(default_factory=list)  # one figure per fleet worker
    hostile_states: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(self.failed.values())


async def run(fleet: Fleet, cams: list[MonitoredCamera], healthy: set[int], interval: float, sweeps: int,
              label: str) -> RunFigures:
    """One scheduler run: one warm-up sweep, then *sweeps* measured ones."""
    settings = Settings()
    d = settings.collector
    cfg = SchedulerConfig.from_settings(CollectorSettings(
        interval_s=interval, video=False, offline_interval_s=min(d.offline_interval_s, interval),
        confirm_delays_s=[x for x in d.confirm_delays_s if x < interval]))
    done: list[tuple[float, int, LadderResult]] = []  # healthy probes' results (end time, camera id)

    async def ladder_fn(target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        result = await run_ladder(target, opts)
        if target.camera_id in healthy:
            done.append((time.monotonic(), target.camera_id or 0, result))
        return result

    sched = LateScheduler(cfg, None, ladder=ladder_options(settings), ladder_fn=ladder_fn)
    sched.record = []
    sched.sync(cams, [])
    pids = fleet.worker_pids
    load0 = os.getloadavg()[0]
    task = asyncio.ensure_future(sched.run())
    t0 = time.monotonic()
    marks: list[tuple[float, float, list[float]]] = []
    try:
        for k in range(sweeps + 2):
            await asyncio.sleep(max(0.0, t0 + k * interval - time.monotonic()))
            marks.append((time.monotonic(), cpu_s(), [process_cpu_s(p) for p in pids]))
            if task.done():
                task.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    start, end = marks[1][0], marks[-1][0]  # after the warm-up sweep
    fig = RunFigures(label)
    fig.lateness = [v for t, cid, v in sched.record if start <= t < end and cid in healthy]
    for t, cid, r in done:
        if start <= t < end and r.state == "offline":
            fig.failed[str(r.cause.value if r.cause else "?")] += 1
            fig.failed_by_worker[fleet.worker_of(cid - 1)] += 1
    fig.cpu_per_sweep = [b[1] - a[1] for a, b in zip(marks[1:], marks[2:], strict=False)]
    fig.fleet_cpu_per_sweep = [(b - a) / sweeps for a, b in zip(marks[1][2], marks[-1][2], strict=True)]
    fig.hostile_states = dict(collections.Counter(
        f"{s.status.state.value}{':' + s.status.cause.value if s.status.cause else ''}"
        for s in sched.slots.values() if s.cam.id not in healthy))
    fine = sum(1 for s in sched.slots.values() if s.cam.id in healthy and s.status.state.value == "online")
    p50, p99 = pct(fig.lateness, 0.5), pct(fig.lateness, 0.99)
    print(f"{label:>9}: {len(cams)} cameras (load average {load0:.1f} -> {os.getloadavg()[0]:.1f}); "
          f"{len(fig.lateness)} healthy probes, {fig.failures} failed"
          + (f" ({', '.join(f'{k} {v}' for k, v in fig.failed.most_common())}; by fleet worker "
             f"{dict(sorted(fig.failed_by_worker.items()))})" if fig.failures else "")
          + f"; healthy lateness p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(fig.lateness, default=float('nan')) * 1000:.1f} ms; collector CPU per sweep "
          f"{', '.join(f'{c:.2f} s' for c in fig.cpu_per_sweep)}; simulator CPU per sweep by worker "
          f"{', '.join(f'{c:.2f} s' for c in fig.fleet_cpu_per_sweep)}; healthy online at the end "
          f"{fine}/{len(healthy)}", flush=True)
    return fig


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (1.0 if a == 0 else float("inf"))


async def main(fleet: Fleet, n_healthy: int, n_hostile: int, interval: float, sweeps: int, rounds: int) -> bool:
    labels = RegionLabels("130123101201", "大前村1", "130123101000", "城关镇", "130123000000", "示范县")
    cams = [MonitoredCamera(i + 1, f"cam{i + 1}", i + 1,
                            ProbeTarget(c.host, c.rtsp_port, c.rtsp_path, c.onvif_port, c.username, c.password, i + 1),
                            None, None, Lifecycle.ACTIVE, labels) for i, c in enumerate(fleet.cameras())]
    healthy = {c.id for c in cams[:n_healthy]}
    base: list[RunFigures] = []
    host: list[RunFigures] = []
    for _ in range(rounds):  # baseline and hostile runs alternate: load drift hits both alike
        base.append(await run(fleet, cams[:n_healthy], healthy, interval, sweeps, "baseline"))
        host.append(await run(fleet, cams, healthy, interval, sweeps, "hostile"))
    states: collections.Counter[str] = collections.Counter()
    for f in host:
        states.update(f.hostile_states)
    print(f"hostile cameras' states at the end of the hostile runs ({n_hostile} a run): "
          + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    b_late = [x for f in base for x in f.lateness]
    h_late = [x for f in host for x in f.lateness]
    b_fail, h_fail = sum(f.failures for f in base), sum(f.failures for f in host)
    fail_ok = h_fail <= b_fail
    print(f"healthy probes failed: hostile {h_fail} of {len(h_late)} / baseline {b_fail} of {len(b_late)} "
          f"(goal: none more than the baseline) {'PASS' if fail_ok else 'FAIL'}")
    p50b, p50h = pct(b_late, 0.5), pct(h_late, 0.5)
    print(f"healthy lateness p50: hostile {p50h * 1000:.1f} ms / baseline {p50b * 1000:.1f} ms = "
          f"ratio {ratio(p50h, p50b):.2f}")
    p99b, p99h = pct(b_late, 0.99), pct(h_late, 0.99)
    r99 = ratio(p99h, p99b)
    late_ok = r99 <= GOAL_RATIO
    print(f"healthy lateness p99: hostile {p99h * 1000:.1f} ms / baseline {p99b * 1000:.1f} ms = "
          f"ratio {r99:.2f} (goal <= {GOAL_RATIO}) {'PASS' if late_ok else 'FAIL'}", flush=True)
    return fail_ok and late_ok


def cli() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--healthy", type=int, default=1000)
    p.add_argument("--hostile", type=int, default=50)
    p.add_argument("--interval", type=float, default=60.0, help="the fast tier's interval (default 60 s)")
    p.add_argument("--sweeps", type=int, default=1, help="measured sweeps per run, after one warm-up sweep")
    p.add_argument("--workers", type=int, default=None, help="fleet worker processes (default: auto)")
    p.add_argument("--kinds", choices=("all", "onvif", "rtsp"), default="all", help="which hostile kinds")
    p.add_argument("--rounds", type=int, default=1, help="baseline + hostile run pairs, alternating (default 1)")
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
        ok = uvloop.run(main(fleet, a.healthy, a.hostile, a.interval, a.sweeps, a.rounds))
    finally:
        fleet.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(cli())
