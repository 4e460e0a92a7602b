"""State interval persistence on real SQLite and PostgreSQL: batches, heartbeat, recovery, outages."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from collector.runtime.interval_writer import IntervalOpen, IntervalWriter, last_heartbeat, recover
from inventory.db import create_engine
from inventory.models import Camera, StateInterval
from tests.inventory.helpers import do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def with_inventory(url: str) -> str:
    migrated(url)
    assert do_import(url, SAMPLE).written
    return url


async def camera_ids(engine) -> list[int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as c:
        return sorted((await c.execute(select(Camera.id))).scalars())


async def intervals(engine, cid: int | None = None) -> list[tuple[int, str, str | None, dt.datetime, dt.datetime | None]]:  # type: ignore[no-untyped-def]
    q = select(StateInterval.camera_id, StateInterval.state, StateInterval.cause, StateInterval.start, StateInterval.end)
    if cid is not None:
        q = q.where(StateInterval.camera_id == cid)
    async with engine.connect() as c:
        rows = (await c.execute(q.order_by(StateInterval.camera_id, StateInterval.start))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_batches_close_and_open_intervals(db_url: str) -> None:
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            a, b = (await camera_ids(engine))[:2]
            clock = [t(100)]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: clock[0])
            w.submit(IntervalOpen(a, "online", None, t(0)))
            w.submit(IntervalOpen(b, "online", None, t(1)))
            assert await w.flush() and w.pending == 0
            # one batch with two transitions of the same camera, and a zero-length one
            w.submit(IntervalOpen(a, "offline", "refused", t(50)))
            w.submit(IntervalOpen(a, "online", None, t(80)))
            w.submit(IntervalOpen(b, "offline", "timeout", t(90)))
            w.submit(IntervalOpen(b, "offline", "auth_failed", t(90)))
            assert await w.flush()
            assert await intervals(engine, a) == [
                (a, "online", None, t(0), t(50)), (a, "offline", "refused", t(50), t(80)), (a, "online", None, t(80), None)]
            assert await intervals(engine, b) == [(b, "online", None, t(1), t(90)), (b, "offline", "auth_failed", t(90), None)]
            assert await last_heartbeat(engine, "c1") == t(100)
            assert w.stats().written == 6
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_restart_makes_the_gap_unknown(db_url: str) -> None:
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            ids = await camera_ids(engine)
            a, b = ids[:2]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(60))
            w.submit(IntervalOpen(a, "online", None, t(0)))
            w.submit(IntervalOpen(b, "offline", "refused", t(10)))
            await w.flush()
            # "kill -9" here: nothing else written. Restart at t(600).
            hb = await recover(engine, "c1", ids, t(600))
            assert hb == t(60)
            assert await intervals(engine, a) == [(a, "online", None, t(0), t(60)), (a, "unknown", None, t(60), None)]
            w2 = IntervalWriter(engine, collector_id="c1", clock=lambda: t(700))
            w2.submit(IntervalOpen(a, "online", None, t(605)))
            await w2.flush()
            assert await intervals(engine, a) == [
                (a, "online", None, t(0), t(60)), (a, "unknown", None, t(60), t(605)), (a, "online", None, t(605), None)]
            # no overlaps anywhere, every interval but the last of a camera is closed
            for cid in (a, b):
                rows = await intervals(engine, cid)
                for prev, nxt in pairwise(rows):
                    assert prev[4] == nxt[3]
                assert rows[-1][4] is None
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_database_unavailable_queues_and_catches_up(tmp_path: Path) -> None:
    """The database file's directory vanishes (disk unmounted), then comes back."""
    ready = with_inventory(f"sqlite:///{tmp_path / 'ready.db'}")
    target_dir = tmp_path / "mnt"
    url = f"sqlite:///{target_dir / 'camwatch.db'}"

    async def go() -> None:
        engine = create_engine(url)
        try:
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(30))
            ids = list(range(1, 6))
            for i in ids:
                w.submit(IntervalOpen(i, "online", None, t(i)))
            assert await w.flush() is False
            assert w.pending == 5 and w.stats().last_error
            target_dir.mkdir()
            shutil.copy(ready.removeprefix("sqlite:///"), target_dir / "camwatch.db")
            for i in ids:
                w.submit(IntervalOpen(i, "offline", "refused", t(10 + i)))
            assert await w.flush() is True and w.pending == 0
            rows = await intervals(engine)
            assert len(rows) == 10 and sum(1 for r in rows if r[4] is None) == 5
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_bounded_queue_drops_oldest(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    w = IntervalWriter(engine, max_pending=3)
    for i in range(5):
        w.submit(IntervalOpen(1, "online", None, t(i)))
    assert w.pending == 3 and w.stats().dropped == 2
    asyncio.run(engine.dispose())


def test_run_and_cancel_flushes(db_url: str) -> None:
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            a = (await camera_ids(engine))[0]
            w = IntervalWriter(engine, collector_id="c1", flush_interval_s=30)
            task = asyncio.create_task(w.run())
            await asyncio.sleep(0.05)
            w.submit(IntervalOpen(a, "online", None, t(0)))
            task.cancel()  # SIGTERM path: the pending event is flushed on the way out
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert await intervals(engine, a) == [(a, "online", None, t(0), None)]
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_cancel_while_a_batch_is_being_written_loses_nothing(db_url: str) -> None:
    """The stop path cancels the writer's task; a batch it was committing at that instant is
    finished (or put back), never dropped (CI once lost a whole 10,000-change batch this way)."""
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            ids = await camera_ids(engine)
            w = IntervalWriter(engine, collector_id="c1", flush_interval_s=0.01, max_batch=2000)
            n = 0
            for k in range(40):
                for cid in ids:
                    w.submit(IntervalOpen(cid, "online" if (k + cid) % 2 else "offline",
                                          None if (k + cid) % 2 else "timeout", t(k)))
                    n += 1
            task = asyncio.create_task(w.run())
            for _ in range(2000):  # bounded: until a batch is on its way to the database
                if w._inflight is not None:
                    break
                await asyncio.sleep(0.001)
            assert w._inflight is not None
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert len(await intervals(engine)) == n and w.pending == 0
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_discarded_changes_are_never_written_even_from_a_batch_that_fails(db_url: str) -> None:
    """A replica that lost its shards discards its unwritten changes of their cameras (held again
    later, they would be written under another tenure, over what another replica wrote): from the
    queue, and from the batch being written when it fails after the loss."""
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            a, b, c = (await camera_ids(engine))[:3]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(100))
            w.submit(IntervalOpen(a, "online", None, t(0)))
            w.submit(IntervalOpen(b, "online", None, t(0)))
            assert w.discard({b}) == 1 and w.pending == 1

            async def lost_meanwhile(conn, events, beat):  # type: ignore[no-untyped-def]
                w.discard({a})  # the session is lost while this batch is in the database
                raise ConnectionError("the database went away")

            w.fence = lost_meanwhile
            w.submit(IntervalOpen(c, "online", None, t(1)))
            assert not await w.flush()
            assert w.pending == 1  # c's change back in the queue, a's not
            w.fence = None
            w.submit(IntervalOpen(a, "offline", "timeout", t(5)))  # held again: written
            assert await w.flush()
            assert [(cid, state) for cid, state, *_ in await intervals(engine)] == [(a, "offline"), (c, "online")]
        finally:
            await engine.dispose()

    asyncio.run(go())
