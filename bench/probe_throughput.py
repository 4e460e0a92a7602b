"""Benchmark: fast-tier probe sweeps over a simulated camera fleet, against a minimal baseline.

    .venv/bin/python bench/probe_throughput.py --cameras 10000 [--concurrency 500] [--repeat 2]

Starts a :class:`probes.sim.Fleet` of N cameras on a dedicated loopback range (by default a
free one the fleet claims, printed; the cameras run in worker processes), then in THIS process, on uvloop:

1. **camwatch warm-up sweep**: for every camera the fast tier of the ladder,
   reach (TCP connect, kept for) + RTSP DESCRIBE with Digest auth + ONVIF
   GetSystemDateAndTime (no GetDeviceInformation). It pays the Digest 401 round trips.
2. **baseline warm-up sweep** (same cameras, same concurrency, not counted): a minimal
   hand-written prober: ``asyncio.open_connection`` + RTSP OPTIONS, read to the blank line,
   check ``RTSP/1.0 200``, close; then ``open_connection`` + a raw HTTP POST of a fixed SOAP 1.2
   GetSystemDateAndTime, read the reply, check ``UTCDateTime``, close.
3. ``--repeat`` times: a **camwatch steady-state sweep** (the cached realm/nonce answers
   DESCRIBE at once: one RTSP round trip) and a **baseline sweep**, interleaved.

For each sweep it prints wall time, cameras/s, the prober's CPU per camera (user + sys of this
process only, from ``getrusage``; the fleet's CPU is in other processes) and RSS (growth over
the sweep and peak above the start, in KB per camera; the peak via ``/proc/self/clear_refs``).
Every sweep runs with the same driver (``--concurrency`` coroutines pulling from one list).
The final line compares the best steady-state camwatch sweep with the best baseline sweep::

    ratio: camwatch 123.4 us/camera vs baseline 61.2 us/camera = 2.02x (goal <= 2x) PASS|FAIL

Exit status: 0 PASS, 1 ratio FAIL, 2 a probe failed (causes printed), 3 time limit hit or
the fleet could not start. ``--profile`` adds one camwatch sweep under cProfile (not counted)
and prints its top functions.

The simulated cameras keep Digest nonces for ``--nonce-ttl`` seconds (default 600; the
simulator's own default is 60), so a steady-state sweep of a large fleet that takes longer
than a minute still reuses them; with a shorter TTL the steady state pays stale-nonce retries.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import math
import pstats
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop  # noqa: E402

from probes.base import ProbeTarget, Stage  # noqa: E402
from probes.ladder import LadderOptions, run_ladder  # noqa: E402
from probes.onvif import OnvifOptions, OnvifState  # noqa: E402
from probes.rtsp import RtspOptions  # noqa: E402
from probes.rtsp_state import RtspState  # noqa: E402
from probes.sim import Behaviour, Fleet, FleetError, SimCamera  # noqa: E402
from probes.sim.identity import ONVIF_DEVICE_PATH  # noqa: E402

T = TypeVar("T")
GOAL_RATIO = 2.0
FAST_TIER = (Stage.REACH, Stage.RTSP, Stage.ONVIF)
MAX_EXAMPLES = 3  # failure details kept per cause
BASELINE_TIMEOUT_S = 10.0  # per camera (both connections) in the baseline

# A fixed SOAP 1.2 GetSystemDateAndTime request, as a hand-written client would send it.
SOAP_GET_TIME = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
    b"</s:Envelope>"
)


# --- measurement -------------------------------------------------------------------------------

def _status_kb(key: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; False if not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _cpu_s() -> tuple[float, float]:
    """(user, system) CPU seconds of this process (not of its children, the fleet)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


@dataclass(slots=True)
class Failures:
    """Failed probes: a count per cause and a few example details."""

    count: int = 0
    causes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, cause: str, detail: str) -> None:
        self.count += 1
        self.causes[cause] += 1
        ex = self.examples.setdefault(cause, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(detail[:200])


@dataclass(frozen=True, slots=True)
class Sweep:
    name: str
    cameras: int
    wall_s: float
    cpu_s: float
    sys_s: float  # the system part of cpu_s
    rss_start_kb: int
    rss_end_kb: int
    peak_kb: int  # VmHWM at the end of the sweep (reset at its start when permitted)
    failures: Failures

    @property
    def per_s(self) -> float:
        return self.cameras / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def cpu_us(self) -> float:
        return self.cpu_s * 1e6 / self.cameras

    def line(self) -> str:
        growth = (self.rss_end_kb - self.rss_start_kb) / self.cameras
        peak = (self.peak_kb - self.rss_start_kb) / self.cameras
        return (f"{self.name:<22} {self.wall_s:7.2f} s {self.per_s:8.0f} cam/s {self.cpu_us:6.1f} us/cam"
                f" (sys {self.sys_s * 1e6 / self.cameras:5.1f})"
                f"  RSS {self.rss_end_kb / 1024:6.1f} MB (growth {growth:5.2f} KB/cam,"
                f" peak {peak:+5.2f} KB/cam)  failed {self.failures.count}")


async def run_sweep(name: str, items: Sequence[T], probe: Callable[[T, Failures], Awaitable[None]],
                    concurrency: int, deadline: float) -> Sweep:
    """Probe every item with *concurrency* coroutines pulling from one iterator; measured."""
    failures = Failures()
    it = iter(items)

    async def worker() -> None:
        for item in it:
            try:
                await probe(item, failures)
            except Exception as exc:  # noqa: BLE001 - a crash is a failed probe, with its cause
                failures.add(f"exception {type(exc).__name__}", str(exc))

    gc.collect()
    rss0 = _status_kb("VmRSS")
    peak_reset = _reset_peak()
    t0, c0 = time.perf_counter(), _cpu_s()
    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    c1 = _cpu_s()
    wall = time.perf_counter() - t0
    cpu, sys_cpu = (c1[0] - c0[0]) + (c1[1] - c0[1]), c1[1] - c0[1]
    rss1 = _status_kb("VmRSS")
    peak = _status_kb("VmHWM") if peak_reset else max(rss0, rss1)
    return Sweep(name, len(items), wall, cpu, sys_cpu, rss0, rss1, peak, failures)


# --- the two probers ---------------------------------------------------------------------------

def fast_tier_options() -> LadderOptions:
    """One set of options (one RtspState, one OnvifState) shared by every probe."""
    return LadderOptions(
        rtsp=RtspOptions(state=RtspState()),
        # Only the clock call; no per-call backstop timer: the ladder's stage timeout bounds it.
        onvif=OnvifOptions(state=OnvifState(), device_info=False, io_timeout_s=None),
        use_onvif=True,
        video=False,
        reuse_connection=True,
    )


def camwatch_prober(opts: LadderOptions) -> Callable[[ProbeTarget, Failures], Awaitable[None]]:
    async def probe(target: ProbeTarget, failures: Failures) -> None:
        r = await run_ladder(target, opts)
        stages = tuple(s.stage for s in r.stages)
        if r.state == "online" and stages == FAST_TIER and all(s.ok for s in r.stages):
            return
        bad = next((s for s in r.stages if not s.ok), None)
        if bad is not None:
            failures.add(f"{bad.stage}:{bad.cause}", f"{target.host}: {bad.detail}")
        else:
            failures.add(f"state {r.state}", f"{target.host}: stages {stages} warnings {r.warnings}")

    return probe


@dataclass(frozen=True, slots=True)
class BaseTarget:
    host: str
    rtsp_port: int
    onvif_port: int
    rtsp_url: str


async def baseline_probe(cam: BaseTarget, failures: Failures) -> None:
    """Connect + RTSP OPTIONS, then connect + raw ONVIF POST with a byte check."""
    try:
        async with asyncio.timeout(BASELINE_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
            try:
                writer.write(f"OPTIONS {cam.rtsp_url} RTSP/1.0\r\nCSeq: 1\r\n"
                             "User-Agent: baseline\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
            finally:
                writer.close()
            if not head.startswith(b"RTSP/1.0 200"):
                failures.add("baseline:rtsp", f"{cam.host}: {head[:40]!r}")
                return
            reader, writer = await asyncio.open_connection(cam.host, cam.onvif_port)
            try:
                writer.write(
                    f"POST {ONVIF_DEVICE_PATH} HTTP/1.1\r\nHost: {cam.host}:{cam.onvif_port}\r\n"
                    "Content-Type: application/soap+xml; charset=utf-8\r\n"
                    f"Content-Length: {len(SOAP_GET_TIME)}\r\n\r\n".encode() + SOAP_GET_TIME)
                head = await reader.readuntil(b"\r\n\r\n")
                i = head.find(b"Content-Length:")
                body = await reader.readexactly(int(head[i + 15:head.index(b"\r\n", i)])) if i >= 0 else b""
            finally:
                writer.close()
            if not head.startswith(b"HTTP/1.1 200") or b"UTCDateTime" not in body:
                failures.add("baseline:onvif", f"{cam.host}: {head[:40]!r}")
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ValueError) as exc:
        failures.add(f"baseline:{type(exc).__name__}", f"{cam.host}: {exc}")


# --- the run -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Args:
    cameras: int
    concurrency: int
    repeat: int
    workers: int | None
    base_address: str | None
    rtsp_port: int
    onvif_port: int
    nonce_ttl_s: float
    max_seconds: float
    profile: bool
    profile_top: int


def parse_args(argv: Sequence[str] | None = None) -> Args:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--repeat", type=int, default=2, help="steady-state + baseline sweeps (best counts)")
    p.add_argument("--workers", type=int, default=None, help="fleet worker processes (default: auto)")
    p.add_argument("--base-address", default=None, help="address of camera 0 (default: a free loopback range)")
    p.add_argument("--rtsp-port", type=int, default=8554)
    p.add_argument("--onvif-port", type=int, default=8000)
    p.add_argument("--nonce-ttl", type=float, default=600.0, help="simulated cameras' Digest nonce TTL (s)")
    p.add_argument("--max-seconds", type=float, default=600.0, help="abort the whole run after this")
    p.add_argument("--profile", action="store_true", help="profile one extra camwatch sweep (cProfile)")
    p.add_argument("--profile-top", type=int, default=25)
    a = p.parse_args(argv)
    if not 1 <= a.cameras <= 1_000_000 or not 1 <= a.concurrency <= 5_000 or not 1 <= a.repeat <= 20:
        p.error("need 1 <= cameras <= 1e6, 1 <= concurrency <= 5000, 1 <= repeat <= 20")
    return Args(a.cameras, a.concurrency, a.repeat, a.workers, a.base_address, a.rtsp_port,
                a.onvif_port, a.nonce_ttl, a.max_seconds, a.profile, a.profile_top)


def print_failures(sweep: Sweep) -> None:
    f = sweep.failures
    print(f"  {sweep.name}: {f.count} of {sweep.cameras} probes failed ({100 * f.count / sweep.cameras:.2f} %)")
    for cause, n in f.causes.most_common():
        print(f"    {n:7d}  {cause}  e.g. {'; '.join(f.examples[cause])}")


def fleet_sample(fleet: Fleet, n: int) -> str:
    """Counters of the first cameras since the last reset (how many 401s a sweep caused)."""
    s = fleet.stats(range(min(n, 200)))
    fleet.reset_stats()
    return (f"sample of {len(s.cameras)} cameras: {s.total('describe')} DESCRIBE,"
            f" {s.total('rtsp_challenges')} 401, {s.total('stale_nonces')} stale,"
            f" {s.total('options')} OPTIONS, {s.total('onvif_requests')} ONVIF")


async def main(args: Args, fleet: Fleet, deadline: float) -> int:
    cams: list[SimCamera] = fleet.cameras()
    targets = [ProbeTarget(c.host, c.rtsp_port, c.rtsp_path, c.onvif_port, c.username, c.password, c.index)
               for c in cams]
    plain = [BaseTarget(c.host, c.rtsp_port, c.onvif_port, c.rtsp_url()) for c in cams]
    del cams
    opts = fast_tier_options()
    camwatch = camwatch_prober(opts)
    n, conc = args.cameras, args.concurrency
    sweeps: list[Sweep] = []

    def show(s: Sweep, note: str = "") -> Sweep:
        sweeps.append(s)
        print(s.line(), flush=True)
        if note:
            print(f"{'':<22} {note}", flush=True)
        return s

    fleet.reset_stats()
    warm = show(await run_sweep("camwatch warm-up", targets, camwatch, conc, deadline), fleet_sample(fleet, n))
    show(await run_sweep("baseline warm-up", plain, baseline_probe, conc, deadline), fleet_sample(fleet, n))
    steady: list[Sweep] = []
    base: list[Sweep] = []
    for i in range(1, args.repeat + 1):
        steady.append(show(await run_sweep(f"camwatch steady #{i}", targets, camwatch, conc, deadline),
                           fleet_sample(fleet, n)))
        base.append(show(await run_sweep(f"baseline #{i}", plain, baseline_probe, conc, deadline),
                         fleet_sample(fleet, n)))
    failed = [s for s in sweeps if s.failures.count]
    if failed:
        print("FAILED PROBES:")
        for s in failed:
            print_failures(s)
    if args.profile:
        await profile_sweep(targets, camwatch, conc, deadline, args.profile_top)
    cw = min(steady, key=lambda s: s.cpu_us)
    bl = min(base, key=lambda s: s.cpu_us)
    ratio = cw.cpu_us / bl.cpu_us
    print(f"cameras {n}, concurrency {conc}, fleet workers {len(fleet.worker_pids)}; best of {args.repeat}")
    print(f"camwatch: warm-up {warm.cpu_us:.1f} us/camera, steady {cw.cpu_us:.1f} us/camera,"
          f" {cw.per_s:.0f} cameras/s, RSS {(warm.rss_end_kb - warm.rss_start_kb) / n:.2f} KB/camera"
          f" kept after warm-up, peak +{(warm.peak_kb - warm.rss_start_kb) / n:.2f} KB/camera")
    print(f"baseline: {bl.cpu_us:.1f} us/camera, {bl.per_s:.0f} cameras/s,"
          f" RSS peak +{(bl.peak_kb - bl.rss_start_kb) / n:.2f} KB/camera")
    verdict = "PASS" if ratio <= GOAL_RATIO else "FAIL"
    print(f"ratio: camwatch {cw.cpu_us:.1f} us/camera vs baseline {bl.cpu_us:.1f} us/camera"
          f" = {ratio:.2f}x (goal <= {GOAL_RATIO:g}x) {verdict}")
    if failed:
        return 2
    return 0 if verdict == "PASS" else 1


async def profile_sweep(targets: Sequence[ProbeTarget], probe: Callable[[ProbeTarget, Failures], Awaitable[None]],
                        conc: int, deadline: float, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    s = await run_sweep("camwatch profiled", targets, probe, conc, deadline)
    prof.disable()
    print(s.line() + "  (under cProfile, not counted)")
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    root = str(Path(__file__).resolve().parents[1]) + "/"
    print(out.getvalue().replace(root, ""))


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    fleet = Fleet(args.cameras, base_address=args.base_address, rtsp_port=args.rtsp_port,
                  onvif_port=args.onvif_port, workers=args.workers,
                  default=Behaviour(nonce_ttl_s=args.nonce_ttl_s),
                  start_timeout_s=min(300.0, args.max_seconds))
    t0 = time.perf_counter()
    try:
        fleet.start()
    except FleetError as exc:
        hint = "; choose another --base-address" if exc.address_in_use and args.base_address else ""
        print(f"fleet did not start: {exc}{hint}", file=sys.stderr)
        return 3
    try:
        print(f"fleet: {args.cameras} cameras {fleet.first_address}..{fleet.last_address},"
              f" {len(fleet.worker_pids)} workers, started in {time.perf_counter() - t0:.1f} s", flush=True)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main(args, fleet, deadline))
    except TimeoutError:
        print(f"ABORTED: the run exceeded --max-seconds {args.max_seconds:g}", file=sys.stderr)
        return 3
    finally:
        fleet.stop()


if __name__ == "__main__":
    sys.exit(run())
