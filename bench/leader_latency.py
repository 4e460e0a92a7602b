"""Benchmark: event -> message latency of the replicas' leader, whose events come through the
database, beside a lone collector's in-memory path (issue 18 point 3).

    .venv/bin/python bench/leader_latency.py [--rounds 5] [--interval 2] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                             [--max-seconds 900]

One simulated fleet of 20 cameras (two villages of ten) on a free loopback range; for each mode a
fresh schema of the local PostgreSQL (dropped at the end) with real ``camwatch run`` processes and
the same alert settings (grouping window 3 s, alert tick 1 s; fast tier every ``--interval`` s),
messages to a loopback webhook receiver (tests/collector/test_replicas_alerts.py's). Modes: a lone
collector (the baseline: the scheduler's events go to its alert engine in memory), one replica
(the leader: events written with the interval batch, read by its cursor), three replicas (most of
the village's events written by the other two).

Per round: village 0 goes down, its open message arrives, it comes back, its resolve message
arrives. Latency = the resolve message's arrival - the incident's ``resolved_at`` (the instant the
last camera's recovery was confirmed by the process that probed it): the path from a camera event
to a posted message, without the grouping window. Printed: p50 and max per mode and what the
database path adds to the baseline's p50. Exit 0 when the added p50 is within the alert tick plus
the interval writer's flush (2 s), 1 otherwise, 2 when a phase breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from probes.sim import Behaviour, Fleet, Power  # noqa: E402
from tests.collector.test_cli_inventory import camwatch  # noqa: E402
from tests.collector.test_replicas import KEY, _env, inventory, wait_for  # noqa: E402
from tests.collector.test_replicas_alerts import Hook  # noqa: E402
from tests.net import free_port, loopback_range  # noqa: E402

N = 20
GROUP_S, TICK_S = 3.0, 1.0
GOAL_ADDED_S = 2.0  # alert tick (1 s) + interval writer flush (1 s)


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pg(base: str, sql: str, schema: str | None = None) -> list[asyncpg.Record]:
    import asyncio

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(base, server_settings={"search_path": schema} if schema else {})
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()
    return asyncio.run(go())


class Run:
    def __init__(self, work: Path, url: str, name: str, hook: Hook, interval_s: float, *, replicas: bool) -> None:
        self.port = free_port()
        env = _env(url, self.port, name)
        env.update({
            "CAMWATCH_COLLECTOR__REPLICAS": "true" if replicas else "false",
            "CAMWATCH_COLLECTOR__INTERVAL_S": str(interval_s),
            "CAMWATCH_COLLECTOR__FLAP_CHANGES": "1000",  # the rounds go down and up again and again: not flapping
            "CAMWATCH_ALERTS__GROUP_WINDOW_S": str(GROUP_S), "CAMWATCH_ALERTS__TICK_S": str(TICK_S),
            "CAMWATCH_ALERTS__ESCALATION": "[]", "CAMWATCH_ALERTS__REMINDER_INTERVAL_S": "0",
            "CAMWATCH_ALERTS__NOTIFY_ON_GROWTH": "false", "CAMWATCH_ALERTS__QUIET_HOURS__ENABLED": "false",
            "CAMWATCH_ALERTS__CHANNELS": json.dumps({"critical": ["hook"], "normal": ["hook"], "low": ["hook"]}),
            "CAMWATCH_NOTIFY__CHANNELS": json.dumps([{"name": "hook", "kind": "webhook",
                                                      "url": f"http://127.0.0.1:{hook.port}/hook/t0ken"}]),
        })
        if not replicas:
            env.pop("CAMWATCH_COLLECTOR__REPLICA_ID", None)
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        with (work / f"{name}.log").open("a") as out:
            self.proc = subprocess.Popen([exe, "run"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)

    def healthy(self) -> bool:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            return bool(r.status == 200)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def mode(args: argparse.Namespace, fleet: Fleet, base: str, replicas: int) -> list[float]:
    """Latencies (s) of ``args.rounds`` resolve messages with *replicas* processes (0: a lone collector)."""
    schema = "bench_" + uuid.uuid4().hex[:10]
    pg(args.pg, f'CREATE SCHEMA "{schema}"')
    url = f"{args.pg}?search_path={schema}"
    hook, runs = Hook(), []
    try:
        with_replicas = replicas > 0
        work = Path(args.work) / schema
        work.mkdir(parents=True)
        assert camwatch(work, "--db", url, "db", "upgrade").returncode == 0
        csv = inventory(work / "cameras.csv", N, base)
        assert camwatch(work, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY}).returncode == 0
        runs = [Run(work, url, f"r{i}", hook, args.interval, replicas=with_replicas) for i in range(max(1, replicas))]
        wait_for(lambda: all(r.healthy() for r in runs), 180, "collectors up")
        time.sleep(3 * args.interval)  # shards shared, every camera seen up once
        out = []
        sql = "SELECT count(*) AS n, max(resolved_at) AS t FROM incidents WHERE resolved_at IS NOT NULL"
        for k in range(args.rounds):
            n = len(hook.posts())
            fleet.set_behaviour(range(10), Behaviour(power=Power.DOWN))
            wait_for(lambda n=n: len(hook.posts()) >= n + 1, GROUP_S + 4 * args.interval + 60, "open message")  # type: ignore[misc]
            fleet.set_behaviour(range(10), Behaviour())
            wait_for(lambda n=n: any("back online" in p.body["title"] for p in hook.posts()[n:]),  # type: ignore[misc]
                     4 * args.interval + 60, "resolve message")
            got = next(p for p in hook.posts()[n:] if "back online" in p.body["title"])
            # (a lone collector posts before it stores the incident: wait for this round's row)
            wait_for(lambda k=k: pg(args.pg, sql, schema)[0]["n"] >= k + 1, 30, "the incident stored")  # type: ignore[misc]
            out.append(got.at - pg(args.pg, sql, schema)[0]["t"].timestamp())
            time.sleep(1.0)
        extra = [p.body["title"] for p in hook.posts()]
        if len(extra) != 2 * args.rounds:
            print(f"  ! {len(extra)} messages for {args.rounds} rounds: {extra}")
        return out
    finally:
        for r in runs:
            r.stop()
        hook.close()
        pg(args.pg, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--max-seconds", type=float, default=900.0)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    args.rounds = max(1, min(args.rounds, 20))
    import tempfile

    started = time.monotonic()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, loopback_range(2) as rng, Fleet(N, base_address=rng.base_address) as fleet:
        args.work = args.work or tmp
        for name, n in (("lone collector (in memory)", 0), ("1 replica (leader, via the database)", 1),
                        ("3 replicas (via the database)", 3)):
            if time.monotonic() - started > args.max_seconds:
                print(f"time budget spent: {name} not run")
                break
            print(f"{name}: {args.rounds} rounds, fast tier every {args.interval:g} s; {load()}", flush=True)
            try:
                lat = mode(args, fleet, rng.base_address, n)
            except AssertionError as exc:
                print(f"  phase broke: {exc}")
                return 2
            results[name] = lat
            print(f"  event -> message: p50 {statistics.median(lat):.2f} s, max {max(lat):.2f} s "
                  f"({', '.join(f'{x:.2f}' for x in lat)}); {load()}", flush=True)
    base = statistics.median(results["lone collector (in memory)"])
    ok = True
    for name, lat in results.items():
        if name.startswith("lone"):
            continue
        added = statistics.median(lat) - base
        good = added <= GOAL_ADDED_S
        ok &= good
        print(f"{name}: adds {added:+.2f} s at p50 to the in-memory path (goal <= {GOAL_ADDED_S:g} s: "
              f"{'ok' if good else 'FAIL'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
