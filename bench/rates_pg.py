"""Benchmark: 30-day township and village rates over a large county on PostgreSQL.

    .venv/bin/python bench/rates_pg.py [--cameras 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                       [--no-pure] [--max-seconds 900]

In a fresh schema of the given database (dropped at the end) it migrates the tables, imports a
synthetic inventory of ``--cameras`` cameras with camwatch's importer, and bulk-loads (asyncpg
``copy_records_to_table``) 30 days (+5 days before) of state intervals shaped like a rural
fleet: per camera ~3 outages a week (exponential, mean 2 h, some a day or more), a few degraded
spells, three collector outages a month left as gaps (unknown time), the last interval open;
stored in time order as the collector writes them; plus a few hundred exclusions (camera,
village and township scoped).

Then, as the collector does each night, it builds the daily rollups (:mod:`collector.accounting.sql.rollups`:
each camera's cumulative time at every UTC midnight), timed. Then it times the 30-day rates as
the API computes them:

* **the rate tables** (the goal's figures, best of 3 each): ``load_rate_table`` at township and
  at village level, as ``camwatch rates`` and ``GET /api/v1/rates`` build them: regions,
  targets and exclusions loaded, :func:`collector.accounting.sql.group_rates.sql_group_times` (two rollup
  rows per camera plus the period's edges from the intervals, grouped per village in SQL;
  excluded cameras corrected from their exclusion windows), rows and the table; the same for
  the contract's month report (last month in Asia/Shanghai: both edges 16 h past a UTC
  midnight); then one run broken down;
* the same grouped from the intervals only (no rollups), once, for comparison;
* unless ``--no-pure``: the per-camera SQL path (``sql_camera_times`` + ``aggregate``) and the
  pure path (``load_accounting`` + ``rates_by``: every interval of the period in Python).

All must give equal rows (asserted). The last line reads
``rates 30d over 100000 cameras: township table 0.9 s, village table 1.4 s; month report ... (goal <= 2 s) PASS``;
exit status 1 on FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402
from sqlalchemy import func  # noqa: E402

from inventory.models import Camera  # noqa: E402

GOAL_S = 2.0
DAY = dt.timedelta(days=1)
PERIOD_DAYS = 30
LEAD_DAYS = 5  # history before the period (the interval open at its start comes from there)
OUTAGES_PER_WEEK = 3.0
OUTAGE_MEAN_H = 2.0
LONG_OUTAGE_SHARE = 0.05  # a share of outages lasts 1-3 days (a dead switch waiting for repair)
DEGRADED_PER_WEEK = 0.5
COLLECTOR_OUTAGES = 3  # per month, all cameras: gaps in the intervals (unknown time)
EXCLUSIONS = (250, 40, 2)  # camera-, village- and township-scoped


def pg_exec(base: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())



async def fleet_ids(url: str) -> tuple[list[int], list[str], list[str]]:
    """The imported fleet's camera ids, village codes and township codes (for seeding intervals)."""
    from sqlalchemy import text

    from inventory.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            cids = list((await conn.execute(text("SELECT id FROM cameras ORDER BY id"))).scalars())
            vs = list((await conn.execute(text("SELECT code FROM regions WHERE level = 'village'"))).scalars())
            ts = list((await conn.execute(text("SELECT code FROM regions WHERE level = 'township'"))).scalars())
        return cids, vs, ts
    finally:
        await engine.dispose()

def import_inventory(url: str, cameras: int, work: Path) -> float:
    from import_inventory import generate  # bench/import_inventory.py: same synthetic county

    from inventory.db import create_engine
    from inventory.importer import import_file
    from inventory.secrets import SecretBox, generate_key

    path = work / "inventory.csv"
    generate(path, cameras)
    t0 = time.perf_counter()

    async def go() -> None:
        engine = create_engine(url)
        try:
            out = await import_file(engine, path, SecretBox(generate_key()))
            assert out.written, "the synthetic inventory did not import"
        finally:
            await engine.dispose()

    asyncio.run(go())
    return time.perf_counter() - t0


def make_intervals(rnd: random.Random, cids: list[int], start: dt.datetime, end: dt.datetime
                   ) -> list[tuple[int, str, str | None, dt.datetime, dt.datetime | None]]:
    """Per camera a contiguous timeline (with the collector's gaps) from ``start``, last one open."""
    span_s = (end - start).total_seconds()
    weeks = span_s / (7 * 86400)
    gaps = sorted((start + dt.timedelta(seconds=rnd.uniform(0.05, 0.95) * span_s),
                   dt.timedelta(minutes=rnd.uniform(5, 60))) for _ in range(COLLECTOR_OUTAGES * (LEAD_DAYS + PERIOD_DAYS) // 30))
    out: list[tuple[int, str, str | None, dt.datetime, dt.datetime | None]] = []
    for cid in cids:
        events: list[tuple[float, float, str, str | None]] = []
        for _ in range(int(rnd.expovariate(1 / (OUTAGES_PER_WEEK * weeks)))):
            hours = rnd.uniform(24, 72) if rnd.random() < LONG_OUTAGE_SHARE else rnd.expovariate(1 / OUTAGE_MEAN_H)
            events.append((rnd.uniform(0, span_s), hours * 3600, "offline", rnd.choice(("unreachable", "timeout", "refused", "auth_failed"))))
        for _ in range(int(rnd.expovariate(1 / (DEGRADED_PER_WEEK * weeks)))):
            events.append((rnd.uniform(0, span_s), rnd.uniform(600, 6 * 3600), "degraded", None))
        events.sort()
        t = 0.0
        timeline: list[tuple[float, float, str, str | None]] = []
        for at, length, state, cause in events:
            if at < t:
                continue  # overlapping events merge into the one already going
            if at > t:
                timeline.append((t, at, "online", None))
            timeline.append((at, min(at + length, span_s), state, cause))
            t = at + length
        if t < span_s:
            timeline.append((t, span_s, "online", None))
        gi = 0
        for i, (a, b, state, cause) in enumerate(timeline):
            s = start + dt.timedelta(seconds=a)
            e = start + dt.timedelta(seconds=b)
            # cut at collector outages: the interval ends at the gap and reopens after it
            while gi < len(gaps) and gaps[gi][0] < s:
                gi += 1
            while gi < len(gaps) and gaps[gi][0] < e:
                g0, glen = gaps[gi]
                if g0 > s:
                    out.append((cid, state, cause, s, g0))
                s = g0 + glen
                gi += 1
            if s < e:
                last = i == len(timeline) - 1
                out.append((cid, state, cause, s, None if last else e))
            elif i == len(timeline) - 1:
                out.append((cid, state, cause, e, None))
        del timeline
    return out


async def load_data(dsn: str, schema: str, cids: list[int], villages: list[str], townships: list[str],
                    period_start: dt.datetime, now: dt.datetime, seed: int) -> tuple[int, int]:
    rnd = random.Random(seed)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        n = 0
        # Generated camera by camera (bounded memory), stored in time order as the collector
        # writes them: a day's intervals share heap pages, as in a real database.
        await conn.execute("CREATE UNLOGGED TABLE bench_load (LIKE state_intervals INCLUDING DEFAULTS)")
        for i in range(0, len(cids), 10_000):
            rows = make_intervals(rnd, cids[i:i + 10_000], period_start - LEAD_DAYS * DAY, now)
            await conn.copy_records_to_table("bench_load", records=rows,
                                             columns=["camera_id", "state", "cause", "start", "end"])
            n += len(rows)
        await conn.execute("SET work_mem = '1GB'")
        # each transition's half probe gap, as the collector stores it (up to 30 s: half the 60 s interval)
        await conn.execute('INSERT INTO state_intervals (camera_id, state, cause, start, "end", start_uncertainty_us)'
                           ' SELECT camera_id, state, cause, start, "end",'
                           ' (camera_id * 7919 + extract(epoch FROM start)::bigint) % 30000000'
                           ' FROM bench_load ORDER BY start, camera_id')
        await conn.execute("DROP TABLE bench_load")
        ex: list[tuple[int | None, str | None, dt.datetime, dt.datetime, str, str, dt.datetime]] = []
        span_s = (now - period_start).total_seconds()
        scopes = ([(c, None) for c in rnd.sample(cids, EXCLUSIONS[0])] + [(None, v) for v in rnd.sample(villages, EXCLUSIONS[1])]
                  + [(None, t) for t in rnd.sample(townships, EXCLUSIONS[2])])
        for cid, region in scopes:
            s = period_start + dt.timedelta(seconds=rnd.uniform(-86400, span_s))
            ex.append((cid, region, s, s + dt.timedelta(hours=rnd.uniform(2, 72)), "power cut (bench)", "bench", now))
        await conn.copy_records_to_table("exclusions", records=ex, columns=[
            "camera_id", "region_code", "start", "end", "reason", "approver", "created_at"])
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would have: visibility map, statistics
        return n, len(ex)
    finally:
        await conn.close()


async def measure(url: str, period_start: dt.datetime, now: dt.datetime, pure: bool) -> bool:
    from sqlalchemy import select

    from collector.accounting import ExclusionSpan, Level, Period, aggregate, rates_by
    from collector.accounting.sql.camera_times import load_camera_refs, sql_camera_times
    from collector.accounting.sql.group_rates import sql_group_times
    from collector.accounting.sql.load import load_accounting
    from collector.accounting.sql.rate_tables import Method, RateQuery, load_rate_table
    from collector.accounting.sql.rollups import build_rollups
    from inventory.db import create_engine
    from inventory.models import Exclusion

    period = Period(period_start, now)
    levels = (Level.TOWNSHIP, Level.VILLAGE)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:  # warm the pool and the catalogue caches
            await conn.execute(select(1))
        day_times: list[float] = []
        last = [time.perf_counter()]

        def progress(day: dt.datetime, rows: int) -> None:
            t = time.perf_counter()
            day_times.append(t - last[0])
            last[0] = t

        report = await build_rollups(engine, now, progress=progress)
        if report.days_built:
            print(f"rollups: {report.days_built} midnights x {report.rows // report.days_built} cameras built in"
                  f" {report.seconds:.1f} s ({report.seconds / report.days_built:.2f} s a day; the collector"
                  f" adds one day each night: median {statistics.median(day_times):.2f} s)", flush=True)
        else:
            print(f"rollups: already built ({report.days_checked} midnights checked in {report.seconds:.2f} s)")

        async def load_exclusions() -> tuple[ExclusionSpan, ...]:
            async with engine.connect() as conn:
                return tuple(ExclusionSpan(s, e, c, r) for s, e, c, r in (await conn.execute(
                    select(Exclusion.start, Exclusion.end, Exclusion.camera_id, Exclusion.region_code)
                    .where(Exclusion.start < period.end, Exclusion.end > period.start))).all())

        best: dict[tuple[str, Level], float] = {}

        async def time_tables(name: str, label: str, window: Period) -> None:
            """Township and village tables of ``window``, end to end, best of 3 into ``best``."""
            for run in (1, 2, 3):
                took = {}
                for lvl in levels:
                    t0 = time.perf_counter()
                    table = await load_rate_table(engine, RateQuery(lvl, Method.TIME, window, now, "Asia/Shanghai", ()),
                                                  default_target=0.95)
                    took[lvl] = time.perf_counter() - t0
                    best[(name, lvl)] = min(best.get((name, lvl), took[lvl]), took[lvl])
                    assert len(table["rows"]) > 0
                print(f"{label} run {run}: township {took[Level.TOWNSHIP]:.2f} s, village {took[Level.VILLAGE]:.2f} s",
                      flush=True)

        # What a user waits for: `camwatch rates --level township|village --from <30 days ago>` and
        # GET /api/v1/rates build this table (load_rate_table), timed end to end.
        await time_tables("30d", "rate table", period)
        # The contract's month report: last month in Asia/Shanghai, [local month start, next one):
        # both edges 16 h past a UTC midnight, the heaviest case of the rollup plan.
        zone = ZoneInfo("Asia/Shanghai")
        m_end = dt.datetime(now.astimezone(zone).year, now.astimezone(zone).month, 1, tzinfo=zone)
        m_start = (m_end - DAY).replace(day=1)
        await time_tables("month", f"month report {m_start:%Y-%m} (Asia/Shanghai)",
                          Period(m_start.astimezone(dt.UTC), m_end.astimezone(dt.UTC)))
        # where the time goes (one run): exclusions, grouped sums and corrections, rows per level
        t0 = time.perf_counter()
        excl = await load_exclusions()
        t1 = time.perf_counter()
        groups = await sql_group_times(engine, period, now, exclusions=excl)
        t2 = time.perf_counter()
        rows = {lvl: groups.rows(lvl) for lvl in levels}
        t3 = time.perf_counter()
        print(f"  inside: exclusions {t1 - t0:.2f} s + grouped sums and corrections {t2 - t1:.2f} s + rows"
              f" {(t3 - t2):.2f} s (2 levels); {len(rows[Level.TOWNSHIP])} townships, {len(rows[Level.VILLAGE])} villages")
        t0 = time.perf_counter()
        plain = await sql_group_times(engine, period, now, exclusions=excl, use_rollups=False)
        print(f"the same grouped in SQL from the intervals (no rollups): {time.perf_counter() - t0:.2f} s", flush=True)
        assert {lvl: plain.rows(lvl) for lvl in levels} == rows, "rollup and interval sums differ"
        print("  rollup rows equal the interval rows (every township and village, with and without exclusions)")
        if pure:
            t0 = time.perf_counter()
            async with engine.connect() as conn:
                cams = await load_camera_refs(conn)
            times = await sql_camera_times(engine, period, now, exclusions=excl, cameras=cams)
            per_camera = {lvl: aggregate(lvl, cams, times) for lvl in levels}
            print(f"per-camera SQL path (camera refs, sums, aggregate): {time.perf_counter() - t0:.2f} s", flush=True)
            assert per_camera == rows, "per-camera and grouped rows differ"
            excluded = sum(1 for t in times.values() if t.with_exclusions != t.without_exclusions)
            print(f"  {len(excl)} exclusions in the period touch {excluded} cameras (corrected from their spans)")
            t0 = time.perf_counter()
            data = await load_accounting(engine, period)
            t1 = time.perf_counter()
            pure_rows = {lvl: rates_by(lvl, data.cameras, data.spans, data.exclusions, period, now) for lvl in levels}
            t2 = time.perf_counter()
            print(f"pure path: {t2 - t0:.2f} s = load_accounting ({len(data.spans)} intervals) {t1 - t0:.2f} s"
                  f" + rates_by (2 levels) {t2 - t1:.2f} s", flush=True)
            assert pure_rows == rows, "SQL and pure rates differ"
            print("  grouped, per-camera and pure rows are equal")
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(Camera))).scalar_one()
        worst = max(best.values())
        verdict = "PASS" if worst <= GOAL_S else "FAIL"
        print(f"rates 30d over {n} cameras: township table {best[('30d', Level.TOWNSHIP)]:.2f} s, village table"
              f" {best[('30d', Level.VILLAGE)]:.2f} s; month report {best[('month', Level.TOWNSHIP)]:.2f} s and"
              f" {best[('month', Level.VILLAGE)]:.2f} s (goal <= {GOAL_S:g} s) {verdict}")
        return verdict == "PASS"
    finally:
        await engine.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=100_000)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pure", action="store_true", help="skip the pure-path comparison")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--max-seconds", type=float, default=900.0)
    p.add_argument("--keep-schema", action="store_true", help="keep the schema (printed) for EXPLAIN")
    p.add_argument("--reuse-schema", help="measure a schema kept by an earlier run (no setup, not dropped)")
    a = p.parse_args()
    if not 1 <= a.cameras <= 200_000:
        p.error("need 1 <= cameras <= 200000")
    import signal

    signal.alarm(int(a.max_seconds))  # bounded: SIGALRM ends the run; the schema is dropped below


    from inventory.db import upgrade

    now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC) + dt.timedelta(hours=3, seconds=17.25)
    period_start = now - PERIOD_DAYS * DAY
    if a.reuse_schema:
        upgrade(f"{a.pg}?search_path={a.reuse_schema}")
        ok = asyncio.run(measure(f"{a.pg}?search_path={a.reuse_schema}", period_start, now, not a.no_pure))
        return 0 if ok else 1
    schema = "bench_" + uuid.uuid4().hex[:10]
    url = f"{a.pg}?search_path={schema}"
    pg_exec(a.pg, f'CREATE SCHEMA "{schema}"')
    try:
        t0 = time.perf_counter()
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            t_imp = import_inventory(url, a.cameras, Path(tmp))

        cids, villages, townships = asyncio.run(fleet_ids(url))
        t1 = time.perf_counter()
        n_iv, n_ex = asyncio.run(load_data(a.pg, schema, cids, villages, townships, period_start, now, a.seed))
        print(f"setup: migrate+import {len(cids)} cameras {t1 - t0:.1f} s (import {t_imp:.1f} s),"
              f" {n_iv} intervals ({n_iv / len(cids):.1f}/camera over {PERIOD_DAYS + LEAD_DAYS} days)"
              f" and {n_ex} exclusions loaded in {time.perf_counter() - t1:.1f} s", flush=True)
        ok = asyncio.run(measure(url, period_start, now, not a.no_pure))
        return 0 if ok else 1
    finally:
        signal.alarm(0)
        if a.keep_schema:
            print(f"kept schema {schema}")
        else:
            pg_exec(a.pg, f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    sys.exit(main())
