"""Benchmark: what the replicas' camera events add to the interval writer's batches (issue 18 point 3).

    .venv/bin/python bench/event_feed_cost.py [--cameras 2000] [--batches 20] [--pg postgresql://postgres@127.0.0.1:5432/test]

In a fresh schema of the local PostgreSQL (dropped at the end), ``--cameras`` cameras imported;
then, alternately, ``--batches`` write batches of the interval writer (``write_batch``: every
camera changes state once) without and with the camera events of the same changes written in the
same transaction (:class:`collector.runtime.event_feed.EventFeed`, with its transaction lock).
Printed: the median batch time and the cost per transition of each, and what the events add.
The baseline is the same writer in the same run. Exit 0 when the events add at most 50% per
transition, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from collector.runtime.camera_state import Changed, State  # noqa: E402
from collector.runtime.event_feed import EventFeed  # noqa: E402
from collector.runtime.interval_writer import write_batch  # noqa: E402
from collector.runtime.journal import IntervalOpen  # noqa: E402
from inventory.db import create_engine  # noqa: E402
from inventory.models import Camera  # noqa: E402
from probes.causes import Cause  # noqa: E402
from tests.collector.test_cli_inventory import camwatch  # noqa: E402
from tests.collector.test_replicas import KEY, inventory  # noqa: E402

GOAL = 0.50


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(url: str, batches: int) -> tuple[list[float], list[float], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            ids = list((await conn.execute(select(Camera.id).order_by(Camera.id))).scalars())
        feed = EventFeed("bench")
        plain: list[float] = []
        fed: list[float] = []
        t = dt.datetime.now(dt.UTC)
        for k in range(2 * batches):
            with_events = k % 2 == 1
            t += dt.timedelta(seconds=10)
            new, old = (State.OFFLINE, State.ONLINE) if k % 4 < 2 else (State.ONLINE, State.OFFLINE)
            events = [IntervalOpen(cid, new.value, "unreachable" if new is State.OFFLINE else None, t) for cid in ids]
            fence = None
            if with_events:
                for cid in ids:
                    feed.submit(cid, Changed(old, new, Cause.UNREACHABLE if new is State.OFFLINE else None, t, t))

                async def fence(conn, evs, beat):  # type: ignore[no-untyped-def]
                    await feed.write(conn, lambda cid: True)
                    return evs
            t0 = time.perf_counter()
            await write_batch(engine, events, collector_id="bench", started_at=t, now=t, fence=fence)
            (fed if with_events else plain).append(time.perf_counter() - t0)
        return plain, fed, len(ids)
    finally:
        await engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    args.cameras = max(10, min(args.cameras, 20000))
    args.batches = max(2, min(args.batches, 200))

    async def sql(q: str) -> None:
        c = await asyncpg.connect(args.pg)
        try:
            await c.execute(q)
        finally:
            await c.close()

    schema = "bench_" + uuid.uuid4().hex[:10]
    asyncio.run(sql(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.pg}?search_path={schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            assert camwatch(work, "--db", url, "db", "upgrade").returncode == 0
            csv = inventory(work / "cameras.csv", args.cameras, "127.30.0.1")
            r = camwatch(work, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY})
            assert r.returncode == 0, r.stderr
        print(f"{args.cameras} cameras, {args.batches} + {args.batches} batches (each: every camera changes once); {load()}")
        plain, fed, n = asyncio.run(run(url, args.batches))
    finally:
        asyncio.run(sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    a, b = statistics.median(plain), statistics.median(fed)
    print(f"intervals only:        median {a * 1000:.1f} ms per batch, {a / n * 1e6:.1f} us per transition")
    print(f"intervals + events:    median {b * 1000:.1f} ms per batch, {b / n * 1e6:.1f} us per transition")
    added = b / a - 1
    print(f"the camera events add {added:+.0%} ({(b - a) / n * 1e6:+.1f} us per transition); goal <= {GOAL:.0%}; {load()}")
    return 0 if added <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
