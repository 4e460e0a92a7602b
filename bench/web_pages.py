"""Benchmark: server time of every console page over a large county on PostgreSQL.

    .venv/bin/python bench/web_pages.py [--cameras 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                        [--repeat 20] [--max-seconds 1500]

Setup as ``bench/rates_pg.py`` (a fresh schema: the synthetic inventory imported by camwatch's
importer, 35 days of state intervals shaped like a rural fleet, a few hundred exclusions, the
daily rollups built), then a real :class:`~collector.runtime.app.App` on it, not probing: its
slots loaded as ``camwatch run`` loads them, each camera's current state taken from its open
interval, the region figures computed as the collector does. Each page is served by the real
aiohttp application on loopback; a middleware records the server time of each request.

Printed per page: the first (cold) request, then p50 / p95 of ``--repeat`` requests; beside
them the same-run baseline of ``GET /api/v1/regions/{township}`` (the API's reading of the same
slots and coverage). Goal: every page's p95 <= 300 ms; exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rates_pg import LEAD_DAYS, PERIOD_DAYS, fleet_ids, import_inventory, load_data, pg_exec  # noqa: E402

GOAL_MS = 300.0
DAY = dt.timedelta(days=1)


async def measure(url: str, now: dt.datetime, repeat: int) -> bool:
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from sqlalchemy import select

    from collector.accounting.sql.rollups import build_rollups
    from collector.runtime.app import App
    from collector.runtime.camera_state import State, Status
    from collector.settings import load_settings
    from collector.web.pages.region import SERIES_KEY
    from collector.web.server import build_application
    from inventory.db import create_engine
    from inventory.models import StateInterval
    from inventory.secrets import SecretBox, generate_key
    from probes.causes import Cause

    engine = create_engine(url)
    server: TestServer | None = None
    try:
        t0 = time.perf_counter()
        report = await build_rollups(engine, now)
        print(f"rollups: {report.days_built} days built in {time.perf_counter() - t0:.1f} s", flush=True)
        settings = load_settings(db_url=url, environ={"CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_HTTP__PORT": "0"})
        app = App(settings, engine, SecretBox(generate_key()), clock=lambda: now)
        t0 = time.perf_counter()
        await app.reload()
        async with engine.connect() as conn:
            open_rows = (await conn.execute(select(StateInterval.camera_id, StateInterval.state, StateInterval.cause,
                                                   StateInterval.start).where(StateInterval.end.is_(None)))).all()
        for cid, state, cause, start in open_rows:
            slot = app.scheduler.slots.get(cid)
            if slot is not None:
                slot.status = Status(State(state), Cause(cause) if cause else None, start)
        await app.refresh_figures()
        slots = app.scheduler.slots
        print(f"app: {len(slots)} slots loaded, states set and figures computed in {time.perf_counter() - t0:.1f} s",
              flush=True)

        times: dict[str, list[float]] = {}

        @web.middleware
        async def timed(request: web.Request, handler):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return await handler(request)
            finally:
                times.setdefault(request.path_qs, []).append((time.perf_counter() - t) * 1000.0)

        webapp = build_application(app)
        webapp.middlewares.insert(0, timed)
        server = TestServer(webapp, host="127.0.0.1", port=0)
        await server.start_server()
        first = next(iter(sorted(slots.values(), key=lambda s: s.cam.id)))
        lb = first.cam.labels
        offline = next((s for s in slots.values() if s.status.state is State.OFFLINE), first)
        pages = ["/", "/?page=20", "/cameras", "/cameras?state=offline&page=5", f"/regions/{lb.county}",
                 f"/regions/{lb.township}", f"/regions/{lb.village}", f"/cameras/{offline.cam.id}",
                 "/workorders", "/exclusions?active=false", "/exclusions/proposals?status=all"]
        baseline = f"/api/v1/regions/{lb.township}"
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
            async def get(path: str) -> None:
                async with http.get(base + path) as r:
                    await r.read()
                    assert r.status == 200, (path, r.status)

            cold = {}
            for p in [*pages, baseline]:
                await get(p)
                cold[p] = times[p][-1]
            series = webapp[SERIES_KEY]
            t0 = time.perf_counter()
            if series.task is not None:
                await series.task  # the 90 days of the charts, filled in the background after the first view
            print(f"daily-rate cache: 90 days of every region filled in {time.perf_counter() - t0:.1f} s after the first"
                  " region page (in the background)", flush=True)
            for p in [*pages, baseline]:
                times[p] = []
                for _ in range(repeat):
                    await get(p)
        ok = True
        print(f"{'page':<44}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}")
        for p in [*pages, baseline]:
            xs = sorted(times[p])
            p50 = statistics.median(xs)
            p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
            flag = "" if p == baseline else ("" if p95 <= GOAL_MS else "  over")
            ok = ok and (p == baseline or p95 <= GOAL_MS)
            print(f"{p[:43]:<44}{cold[p]:>9.1f}{p50:>9.1f}{p95:>9.1f}{flag}")
        worst = max(sorted(times[p])[min(repeat - 1, int(round(0.95 * (repeat - 1))))] for p in pages)
        print(f"console pages over {len(slots)} cameras: worst p95 {worst:.0f} ms (goal <= {GOAL_MS:.0f} ms)"
              f" {'PASS' if ok else 'FAIL'}")
        return ok
    finally:
        if server is not None:
            await server.close()
        await engine.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=100_000)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--max-seconds", type=float, default=1500.0)
    a = p.parse_args()
    if not 1 <= a.cameras <= 200_000 or not 2 <= a.repeat <= 1000:
        p.error("need 1 <= cameras <= 200000 and 2 <= repeat <= 1000")
    signal.alarm(int(a.max_seconds))  # bounded: SIGALRM ends the run; the schema is dropped below


    from inventory.db import upgrade

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    period_start = now - PERIOD_DAYS * DAY
    schema = "bench_" + uuid.uuid4().hex[:10]
    url = f"{a.pg}?search_path={schema}"
    pg_exec(a.pg, f'CREATE SCHEMA "{schema}"')
    try:
        t0 = time.perf_counter()
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            import_inventory(url, a.cameras, Path(tmp))

        cids, villages, townships = asyncio.run(fleet_ids(url))
        n_iv, n_ex = asyncio.run(load_data(a.pg, schema, cids, villages, townships, period_start, now, a.seed))
        print(f"setup: {len(cids)} cameras, {n_iv} intervals over {PERIOD_DAYS + LEAD_DAYS} days, {n_ex} exclusions"
              f" in {time.perf_counter() - t0:.1f} s", flush=True)
        return 0 if asyncio.run(measure(url, now, a.repeat)) else 1
    finally:
        signal.alarm(0)
        pg_exec(a.pg, f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    sys.exit(main())
