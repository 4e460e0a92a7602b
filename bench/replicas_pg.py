"""Benchmark: what a province costs PostgreSQL - the cost of one state change (transition) as a
replica writes it, and the bytes per row of state_intervals and camera_rollups (issue 18 point 7,
the figures of the README's "A province on paper").

    .venv/bin/python bench/replicas_pg.py [--cameras 5000] [--rounds 30] [--pg postgresql://postgres@127.0.0.1:5432/test]

In a fresh schema (dropped at the end) it imports ``--cameras`` cameras (the synthetic county of
bench/import_inventory.py) and loads 35 days of state intervals shaped like a rural fleet
(bench/rates_pg.py: ~3 outages a week per camera, a few degraded spells, collector gaps), then
builds the daily rollups as the leader does each night. Then:

1. **Bytes per row**: ``pg_total_relation_size`` (heap, indexes, TOAST) of ``state_intervals``
   and ``camera_rollups`` after ``VACUUM ANALYZE``, divided by their rows.
2. **Cost per transition**: batches of 1, 10, 100 and 1,000 state changes written with the
   collector's own :func:`collector.runtime.interval_writer.write_batch` (close the open
   interval, open the new one, the heartbeat) through a :class:`collector.runtime.replicas.Replica`'s
   fence holding every shard (its shard rows locked and heartbeat, its locks read from pg_locks),
   and without a fence (a lone collector), ``--rounds`` batches each. Measured per batch: wall
   time, this process's CPU and the CPU of the PostgreSQL backends that served it (the pool's
   connections and the replica's coordination session, /proc/PID/stat). A straight line
   ``cost = per batch + n x per change`` is fitted to the four sizes.

The table is shared with whatever else runs on the server; note the load printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402
from rates_pg import fleet_ids, import_inventory, load_data, pg_exec  # noqa: E402
from sqlalchemy import event  # noqa: E402

from collector.accounting.sql.rollups import build_rollups  # noqa: E402
from collector.runtime.interval_writer import write_batch  # noqa: E402
from collector.runtime.journal import IntervalOpen  # noqa: E402
from collector.runtime.replicas import Replica  # noqa: E402
from inventory.db import create_engine, upgrade  # noqa: E402

SIZES = (1, 10, 100, 1000)
TICK = os.sysconf("SC_CLK_TCK")
CAUSES = ("unreachable", "timeout", "refused")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


class Host:
    """What a Replica asks of its collector (collector.runtime.replicas.ShardHost): the cameras."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids

    def camera_ids(self) -> list[int]:
        return self.ids

    def watch(self) -> None:
        pass

    async def let_go(self, camera_ids: set[int], at: dt.datetime) -> None:
        pass

    def lose(self, camera_ids: set[int]) -> None:
        pass


async def sizes(dsn: str, schema: str) -> dict[str, tuple[int, int]]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await conn.execute("VACUUM ANALYZE state_intervals")
        await conn.execute("VACUUM ANALYZE camera_rollups")
        out = {}
        for table in ("state_intervals", "camera_rollups"):
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
            size = await conn.fetchval(f"SELECT pg_total_relation_size('{table}')")
            out[table] = (int(rows), int(size))
        return out
    finally:
        await conn.close()


async def transitions(url: str, ids: list[int], rounds: int, seed: int) -> dict[tuple[str, int], tuple[float, float, float]]:
    """Per (fence, batch size): mean wall, client CPU and backend CPU seconds per batch."""
    engine = create_engine(url)
    pids: set[int] = set()

    @event.listens_for(engine.sync_engine, "connect")
    def _pid(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pids.add(int(cur.fetchone()[0]))
        cur.close()

    rnd = random.Random(seed)
    state = dict.fromkeys(ids, "online")
    out: dict[tuple[str, int], tuple[float, float, float]] = {}
    replica = Replica(engine, url, Host(ids), replica_id="bench-replica", collector_id="bench", shards=256,
                      takeover_s=120)
    try:
        await replica.start()  # locks every shard (alone), takes them over
        assert len(replica.owned) == 256, replica.owned
        started = dt.datetime.now(dt.UTC)
        for fenced in (True, False):
            for n in SIZES:
                batches = []
                for r in range(rounds + 1):  # the first of each size warms up, not counted
                    now = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=r)
                    batch = []
                    for cid in rnd.sample(ids, min(n, len(ids))):
                        state[cid] = "offline" if state[cid] == "online" else "online"
                        cause = rnd.choice(CAUSES) if state[cid] == "offline" else None
                        batch.append(IntervalOpen(cid, state[cid], cause, now, 5.0))
                    batches.append((now, batch))
                for r, (now, batch) in enumerate(batches):
                    if r == 1:  # (CPU read over all the rounds: /proc counts in ticks of 10 ms)
                        s0 = sum(cpu_s(p) for p in (*pids, replica.pid))
                        c0, t0 = time.process_time(), time.perf_counter()
                    await write_batch(engine, batch, collector_id="bench-replica" if fenced else "bench",
                                      started_at=started, now=now, fence=replica.fence if fenced else None)
                t1, c1 = time.perf_counter(), time.process_time()
                s1 = sum(cpu_s(p) for p in (*pids, replica.pid))
                out[("replica" if fenced else "lone", n)] = ((t1 - t0) / rounds, (c1 - c0) / rounds, (s1 - s0) / rounds)
    finally:
        await replica.close()
        await engine.dispose()
    return out


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares ``y = a + b x``: (a, b)."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return my - b * mx, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=30, help="batches of each size")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--pg", default=os.environ.get("CAMWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--max-seconds", type=float, default=900.0)
    a = ap.parse_args()
    signal.alarm(int(a.max_seconds))  # bounded: SIGALRM ends the run; the schema is dropped below
    schema = "bench_" + uuid.uuid4().hex[:10]
    url = f"{a.pg}?search_path={schema}"
    pg_exec(a.pg, f'CREATE SCHEMA "{schema}"')
    print(f"replicas_pg: {a.cameras} cameras; {os.cpu_count()} cores; {load()}", flush=True)
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            import_inventory(url, a.cameras, Path(tmp))
        cids, villages, townships = asyncio.run(fleet_ids(url))
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
        n_iv, _ = asyncio.run(load_data(a.pg, schema, cids, villages, townships, now - dt.timedelta(days=30), now,
                                        a.seed))
        engine = create_engine(url)
        report = asyncio.run(_rollups(engine, now))
        print(f"loaded {n_iv} intervals over 35 days ({n_iv / len(cids) / 35 * 30:.1f} a camera a month), "
              f"{report} rollup rows; {load()}", flush=True)
        for table, (rows, size) in asyncio.run(sizes(a.pg, schema)).items():
            print(f"  {table}: {rows} rows, {size / 2**20:.1f} MiB with indexes: {size / rows:.0f} bytes a row")
        costs = asyncio.run(transitions(url, cids, a.rounds, a.seed))
        for kind in ("replica", "lone"):
            for what, k in (("wall", 0), ("client CPU", 1), ("PostgreSQL CPU", 2)):
                pts = [(n, costs[(kind, n)][k]) for n in SIZES]
                per_batch, per_change = fit(pts)
                shown = ", ".join(f"{n}: {1000 * y:.2f}" for n, y in pts)
                print(f"  {kind:7s} {what:15s} ms per batch of n ({shown}); fit {1000 * per_batch:.2f} ms a batch "
                      f"+ {1000 * per_change:.3f} ms a change")
        print(f"{load()}")
        return 0
    finally:
        signal.alarm(0)
        pg_exec(a.pg, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _rollups(engine: Any, now: dt.datetime) -> int:
    try:
        return int((await build_rollups(engine, now)).rows)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
