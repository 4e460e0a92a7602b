"""Benchmark: the monthly report workbook of a 100k-camera county on PostgreSQL, beside ``rates --json``.

    .venv/bin/python bench/report_month.py [--cameras 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                                           [--keep-schema | --reuse-schema S] [--max-seconds 1200]

In a fresh schema (dropped at the end) it seeds the county of ``bench/rates_pg.py`` (its
synthetic inventory imported with camwatch's importer, 35 days of intervals shaped like a rural
fleet, a few hundred exclusions) and builds the daily rollups as the collector does each night;
``--reuse-schema`` measures a schema kept by an earlier run of either script.

Then, for the month 2026-11 (Asia/Shanghai) — each a fresh ``camwatch`` process, as a user runs it:

* ``camwatch rates --level township --from 2026-11-01 --to 2026-11-30 --json`` (the baseline);
* ``camwatch report monthly --month 2026-11 --out FILE.xlsx`` (every sheet, figures gathered with
  the same tables), and the same from a frozen snapshot after ``camwatch report close``;

and in this process a breakdown of the report (gathering vs the workbook). The last line reads
``report 2026-11 over 100000 cameras: workbook 41.0 s (goal <= 60 s) PASS; rates --json 3.1 s``;
exit status 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_S = 60.0
MONTH = "2026-11"
TZ = "Asia/Shanghai"


def camwatch(url: str, *args: str) -> tuple[float, str]:
    """Seconds a fresh ``camwatch`` process takes for *args*, and its output (fails loudly)."""
    exe = str(Path(sys.executable).parent / "camwatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env["CAMWATCH_DB"] = url
    t0 = time.perf_counter()
    proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=900, check=False)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"camwatch {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return took, proc.stdout


async def breakdown(url: str, out: Path) -> str:
    from collector.reports.build import build_report
    from collector.reports.periods import parse_month
    from collector.reports.workbook import workbook_bytes
    from collector.settings import load_settings
    from inventory.db import create_engine

    settings = load_settings(None, db_url=url)
    period = parse_month(MONTH, TZ)
    engine = create_engine(url)
    try:
        t0 = time.perf_counter()
        report = await build_report(engine, settings, period, dt.datetime.now(dt.UTC))
        t1 = time.perf_counter()
    finally:
        await engine.dispose()
    data = workbook_bytes(report)
    t2 = time.perf_counter()
    out.write_bytes(data)
    return (f"  inside: figures gathered {t1 - t0:.1f} s ({len(report.townships)} townships, {len(report.villages)} villages,"
            f" {len(report.faults)} cameras over {report.fault_hours:g} h, {len(report.work_orders)} work orders,"
            f" {len(report.exclusions)} exclusions) + workbook {t2 - t1:.1f} s ({len(data) / 1e6:.1f} MB)")


def seed(pg: str, schema: str, cameras: int, seed_no: int) -> None:
    import rates_pg  # bench/rates_pg.py: the same county and intervals

    from collector.accounting.sql.rollups import build_rollups
    from inventory.db import create_engine, upgrade

    url = f"{pg}?search_path={schema}"
    now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC) + dt.timedelta(hours=3, seconds=17.25)
    period_start = now - rates_pg.PERIOD_DAYS * rates_pg.DAY
    t0 = time.perf_counter()
    upgrade(url)
    with tempfile.TemporaryDirectory() as tmp:
        rates_pg.import_inventory(url, cameras, Path(tmp))

    cids, villages, townships = asyncio.run(rates_pg.fleet_ids(url))
    n_iv, n_ex = asyncio.run(rates_pg.load_data(pg, schema, cids, villages, townships, period_start, now, seed_no))

    async def rollups() -> None:
        engine = create_engine(url)
        try:
            await build_rollups(engine, now)
        finally:
            await engine.dispose()

    asyncio.run(rollups())
    print(f"setup: {len(cids)} cameras, {n_iv} intervals, {n_ex} exclusions, rollups built: {time.perf_counter() - t0:.1f} s",
          flush=True)


def measure(url: str, work: Path) -> bool:
    rates_s, _ = camwatch(url, "rates", "--level", "township", "--from", "2026-11-01", "--to", "2026-11-30", "--json")
    print(f"camwatch rates --json (township, {MONTH}): {rates_s:.1f} s", flush=True)
    live_s, _ = camwatch(url, "report", "monthly", "--month", MONTH, "--out", str(work / "live.xlsx"))
    print(f"camwatch report monthly --month {MONTH} (from the intervals): {live_s:.1f} s", flush=True)
    print(asyncio.run(breakdown(url, work / "inside.xlsx")), flush=True)
    close_s, out = camwatch(url, "report", "close", "--month", MONTH)
    print(f"camwatch report close: {close_s:.1f} s ({out.strip()})", flush=True)
    frozen_s, _ = camwatch(url, "report", "monthly", "--month", MONTH, "--out", str(work / "frozen.xlsx"))
    again_s, _ = camwatch(url, "report", "monthly", "--month", MONTH, "--out", str(work / "frozen2.xlsx"))
    same = (work / "frozen.xlsx").read_bytes() == (work / "frozen2.xlsx").read_bytes()
    print(f"camwatch report monthly (closed, from its snapshot): {frozen_s:.1f} s and {again_s:.1f} s, same bytes: {same}",
          flush=True)
    reopen_s, _ = camwatch(url, "report", "reopen", "--month", MONTH, "--reason", "bench")
    ok = live_s <= GOAL_S and same
    print(f"report {MONTH} over the county: workbook {live_s:.1f} s (goal <= {GOAL_S:.0f} s) {'PASS' if ok else 'FAIL'};"
          f" rates --json {rates_s:.1f} s; from a snapshot {frozen_s:.1f} s")
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=100_000)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--max-seconds", type=float, default=1200.0)
    p.add_argument("--keep-schema", action="store_true", help="keep the schema (printed) for another run")
    p.add_argument("--reuse-schema", help="measure a schema kept by an earlier run of this or rates_pg.py")
    a = p.parse_args()
    if not 1 <= a.cameras <= 200_000:
        p.error("need 1 <= cameras <= 200000")
    import signal

    import rates_pg

    signal.alarm(int(a.max_seconds))  # bounded: SIGALRM ends the run; the schema is dropped below
    with tempfile.TemporaryDirectory() as tmp:
        if a.reuse_schema:
            return 0 if measure(f"{a.pg}?search_path={a.reuse_schema}", Path(tmp)) else 1
        schema = "bench_" + uuid.uuid4().hex[:10]
        rates_pg.pg_exec(a.pg, f'CREATE SCHEMA "{schema}"')
        try:
            seed(a.pg, schema, a.cameras, a.seed)
            return 0 if measure(f"{a.pg}?search_path={schema}", Path(tmp)) else 1
        finally:
            signal.alarm(0)
            if a.keep_schema:
                print(f"kept schema {schema}")
            else:
                rates_pg.pg_exec(a.pg, f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    sys.exit(main())
