"""SQLite under the collector's whole write load: no "database is locked" in normal operation.

For about 20 s the interval writer stores as many transitions as it can (every camera flapping
through the last three days, so most are late writes that invalidate the daily rollups), while
the rollup task rebuilds them every half second, the region figures are recomputed in a loop
(long readers) and a second process writes through the CLI. The engine lets one connection
write at a time (inventory/db.py), in WAL mode, so readers never block the writer: nothing in
the log says the database is locked (not even while one transaction holds the lock for 12 s), no write fails, every transition is stored. (The issue's
100k-camera figure is a matter of rate, not of kind: the writer's batches of 10k here are the
batches it writes at 100k.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.accounting.sql.rollups import RollupTask
from collector.runtime.figures import compute_figures
from collector.runtime.interval_writer import IntervalOpen, IntervalWriter
from collector.settings import load_settings
from inventory.db import create_engine
from inventory.models import Exclusion, StateInterval
from tests.collector.test_store import camera_ids, with_inventory

RUN_S = 20.0


def test_writer_rollups_figures_and_a_cli_writer_never_meet_a_locked_database(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "camwatch.db"
    url = with_inventory(f"sqlite:///{db}")
    settings = load_settings(db_url=url, environ={})
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    begin = now - dt.timedelta(days=3)
    caplog.set_level(logging.INFO)

    async def go() -> tuple[int, int, int, IntervalWriter, RollupTask]:
        engine = create_engine(url)
        try:
            ids = await camera_ids(engine)
            writer = IntervalWriter(engine, collector_id="c1", flush_interval_s=0.05)
            rollups = RollupTask(engine, every_s=0.5)
            figures = 0

            async def figures_loop() -> None:
                nonlocal figures
                while True:
                    await compute_figures(engine, settings, dt.datetime.now(dt.UTC))
                    figures += 1

            async def long_writer() -> None:
                """One write transaction held 12 s, as a rollup build at 100k cameras is on this box
                (longer than the 10 s SQLite busy timeout camwatch had: the others failed then)."""
                await asyncio.sleep(3.0)
                async with engine.begin() as c:
                    await c.execute(Exclusion.__table__.insert().values(
                        camera_id=ids[0], region_code=None, start=now, end=now, reason="long", approver="test",
                        created_at=now))
                    await asyncio.sleep(12.0)

            tasks = [asyncio.create_task(writer.run()), asyncio.create_task(rollups.run()),
                     asyncio.create_task(figures_loop())]
            long = asyncio.create_task(long_writer())
            cli = subprocess.Popen(  # another process writing: exclusions added in a loop
                [sys.executable, "-c", _CLI_WRITER, url, str(RUN_S)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            submitted, step, k = 0, dt.timedelta(seconds=97), 0
            end = time.monotonic() + RUN_S
            while time.monotonic() < end and begin + step * (k + 1) < now:
                at = begin + step * k
                for cid in ids:  # every camera changes state at every step
                    up = (k + cid) % 2 == 0
                    writer.submit(IntervalOpen(cid, "online" if up else "offline", None if up else "timeout", at))
                submitted += len(ids)
                k += 1
                # the test is about locks, not the memory bound: on a loaded box the loop could
                # outrun the writer past max_pending (changes dropped), so it waits for it (bounded)
                while writer.pending > writer.max_pending // 2 and time.monotonic() < end:
                    await asyncio.sleep(0.02)
                if k % 100 == 0:
                    await asyncio.sleep(0.02)  # the loop goes on: the other tasks run
            await long
            out, _ = await asyncio.to_thread(cli.communicate, None, 60)
            assert cli.returncode == 0, out
            await asyncio.sleep(1.0)
            for task in tasks:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            async with engine.connect() as c:
                stored = (await c.execute(select(func.count()).select_from(StateInterval))).scalar_one()
            return submitted, stored, figures, writer, rollups
        finally:
            await engine.dispose()

    submitted, stored, figures, writer, rollups = asyncio.run(go())
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert said, "the log was captured"  # (the rollup task logs each build at INFO)
    assert not [m for m in said if "locked" in m.lower() or "busy" in m.lower()], said
    assert writer.stats().failures == 0 and writer.stats().dropped == 0 and writer.pending == 0, writer.stats()
    assert rollups.error is None
    assert stored == submitted and submitted > 10_000, (stored, submitted)
    assert figures >= 3


_CLI_WRITER = """
import asyncio, datetime as dt, sys, time
from inventory.db import create_engine
from inventory.models import Exclusion

async def main(url, run_s):
    engine = create_engine(url)
    end = time.monotonic() + run_s
    n = 0
    try:
        while time.monotonic() < end:
            async with engine.begin() as c:
                now = dt.datetime.now(dt.UTC)
                await c.execute(Exclusion.__table__.insert().values(
                    camera_id=1, region_code=None, start=now, end=now + dt.timedelta(seconds=1), reason=f"t{n}", approver="test",
                    created_at=now))
            n += 1
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    print(n)

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""
