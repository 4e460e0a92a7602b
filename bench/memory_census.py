"""Memory census: what each component of the real ``camwatch run`` keeps per camera (issue 18's
memory goal, <= 2 KB a camera, is not met: this says where the bytes are, so that work on it can
be measured component by component, not against the RSS noise of a whole run).

    .venv/bin/python bench/memory_census.py [--cameras 20000] [--workers 2] [--settle 100]

1. A :class:`probes.sim.Fleet` of ``--cameras`` cameras on a free loopback range, their inventory
   imported into a SQLite file (as bench/run_workers.py does).
2. The **baseline**: an empty ``camwatch run`` (no camera) with the same ``collector.workers``.
3. ``camwatch run`` over the fleet (60 s tier, video off, /metrics scraped every 15 s with gzip).
   ``--settle`` seconds after every camera is up (its start's catch-up done; at most 10 minutes), every
   camwatch process takes a ``tracemalloc`` snapshot (started at its start by a ``sitecustomize``
   of this bench's temporary directory, only in camwatch's own processes: the product has no hook
   for it), grouped by the component that allocated (the innermost frame of camwatch's own code,
   else of the library), and its RSS is read from /proc.
4. Printed per process kind (the collector; the workers summed): each component's traced bytes
   above the baseline's, per camera; the traced total against RSS (what tracemalloc does not see:
   the allocator's free space, C libraries). Tracing slows the processes and costs memory itself:
   the RSS here is not the goal's figure (bench/run_workers.py measures that).

Exit status 0 when the census was taken, 2 when a phase broke, 3 when the fleet could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run_workers as rw  # noqa: E402  # (the real run, its fleet, inventory and database)

from probes.sim import Behaviour, Fleet, FleetError  # noqa: E402
from tests.net import free_port  # noqa: E402

FRAMES = 4
GOAL_KB = 2.0

# Started by every Python process of the run (PYTHONPATH): traces camwatch's own processes only;
# SIGUSR2 writes the snapshot, grouped by (file, line) of the innermost frame of camwatch's code.
SITE = r'''
import os, sys
_argv = " ".join(getattr(sys, "orig_argv", []))
_dest = os.environ.get("CW_CENSUS_DIR")
if _dest and ("camwatch run" in _argv or "collector.runtime.worker_main" in _argv):
    import json, signal, tracemalloc
    _trace = os.environ.get("CW_CENSUS_TRACE") == "1"
    if _trace:
        tracemalloc.start(FRAMES)
    _root = os.environ["CW_CENSUS_ROOT"]

    def _heap():
        """Where the process's memory is: Python's small-object allocator (live blocks, free
        blocks), glibc's malloc (in use, free), the kernel's anonymous and file-backed pages."""
        import ctypes, tempfile
        out = {}
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Anonymous"):
                    out[k] = int(v.split()[0]) * 1024
        with tempfile.TemporaryFile(mode="w+") as tmp:  # _debugmallocstats writes to the C stderr
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(tmp.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            for line in tmp:
                k, _, v = line.partition("=")
                k = k.strip()
                name = ("arenas" if "bytes/arena" in k else "unused pools" if "unused pools" in k
                        else k[2:] if k in ("# bytes in allocated blocks", "# bytes in available blocks",
                                            "# arenas allocated current", "# arenas highwater mark",
                                            "# arenas reclaimed") else None)
                if name is not None:
                    out["pymalloc " + name] = int(v.replace(",", "").strip())
        class _MI(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallinfo2.restype = _MI
            mi = libc.mallinfo2()
            out["malloc in use"] = mi.uordblks + mi.hblkhd
            out["malloc free"] = mi.fordblks
            libc.malloc_trim(0)  # what of that free space glibc can hand back (whole free pages)
            with open("/proc/self/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        out["Rss after malloc_trim(0)"] = int(line.split()[1]) * 1024
        except (OSError, AttributeError):
            pass
        return out

    def _census(signum, frame):
        import gc
        gc.collect()
        kind = "worker" if "worker_main" in _argv else "collector"
        heap = _heap()
        sizes = {}
        snap = tracemalloc.take_snapshot() if _trace else None
        for tr in (snap.statistics("traceback") if snap else ()):  # (grouped in C: far fewer than the traces)
            where = None
            if any(fr.filename.startswith("<frozen importlib") for fr in tr.traceback):
                where = "<frozen importlib>"  # (a module being imported, whoever imports it)
            for fr in ([] if where else reversed(tr.traceback)):  # innermost first (a Traceback is oldest first)
                if fr.filename.startswith(_root) and "/.venv/" not in fr.filename:
                    where = f"{fr.filename[len(_root):]}:{fr.lineno}"
                    break
            if where is None:
                fr = tr.traceback[-1]
                where = f"{fr.filename}:{fr.lineno}"
            s = sizes.setdefault(where, [0, 0])
            s[0] += tr.size
            s[1] += tr.count
        tmp = os.path.join(_dest, f".{kind}-{os.getpid()}.json")
        with open(tmp, "w") as f:
            json.dump({"kind": kind, "pid": os.getpid(), "sizes": sizes, "heap": heap}, f)
        os.replace(tmp, os.path.join(_dest, f"{kind}-{os.getpid()}.json"))

    signal.signal(signal.SIGUSR2, _census)
'''.replace("FRAMES", str(FRAMES))

# (component, test on "file:line" of the allocating frame); the first that matches
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("imports: modules and code", ("<frozen importlib", "importlib/", "<frozen abc>", "typing.py", "enum.py",
                                   "dataclasses.py:", "<string>:", "abc.py")),
    ("values read from the database (rows)", ("aiosqlite/", "asyncpg/", "sqlalchemy/engine/")),
    ("inventory: cameras as kept (inventory/)", ("inventory/",)),
    ("worker reports as received (collector/runtime/worker_wire.py)", ("collector/runtime/worker_wire.py",)),
    ("scheduler: slots, states, plan (collector/runtime/scheduler, slots, camera_state, mirror)",
     ("collector/runtime/scheduler.py", "collector/runtime/slots.py", "collector/runtime/camera_state.py",
      "collector/runtime/mirror.py")),
    ("probe workers' pool and wire (collector/runtime/workers.py, worker_main.py)",
     ("collector/runtime/workers.py", "collector/runtime/worker_main.py")),
    ("metrics: /metrics blocks, keys, deflated text (collector/metrics/)", ("collector/metrics/",)),
    ("alerting (collector/alerting/)", ("collector/alerting/",)),
    ("region figures (collector/accounting/, runtime/figures.py)", ("collector/accounting/", "collector/runtime/figures.py")),
    ("last results (probes/kept.py)", ("probes/kept.py",)),
    ("probers: caches and probes in flight (probes/)", ("probes/",)),
    ("the rest of camwatch (collector/)", ("collector/",)),
]
OTHER = "libraries and the interpreter"


def component(where: str) -> str:
    for name, marks in COMPONENTS:
        if any(m in where for m in marks):
            return name
    return OTHER


def take(pids: list[int], dest: Path, timeout: float = 600.0) -> list[dict[str, object]]:
    """Signal every process of *pids* and read their census files."""
    for f in dest.glob("*.json"):
        f.unlink()
    for p in pids:
        try:
            os.kill(p, signal.SIGUSR2)
        except ProcessLookupError:
            continue
    end = time.monotonic() + timeout
    while time.monotonic() < end and len(list(dest.glob("[!.]*.json"))) < len(pids):
        time.sleep(0.5)
    out = [json.loads(f.read_text()) for f in dest.glob("[!.]*.json")]
    if len(out) < len(pids):
        wrote = {int(str(c["pid"])) for c in out}
        missing = [f"{q} ({_cmdline(q)})" for q in pids if q not in wrote]
        raise RuntimeError(f"{len(out)} of {len(pids)} processes wrote their census; not: {', '.join(missing)}")
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:100]
    except OSError:
        return "gone"


def by_component(census: list[dict[str, object]], kind: str) -> dict[str, float]:
    """Traced bytes per component, summed over the processes of *kind*."""
    total: dict[str, float] = defaultdict(float)
    for c in census:
        if c["kind"] != kind:
            continue
        sizes = c["sizes"]
        assert isinstance(sizes, dict)
        for where, (size, _count) in sizes.items():
            total[component(where)] += size
    return total


def top_lines(base: list[dict[str, object]], census: list[dict[str, object]], kind: str,
              n: int) -> list[tuple[str, int, int]]:
    """The *n* allocation sites that grew most above the baseline: (site, bytes, objects)."""
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sign, part in ((-1, base), (1, census)):
        for c in part:
            if c["kind"] == kind:
                sizes = c["sizes"]
                assert isinstance(sizes, dict)
                for where, (size, count) in sizes.items():
                    lines[where][0] += sign * size
                    lines[where][1] += sign * count
    return sorted(((w, s, k) for w, (s, k) in lines.items()), key=lambda x: -x[1])[:n]


def run_census(work: Path, url: str, workers: str, dest: Path, settle: float, full: bool, n: int) -> tuple[list[dict[str, object]], dict[int, int]]:
    run = rw.Run(work, url, workers, free_port())
    try:
        run.wait_up(600)
        if full:  # the scrapes a Prometheus makes meanwhile (what their rendering keeps is in the census)
            scraper = rw.Scraper(run)

            async def settle_scraped() -> int:
                """Every camera up (its start's catch-up done), then *settle* seconds more; at most 10 minutes."""
                task = asyncio.create_task(scraper.loop())
                t0 = time.monotonic()
                up = 0
                while time.monotonic() - t0 < 600:
                    await asyncio.sleep(5)
                    up = scraper.last.decode(errors="replace").count("\ncamwatch_camera_up{")
                    if up >= n:
                        break
                print(f"  {up} of {n} cameras up {time.monotonic() - t0:.0f} s after the start; {rw.uptime()}", flush=True)
                await asyncio.sleep(settle)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return up
            asyncio.run(settle_scraped())
            print(f"  {settle:.0f} s later: the census; {len(scraper.times)} scrapes; {rw.uptime()}", flush=True)
        else:
            time.sleep(10)
        pids = rw.tree(run.proc.pid)
        census = take(pids, dest)
        rss = {p: rw.mem_kb([p])[0] for p in pids}
    finally:
        run.stop()
    return census, rss


HEAP_KEYS = ("Rss", "Anonymous", "pymalloc arenas", "pymalloc bytes in allocated blocks",
             "pymalloc bytes in available blocks", "pymalloc unused pools", "malloc in use", "malloc free",
             "Rss after malloc_trim(0)")
# Counts (not bytes), printed as they are: an arena count at its high-water mark, none reclaimed,
# says the heap never shrank from its peak (the start's catch-up, a burst of probes in flight).
ARENA_KEYS = ("pymalloc arenas allocated current", "pymalloc arenas highwater mark", "pymalloc arenas reclaimed")


def heap_sums(census: list[dict[str, object]], kind: str) -> dict[str, int]:
    """The heap figures of the processes of *kind*, summed."""
    out: dict[str, int] = defaultdict(int)
    for c in census:
        heap = c.get("heap")
        if c["kind"] == kind and isinstance(heap, dict):
            for k, v in heap.items():
                out[k] += int(v)
    return out


def traced_any(census: list[dict[str, object]]) -> bool:
    return any(c["sizes"] for c in census)


def report(base: list[dict[str, object]], full: list[dict[str, object]], rss0: dict[int, int], rss1: dict[int, int],
           n: int, top: int) -> None:
    kinds = sorted({str(c["kind"]) for c in full})
    for kind in kinds:
        pids1 = [int(str(c["pid"])) for c in full if c["kind"] == kind]
        pids0 = [int(str(c["pid"])) for c in base if c["kind"] == kind]
        what = "the collector" if kind == "collector" else f"the {len(pids1)} probe workers, summed"
        h0, h1 = heap_sums(base, kind), heap_sums(full, kind)
        print(f"\n{what}: where the memory is, above the empty run's, per camera of the fleet ({n})")
        for k in HEAP_KEYS:
            if k in h1:
                grown = h1[k] - h0.get(k, 0)
                print(f"  {grown / n:8.0f} B  {grown / 2**20:7.1f} MB  {k} ({h1[k] / 2**20:.1f} MB in all)")
        counts = [f"{k.removeprefix('pymalloc arenas ')} {h1[k]} (empty run {h0.get(k, 0)})" for k in ARENA_KEYS if k in h1]
        if counts:
            print("  pymalloc's 1 MiB arenas: " + ", ".join(counts))
        if not traced_any(full):
            continue
        b, f = by_component(base, kind), by_component(full, kind)
        print(f"\n{what}: traced bytes above the empty run's, per camera of the fleet ({n})")
        rows = sorted({*b, *f}, key=lambda k: -(f.get(k, 0) - b.get(k, 0)))
        for k in rows:
            d = f.get(k, 0) - b.get(k, 0)
            if abs(d) >= 0.005 * 1024 * n:
                print(f"  {d / n:8.0f} B  {d / 2**20:7.1f} MB  {k}")
        traced = sum(f.values()) - sum(b.values())
        grew = (sum(rss1[p] for p in pids1) - sum(rss0.get(p, 0) for p in pids0)) * 1024
        print(f"  {traced / n:8.0f} B  {traced / 2**20:7.1f} MB  traced in all")
        print(f"  {grew / n:8.0f} B  {grew / 2**20:7.1f} MB  RSS grew (with tracing's own cost; untraced:"
              f" {(grew - traced) / n:.0f} B a camera: allocator free space, C libraries)")
        print(f"  the {top} allocation sites that grew most:")
        for where, size, count in top_lines(base, full, kind, top):
            print(f"    {size / n:7.0f} B {count / n:6.2f} objects/camera  {where}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=20_000)
    p.add_argument("--workers", default="2", help="collector.workers (a number; 1 = one process)")
    p.add_argument("--settle", type=float, default=70.0, help="seconds after every camera is up before the census")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--no-trace", action="store_true",
                   help="no tracemalloc (its cost out of the figures): only where the memory is (allocators, pages)")
    a = p.parse_args()
    if not 1 <= a.cameras <= 200_000 or not 30 <= a.settle <= 1200 or not a.workers.isdigit():
        p.error("need 1 <= cameras <= 200000, 30 <= settle <= 1200 and a number of workers")
    fleet = Fleet(a.cameras, default=Behaviour(nonce_ttl_s=600.0), start_timeout_s=300.0, nice=rw.FLEET_NICE)
    try:
        fleet.start()
    except FleetError as exc:
        print(f"fleet did not start: {exc}", file=sys.stderr)
        return 3
    try:
        with tempfile.TemporaryDirectory(prefix="cw-bench-census-") as tmp:
            work = Path(tmp)
            site, dest = work / "site", work / "census"
            site.mkdir()
            dest.mkdir()
            (site / "sitecustomize.py").write_text(SITE, encoding="utf-8")
            os.environ.update({"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
                               "CW_CENSUS_DIR": str(dest), "CW_CENSUS_ROOT": str(ROOT) + "/",
                               "CW_CENSUS_TRACE": "0" if a.no_trace else "1"})
            empty_url, _ = rw.database(False, work, "empty")
            url, _ = rw.database(False, work, "full")
            rw.prepare(empty_url, work / "empty", None)
            csv = rw.inventory(work / "cameras.csv", a.cameras, fleet.first_address)
            took = rw.prepare(url, work / "full", csv)
            print(f"fleet {a.cameras} cameras; imported in {took:.0f} s; collector.workers={a.workers}; {rw.uptime()}",
                  flush=True)
            base, rss0 = run_census(work / "empty", empty_url, a.workers, dest, a.settle, False, 0)
            print(f"baseline: the empty run's census ({len(base)} processes)", flush=True)
            full, rss1 = run_census(work / "full", url, a.workers, dest, a.settle, True, a.cameras)
            report(base, full, rss0, rss1, a.cameras, a.top)
            print(f"\n(goal: <= {GOAL_KB:g} KB a camera of RSS above the empty run, all processes: bench/run_workers.py)")
            return 0
    except RuntimeError as exc:
        print(f"phase broke: {exc}", file=sys.stderr)
        return 2
    finally:
        fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
