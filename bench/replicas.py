"""Benchmark: collector replicas on PostgreSQL (issue 18 point 7) - CPU per probe with 1 and 3
replicas, takeover after kill -9, rebalance when a replica joins.

    .venv/bin/python bench/replicas.py [--cameras 3000] [--interval 10] [--window 60] [--rounds 2]
                                       [--kills 10] [--pg postgresql://postgres@127.0.0.1:5432/test] [--max-seconds 2400]

In a fresh schema of the local PostgreSQL (dropped at the end) it imports ``--cameras`` cameras
at the addresses of a simulated fleet on a free loopback range (probes.sim, workers at nice 5)
and runs real ``camwatch run`` processes (collector.replicas on, 256 shards, the fast tier every
``--interval`` s, no video tier, other settings at their defaults), as
tests/collector/test_replicas.py does (its helpers are reused):

1. **CPU per probe**: after a warm-up, over ``--window`` s, the CPU time of the processes (user +
   system, /proc/PID/stat) divided by the probes they did (``camwatch_probes_total{stage="reach"}``
   of each one's /metrics, read before and after; the scrapes themselves are outside the window):
   a. a lone collector (replicas off) on the whole fleet;
   b. three lone collectors at once, each on a third of the fleet in a schema of its own: the
      process layout of 3 replicas without any coordination;
   c. 1 replica, then d. 3 replicas (two join) on the whole fleet.
   b, c and d are measured in each of ``--rounds`` rounds, side by side: the box's speed drifts
   over minutes by more than the goal.
   **Coordination overhead** = CPU per probe of 3 replicas / of 3 lone collectors - 1 (goal
   <= 5%). Also printed: 3 replicas against 1 (median over the rounds), and how much of that is
   the same probes split over 3 processes (b against a: a process probing a third as often
   spends more per probe), and 1 replica against a lone collector.
2. **Takeover.** ``--kills`` times: kill -9 of one replica (round robin), then the time until the
   survivors hold all its shards again (/healthz) and until every one of its cameras has a new
   probed interval (state_intervals rows starting after the kill); then the killed one is
   restarted. Goals: shards within takeover_s (2 x interval), cameras within 2 intervals.
3. **Rebalance.** Each restart is a join: the time from the process start, and from its first
   /healthz answer, until the three are balanced again (every shard held, shard counts within
   +-10%). Goal (ours): within takeover_s of its first answer.

Also printed: per-camera series in each replica's /metrics (for the README's estimate), and the
load (``uptime``) beside each phase. Exit status 0 when every goal passes, 1 when one fails,
2 when a phase breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from collector.runtime.shards import balance, shard_of  # noqa: E402
from probes.sim import Fleet  # noqa: E402
from tests.collector.test_cli_inventory import camwatch  # noqa: E402
from tests.collector.test_replicas import KEY, _env, inventory, wait_for  # noqa: E402
from tests.net import free_port, loopback_range  # noqa: E402

SHARDS = 256
OVERHEAD_GOAL = 0.05
TICK = os.sysconf("SC_CLK_TCK")
PROBES = re.compile(r'^camwatch_probes_total\{[^}]*stage="reach"[^}]*\} (\S+)$', re.M)
FAILED = re.compile(r'^camwatch_probes_total\{(?=[^}]*result="fail")(?=[^}]*stage="(?:reach|rtsp)")[^}]*\} (\S+)$', re.M)
FAIL_SHARE = 0.01  # more probes failing than this (all the simulated cameras are up): the box is overloaded
SHARD_CAMERAS = re.compile(r"^camwatch_shard_cameras (\S+)$", re.M)


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


STARTED: list[Run] = []  # every process started: stopped at the end whatever happens


class Run:
    """One ``camwatch run`` process (a replica unless *replicas* is False)."""

    def __init__(self, work: Path, url: str, name: str, interval_s: float, *, replicas: bool = True,
                 defer: bool = False) -> None:
        self.name, self.port, self.started = name, free_port(), time.monotonic()
        self.proc: subprocess.Popen[bytes] | None = None
        env = _env(url, self.port, name)
        for k in [k for k in env if k.startswith("CAMWATCH_") and k not in ("CAMWATCH_DB", "CAMWATCH_HTTP__PORT",
                                                                        "CAMWATCH_LANGUAGE", "CAMWATCH_SECRET_KEY")]:
            del env[k]  # production defaults, but for the ones below
        env.update({"CAMWATCH_COLLECTOR__REPLICAS": "true" if replicas else "false",
                    "CAMWATCH_COLLECTOR__SHARDS": str(SHARDS), "CAMWATCH_COLLECTOR__INTERVAL_S": str(interval_s),
                    "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": str(min(15.0, interval_s)),
                    "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": f"[{interval_s / 6:g}, {interval_s / 3:g}]",
                    "CAMWATCH_COLLECTOR__VIDEO": "false"})
        if replicas:
            env["CAMWATCH_COLLECTOR__REPLICA_ID"] = name
        self.env, self.work = env, work
        self.log = work / f"{name}.log"
        if not defer:
            self.start()

    @property
    def pid(self) -> int:
        assert self.proc is not None, "started"
        return self.proc.pid

    def start(self) -> None:
        STARTED.append(self)
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        self.started = time.monotonic()
        with self.log.open("a") as out:
            self.proc = subprocess.Popen([exe, "run"], cwd=self.work, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def get(self, path: str, timeout: float = 10) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return str(r.read().decode())

    def shards(self) -> set[int]:
        import json

        return set(json.loads(self.get("/healthz", 5))["replica"]["shards"] or ())

    def metrics(self) -> str:
        return self.get("/metrics", 60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def probes_done(text: str) -> int:
    return int(sum(float(v) for v in PROBES.findall(text)))


def probes_failed(text: str) -> int:
    return int(sum(float(v) for v in FAILED.findall(text)))


@dataclass(frozen=True, slots=True)
class Window:
    processes: int
    seconds: float
    cpu_s: float
    probes: int
    failed: int  # of them: failed at reach or RTSP (every simulated camera is up: timeouts of an overloaded box)
    camera_series: int  # sample lines of camwatch_camera_* families, summed over the processes
    cameras: int  # camwatch_shard_cameras, summed
    families: tuple[tuple[str, int], ...]  # the sample lines of each camwatch_camera_* family

    @property
    def cpu_per_probe_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.probes)


def measure(runs: list[Run], window_s: float) -> Window:
    first = [r.metrics() for r in runs]
    c0, t0 = [cpu_s(r.pid) for r in runs], time.monotonic()
    time.sleep(window_s)
    c1, t1 = [cpu_s(r.pid) for r in runs], time.monotonic()
    texts = [r.metrics() for r in runs]
    probes = sum(probes_done(t) - probes_done(f) for t, f in zip(texts, first, strict=True))
    failed = sum(probes_failed(t) - probes_failed(f) for t, f in zip(texts, first, strict=True))
    fam: dict[str, int] = {}
    for t in texts:
        for ln in t.splitlines():
            if ln.startswith("camwatch_camera_"):
                name = ln.split("{", 1)[0].removeprefix("camwatch_camera_")
                fam[name] = fam.get(name, 0) + 1
    cams = sum(int(float(m.group(1))) for t in texts if (m := SHARD_CAMERAS.search(t)))
    return Window(len(runs), t1 - t0, sum(c1) - sum(c0), probes, failed, sum(fam.values()), cams, tuple(sorted(fam.items())))


def balanced(runs: list[Run]) -> bool:
    sets = [r.shards() for r in runs]
    return (sum(map(len, sets)) == SHARDS and len(set().union(*sets)) == SHARDS
            and balance(len(s) for s in sets) <= 0.10)


def pg(base: str, sql: str, *args: object, schema: str | None = None) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(base, server_settings={"search_path": schema} if schema else {})
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def probed_after(base: str, schema: str, cams: list[int], at: dt.datetime) -> dict[int, float]:
    """Seconds from *at* to each camera's first probed (not unknown) interval starting after it."""
    rows = pg(base, "SELECT camera_id, min(start) AS s FROM state_intervals WHERE camera_id = ANY($1::int[])"
              " AND start > $2 AND state <> 'unknown' GROUP BY camera_id", cams, at, schema=schema)
    return {r["camera_id"]: (r["s"] - at).total_seconds() for r in rows}


def warm(runs: list[Run], interval_s: float, what: str) -> None:
    wait_for(lambda: balanced(runs), 120, what)
    time.sleep(max(2 * interval_s, 15.0))  # catch-up probes done, a sweep or two at the regular phase


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:  # noqa: PLR0915 - one phase after another, printed as they go
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=3000)
    ap.add_argument("--interval", type=float, default=10.0, help="collector.interval_s")
    ap.add_argument("--window", type=float, default=60.0, help="seconds of each CPU measurement")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of 1 replica, 3 replicas, 3 lone collectors")
    ap.add_argument("--pg", default=os.environ.get("CAMWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--max-seconds", type=float, default=2400.0, help="the whole run stops (FAIL) past this")
    args = ap.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-seconds passed")))
    signal.alarm(int(args.max_seconds))
    takeover_s = 2 * args.interval
    schema = "bench_" + uuid.uuid4().hex[:10]
    parts = [f"{schema}_{k}" for k in range(3)]
    pg(args.pg, f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?search_path={schema}"
    runs: list[Run] = []
    work = Path(tempfile.mkdtemp(prefix="camwatch-replicas-"))
    ok = True
    print(f"replicas bench: {args.cameras} cameras, interval {args.interval:g} s, {SHARDS} shards, takeover_s "
          f"{takeover_s:g} s, {os.cpu_count()} cores; {load()}", flush=True)
    try:
        with loopback_range(2) as rng:
            assert camwatch(work, "--db", url, "db", "upgrade").returncode == 0
            csv = inventory(work / "cameras.csv", args.cameras, rng.base_address)
            r = camwatch(work, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY})
            assert r.returncode == 0, r.stderr
            ids = [row["id"] for row in pg(args.pg, "SELECT id FROM cameras ORDER BY id", schema=schema)]
            rows = csv.read_text(encoding="utf-8-sig").splitlines()
            for k, part in enumerate(parts):  # the same cameras in thirds, each third a database of its own
                pg(args.pg, f'CREATE SCHEMA "{part}"')
                sub = work / f"third{k}"
                sub.mkdir()
                lo, hi = k * args.cameras // 3, (k + 1) * args.cameras // 3
                (sub / "cameras.csv").write_text("\n".join([rows[0], *rows[1 + lo:1 + hi]]) + "\n", encoding="utf-8-sig")
                part_url = f"{args.pg}?search_path={part}"
                assert camwatch(sub, "--db", part_url, "db", "upgrade").returncode == 0
                r = camwatch(sub, "inventory", "import", str(sub / "cameras.csv"), env={"CAMWATCH_DB": part_url, **KEY})
                assert r.returncode == 0, r.stderr
            with Fleet(args.cameras, base_address=rng.base_address, nice=5):
                # 1. CPU per probe
                windows: dict[str, Window] = {}

                def show(label: str, w: Window) -> None:
                    print(f"  {label:26s} CPU {w.cpu_s:6.1f} s over {w.seconds:.0f} s for {w.probes} probes: "
                          f"{w.cpu_per_probe_ms:.3f} ms/probe ({w.probes / w.seconds:.0f} probes/s, {w.failed} failed); "
                          f"{w.camera_series / max(1, w.cameras):.1f} camera series per camera; {load()}", flush=True)

                # (a) a lone collector on the whole fleet, once; then rounds (the box's speed drifts over
                # minutes by more than the goal, so what is compared is measured side by side) of
                # (c) 1 replica, (d) 3 replicas on the whole fleet, (b) three lone collectors, each on
                # a third of it in a schema of its own: the process layout of 3 replicas, uncoordinated
                lone = [Run(work, url, "lone", args.interval, replicas=False)]
                wait_for(lambda: bool(lone[0].get("/healthz", 5)), 120, "lone collector up")
                time.sleep(max(2 * args.interval, 15.0))
                show("lone collector", w := measure(lone, args.window))
                windows["lone collector"] = w
                lone[0].stop()
                thirds = [Run(work / f"third{k}", f"{args.pg}?search_path={s}", f"third{k}", args.interval, replicas=False,
                              defer=True) for k, s in enumerate(parts)]
                ones: list[Window] = []
                threes: list[Window] = []
                uncoordinated: list[Window] = []
                for rnd in range(args.rounds):
                    runs = [Run(work, url, "r1", args.interval)]
                    warm(runs, args.interval, "1 replica holding every shard")
                    ones.append(measure(runs, args.window))
                    show(f"1 replica (round {rnd + 1})", ones[-1])
                    runs += [Run(work, url, f"r{k}", args.interval) for k in (2, 3)]
                    warm(runs, args.interval, "3 replicas balanced")
                    threes.append(measure(runs, args.window))
                    show(f"3 replicas (round {rnd + 1})", threes[-1])
                    for x in runs:
                        x.stop()
                    for x in thirds:
                        x.start()
                    for x in thirds:
                        wait_for(lambda r=x: bool(r.get("/healthz", 5)), 120, "3 lone collectors up")  # type: ignore[misc]
                    time.sleep(max(2 * args.interval, 15.0))
                    uncoordinated.append(measure(thirds, args.window))
                    show(f"3 lone collectors, 1/3 each (round {rnd + 1})", uncoordinated[-1])
                    for x in thirds:
                        x.stop()
                print("    camera series: " + ", ".join(f"{k} {v}" for k, v in threes[-1].families), flush=True)
                clean = all(w.failed <= FAIL_SHARE * w.probes for w in [*windows.values(), *ones, *threes, *uncoordinated])

                def median_ratio(a: list[Window], b: list[Window]) -> tuple[float, str]:
                    rs = [x.cpu_per_probe_ms / y.cpu_per_probe_ms - 1 for x, y in zip(a, b, strict=True)]
                    return statistics.median(rs), ", ".join(f"{r:+.1%}" for r in rs)

                proper, proper_rounds = median_ratio(threes, uncoordinated)
                over, over_rounds = median_ratio(threes, ones)
                layout, layout_rounds = median_ratio(uncoordinated, ones)
                lone_gap = statistics.median(w.cpu_per_probe_ms for w in ones) / windows["lone collector"].cpu_per_probe_ms - 1
                judged = verdict(proper <= OVERHEAD_GOAL) if clean else "NOT JUDGED (probes failed: the box is overloaded)"
                ok &= clean and proper <= OVERHEAD_GOAL
                print(f"coordination overhead: 3 replicas vs 3 lone collectors on a third each {proper:+.1%} (median "
                      f"of {len(threes)} rounds: {proper_rounds}; goal <= {OVERHEAD_GOAL:.0%}) {judged}", flush=True)
                print(f"  3 replicas vs 1 replica on the same fleet {over:+.1%} (rounds: {over_rounds}); of which the same "
                      f"probes split over 3 processes, 3 lone collectors vs 1 replica: {layout:+.1%} (rounds: "
                      f"{layout_rounds}); 1 replica vs a lone collector {lone_gap:+.1%}", flush=True)
                runs = [Run(work, url, f"r{k}", args.interval) for k in (1, 2, 3)]
                warm(runs, args.interval, "3 replicas balanced")

                # 2. kill -9 and takeover; 3. the restart is a join: rebalance
                shards_s: list[float] = []
                probed_s: list[float] = []
                joins: list[tuple[float, float]] = []
                try:
                    for k in range(args.kills):
                        victim = runs[k % len(runs)]
                        others = [x for x in runs if x is not victim]
                        gone = victim.shards()
                        lost = [c for c in ids if shard_of(c, SHARDS) in gone]
                        at = dt.datetime.now(dt.UTC)
                        t0 = time.monotonic()
                        assert victim.proc is not None
                        victim.proc.kill()
                        victim.proc.wait(timeout=10)
                        held: float | None = None
                        try:
                            held = time.monotonic() - t0 + wait_for(
                                lambda o=others: len(set().union(*(x.shards() for x in o))) == SHARDS,  # type: ignore[misc]
                                6 * takeover_s, "the killed replica's shards held again")
                            wait_for(lambda lo=lost, a=at: len(probed_after(args.pg, schema, lo, a)) == len(lo),  # type: ignore[misc]
                                     6 * takeover_s, "the killed replica's cameras probed again")
                        except AssertionError as exc:  # too slow: counted as the bound (FAIL), then on
                            print(f"  kill {k + 1:2d} of {victim.name}: {exc}; {load()}", flush=True)
                            held = time.monotonic() - t0 if held is None else held
                        delays = probed_after(args.pg, schema, lost, at)
                        first = min(delays.values(), default=float("nan"))
                        last = max(delays.values()) if len(delays) == len(lost) else (dt.datetime.now(dt.UTC) - at).total_seconds()
                        shards_s.append(held)
                        probed_s.append(last)
                        fresh = Run(work, url, victim.name, args.interval)
                        runs[runs.index(victim)] = fresh
                        up = wait_for(lambda f=fresh: bool(f.get("/healthz", 5)), 120, "the restarted replica up")  # type: ignore[misc]
                        bal = wait_for(lambda: balanced(runs), 6 * takeover_s, "balanced after the join")
                        joins.append((up + bal, bal))
                        print(f"  kill {k + 1:2d} of {victim.name}: {len(gone)} shards held again after {held:.1f} s, its "
                              f"{len(lost)} cameras probed again {first:.1f}-{last:.1f} s "
                              f"after; restarted: up after {up:.1f} s, balanced {bal:.1f} s later; {load()}", flush=True)
                        time.sleep(args.interval)  # the handed-over cameras probed by their new owner
                except TimeoutError:  # --max-seconds: what was measured is still printed
                    print(f"  --max-seconds passed after {len(shards_s)} kill(s)", flush=True)
                    ok = False
                if shards_s and joins:
                    s_ok, p_ok = max(shards_s) <= takeover_s, max(probed_s) <= 2 * args.interval
                    j_ok = max(b for _, b in joins) <= takeover_s
                    ok &= s_ok and p_ok and j_ok
                    print(f"takeover after kill -9 ({len(shards_s)} kills): shards held again p50 "
                          f"{statistics.median(shards_s):.1f} s, max {max(shards_s):.1f} s (goal <= takeover_s "
                          f"{takeover_s:g} s) {verdict(s_ok)}; cameras probed again p50 "
                          f"{statistics.median(probed_s):.1f} s, max {max(probed_s):.1f} s (goal <= 2 intervals "
                          f"{2 * args.interval:g} s) {verdict(p_ok)}")
                    print(f"rebalance when a replica joins ({len(joins)} joins): from its start p50 "
                          f"{statistics.median(a for a, _ in joins):.1f} s, max {max(a for a, _ in joins):.1f} s; "
                          f"from its first /healthz answer p50 {statistics.median(b for _, b in joins):.1f} s, max "
                          f"{max(b for _, b in joins):.1f} s (goal <= takeover_s {takeover_s:g} s) {verdict(j_ok)}")
                print(f"{load()}; {verdict(ok)}", flush=True)
                for x in runs:
                    x.stop()
    except (AssertionError, TimeoutError, OSError) as exc:
        print(f"FAIL: {type(exc).__name__}: {exc}", file=sys.stderr)
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name}", log.read_text()[-1500:], sep="\n", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
        for x in STARTED:
            x.stop()
        for name in (schema, *parts):
            pg(args.pg, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
