"""Nothing lost while the database is away: the interval writer's journal on real databases.

The main test runs the real scheduler against a flapping simulated fleet and takes the
database away (a PostgreSQL schema renamed, so every statement fails) for ``OUTAGE_S`` seconds,
then brings it back: every state change the scheduler emitted is stored, in order, contiguous.
It is kept short here (5 s of outage, about 10 changes a second); the journal holds changes on
disk, so the outage length only changes the file size and the replay time, not memory: set
``CAMWATCH_TEST_OUTAGE_S=600`` to run the issue's 10 minutes (about 6,000 changes, a few hundred
KB of journal, replayed in one batch; at 100k cameras flapping every minute, about 1.7k changes/s,
10 minutes are a 60 MB file replayed in batches of 10k).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import asyncpg
import pytest

from collector.runtime.camera_state import Changed
from collector.runtime.interval_writer import IntervalOpen, IntervalWriter, last_heartbeat, recover, write_batch
from collector.runtime.scheduler import Scheduler, SchedulerConfig
from collector.settings import CollectorSettings
from inventory.db import create_engine
from probes.ladder import LadderOptions
from probes.sim import Behaviour, Fleet
from tests.collector.test_scheduler import cameras
from tests.collector.test_store import camera_ids, intervals, t, with_inventory
from tests.conftest import PG_BASE, fresh_pg_schema

OUTAGE_S = float(os.environ.get("CAMWATCH_TEST_OUTAGE_S", "5"))
FLAPPY = SchedulerConfig.from_settings(CollectorSettings(
    interval_s=1.0, offline_interval_s=0.25, confirm_delays_s=[0.1], video=False, flap_changes=1_000_000))


def _collapse(events: list[tuple[str, dt.datetime]]) -> list[tuple[str, dt.datetime]]:
    """The writer's rule for two changes of a camera at the same instant: the later one stays."""
    out: list[tuple[str, dt.datetime]] = []
    for state, start in events:
        if out and out[-1][1] == start:
            out[-1] = (state, start)
        else:
            out.append((state, start))
    return out


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped like every PostgreSQL test when the server is down on a
    developer machine; CI requires it)."""
    with fresh_pg_schema(pg_reason, also_drop=("_away",)) as url:
        yield url


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_BASE)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.postgres
def test_flapping_fleet_while_the_database_is_away_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    schema = pg_url.rsplit("search_path=", 1)[1]
    url = with_inventory(pg_url)
    journal = tmp_path / "journal" / "camwatch-c1.journal"
    emitted: dict[int, list[tuple[str, dt.datetime]]] = {}

    def on_event(cam, ev) -> None:  # type: ignore[no-untyped-def]
        if isinstance(ev, Changed):
            emitted.setdefault(cam.id, []).append((ev.new.value, ev.start))

    with Fleet(12, workers=1) as fleet:
        for i in range(12):  # each camera its own rhythm: up 0.6-1.7 s, down 0.5-1.1 s
            fleet.set_behaviour(i, Behaviour(flap_up_s=0.6 + 0.1 * i, flap_down_s=0.5 + 0.05 * i))

        async def go() -> None:
            engine = create_engine(url)
            try:
                cams = cameras(fleet)  # ids 1-12: cameras of the imported inventory
                assert {c.id for c in cams} <= set(await camera_ids(engine))
                writer = IntervalWriter(engine, collector_id="c1", flush_interval_s=0.2, journal=journal)
                sched = Scheduler(FLAPPY, writer, ladder=LadderOptions(use_onvif=False), on_event=on_event)
                sched.sync(cams, [])
                tasks = [asyncio.create_task(writer.run()), asyncio.create_task(sched.run())]
                await asyncio.sleep(2.0)
                assert writer.stats().written > 0
                await _pg(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"')  # the database is away
                away = sum(len(v) for v in emitted.values())
                journaled, on_disk = 0, 0
                end = time.monotonic() + OUTAGE_S
                while time.monotonic() < end:
                    await asyncio.sleep(0.25)
                    journaled = max(journaled, writer.stats().journaled)
                    on_disk = max(on_disk, journal.stat().st_size if journal.exists() else 0)
                during = sum(len(v) for v in emitted.values()) - away
                await _pg(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"')  # back
                await asyncio.sleep(1.5)
                for task in reversed(tasks):  # the scheduler first, then the writer's final flush
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                assert writer.stats().last_error is None and writer.pending == 0, writer.stats()
                assert during >= OUTAGE_S, during  # the fleet flapped while the database was away
                assert journaled > 0 and on_disk > 0, (journaled, on_disk)  # ... and the changes went to disk
                assert writer.stats().dropped == 0
                assert not journal.exists()  # replayed, then removed
                for cid, evs in emitted.items():
                    rows = await intervals(engine, cid)
                    assert [(r[1], r[3]) for r in rows] == _collapse(evs), cid
                    for prev, nxt in pairwise(rows):
                        assert prev[4] == nxt[3], (prev, nxt)  # contiguous: no overlap, no hole
                    assert rows[-1][4] is None
            finally:
                await engine.dispose()

        asyncio.run(go())


def test_sqlite_directory_away_then_back_replays_the_journal_in_order(tmp_path: Path) -> None:
    """The database file's directory vanishes (disk unmounted); changes go to the journal and
    are written in order when it is back, with no memory bound reached."""
    ready = with_inventory(f"sqlite:///{tmp_path / 'ready.db'}")
    mnt = tmp_path / "mnt"
    journal = tmp_path / "spool" / "camwatch-c1.journal"

    async def go() -> None:
        engine = create_engine(f"sqlite:///{mnt / 'camwatch.db'}")
        try:
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(3000), journal=journal, max_pending=50)
            ids = range(1, 6)
            for k in range(400):  # 80 changes per camera, far more than max_pending
                cid = ids[k % 5]
                w.submit(IntervalOpen(cid, "offline" if (k // 5) % 2 else "online", "refused" if (k // 5) % 2 else None,
                                      t(k)))
            assert await w.flush() is False
            await w.sync_journal()
            assert w.pending == 400 and w.stats().journaled == 400 and w.stats().dropped == 0
            assert len(journal.read_bytes().splitlines()) == 400
            mnt.mkdir()
            shutil.copy(ready.removeprefix("sqlite:///"), mnt / "camwatch.db")
            w.submit(IntervalOpen(1, "online", None, t(500)))  # while the journal replays: after it
            assert await w.flush() is True and w.pending == 0
            assert not journal.exists()
            for cid in ids:
                rows = await intervals(engine, cid)
                want = [t(k) for k in range(400) if ids[k % 5] == cid] + ([t(500)] if cid == 1 else [])
                assert [r[3] for r in rows] == want
                assert all(p[4] == n[3] for p, n in pairwise(rows)) and rows[-1][4] is None
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_journal_left_by_a_stop_is_replayed_at_start_before_the_unknown_gap(tmp_path: Path) -> None:
    """The database is away when the collector stops: its changes stay in the journal, fsync'd;
    the next start writes them (the heartbeat at the last one), then the unknown gap."""
    (tmp_path / "mnt").mkdir()
    url = with_inventory(f"sqlite:///{tmp_path / 'mnt' / 'camwatch.db'}")
    journal = tmp_path / "camwatch-c1.journal"

    async def go() -> None:
        engine = create_engine(url)
        try:
            a = (await camera_ids(engine))[0]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(10), journal=journal)
            w.submit(IntervalOpen(a, "online", None, t(0)))
            assert await w.flush()
            await engine.dispose()
            (tmp_path / "mnt").rename(tmp_path / "away")  # the disk is away: no connection opens
            w.submit(IntervalOpen(a, "offline", "refused", t(20)))
            w.submit(IntervalOpen(a, "online", None, t(40)))
            await w.close(timeout_s=2)  # SIGTERM while away: nothing written, all journaled
            assert journal.exists() and w.journal is not None and w.journal.pending == 2
            (tmp_path / "away").rename(tmp_path / "mnt")
            await engine.dispose()
            again = IntervalWriter(engine, collector_id="c1", clock=lambda: t(100), journal=journal)
            assert again.pending == 2
            assert await again.replay() == 2 and not journal.exists()
            assert await last_heartbeat(engine, "c1") == t(40)
            await recover(engine, "c1", [a], t(100))
            rows = await intervals(engine, a)
            assert [(r[1], r[3], r[4]) for r in rows] == [
                ("online", t(0), t(20)), ("offline", t(20), t(40)), ("online", t(40), t(40)), ("unknown", t(40), None)]
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_replay_after_a_crash_mid_replay_stores_nothing_twice(tmp_path: Path) -> None:
    """A crash after a batch was committed but before the journal noted it: the next start skips it."""
    url = with_inventory(f"sqlite:///{tmp_path / 'camwatch.db'}")
    journal = tmp_path / "camwatch-c1.journal"

    async def go() -> None:
        engine = create_engine(url)
        try:
            a = (await camera_ids(engine))[0]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(10), journal=journal, max_batch=2)
            assert w.journal is not None
            w.journal.append([IntervalOpen(a, "online", None, t(0)), IntervalOpen(a, "offline", "timeout", t(5)),
                              IntervalOpen(a, "online", None, t(9))])
            w.journal.close()
            first, _, _ = w.journal.read(2)
            await write_batch(engine, first, collector_id="c1", started_at=t(0), now=t(10))
            with journal.open("ab") as f:
                f.write(b"1\tonl")  # and a line cut by the crash
            again = IntervalWriter(engine, collector_id="c1", clock=lambda: t(10), journal=journal, max_batch=2)
            await again.replay()
            rows = await intervals(engine, a)
            assert [(r[1], r[3], r[4]) for r in rows] == [
                ("online", t(0), t(5)), ("offline", t(5), t(9)), ("online", t(9), None)]
        finally:
            await engine.dispose()

    asyncio.run(go())
