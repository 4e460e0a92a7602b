"""State intervals dated at the midpoint of their probe gap: stored with their uncertainty, and
contiguous without overlap when a midpoint lies before a boundary already written (SQLite and
PostgreSQL), through the journal too."""

from __future__ import annotations

import asyncio
import datetime as dt
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from collector.runtime.interval_rows import rows_for_batch
from collector.runtime.interval_writer import IntervalOpen, IntervalWriter, recover
from collector.runtime.journal import Journal, decode, encode
from inventory.db import create_engine
from inventory.models import StateInterval
from tests.collector.test_store import camera_ids, t, with_inventory


async def stored(engine, cid: int) -> list[tuple[str, dt.datetime, dt.datetime | None, int]]:  # type: ignore[no-untyped-def]
    q = (select(StateInterval.state, StateInterval.start, StateInterval.end, StateInterval.start_uncertainty_us)
         .where(StateInterval.camera_id == cid).order_by(StateInterval.start, StateInterval.id))
    async with engine.connect() as c:
        return [tuple(r) for r in (await c.execute(q)).all()]  # type: ignore[misc]


def contiguous(rows: list[tuple[str, dt.datetime, dt.datetime | None, int]]) -> bool:
    """Each interval ends where the next starts, none ends before it starts, only the last is open."""
    return (all(a[2] == b[1] for a, b in pairwise(rows)) and all(r[2] is None or r[2] >= r[1] for r in rows)
            and [r[2] is None for r in rows].count(True) == 1 and rows[-1][2] is None)


def test_uncertainty_stored_and_a_midpoint_before_a_written_boundary_is_clamped(db_url: str) -> None:
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            a, b = (await camera_ids(engine))[:2]
            w = IntervalWriter(engine, collector_id="c1", clock=lambda: t(1000))
            w.submit(IntervalOpen(a, "online", None, t(0)))
            w.submit(IntervalOpen(a, "offline", "refused", t(100), 30.0))
            w.submit(IntervalOpen(b, "online", None, t(0)))
            assert await w.flush()
            assert await stored(engine, a) == [("online", t(0), t(100), 0), ("offline", t(100), None, 30_000_000)]
            # a later batch: its midpoint (t(90)) lies before the stored open interval's start (t(100))
            w.submit(IntervalOpen(a, "online", None, t(90), 7.5))
            # in one batch: the second change's midpoint lies before the first's
            w.submit(IntervalOpen(b, "offline", "timeout", t(50), 30.0))
            w.submit(IntervalOpen(b, "online", None, t(40), 7.5))
            w.submit(IntervalOpen(b, "offline", "timeout", t(200), 30.0))
            assert await w.flush()
            rows_a, rows_b = await stored(engine, a), await stored(engine, b)
            assert rows_a == [("online", t(0), t(100), 0), ("offline", t(100), t(100), 30_000_000),
                              ("online", t(100), None, 7_500_000)]
            assert rows_b == [("online", t(0), t(50), 0), ("online", t(50), t(200), 7_500_000),
                              ("offline", t(200), None, 30_000_000)]
            assert contiguous(rows_a) and contiguous(rows_b)
            # restart: the unknown gap from the heartbeat has no uncertainty; a change dated
            # before it (a midpoint across the restart cannot happen, but a stale one must not overlap)
            await recover(engine, "c1", [a], t(2000))
            w.submit(IntervalOpen(a, "offline", "refused", t(900), 30.0))
            assert await w.flush()
            rows_a = await stored(engine, a)
            assert rows_a[-2:] == [("unknown", t(1000), t(1000), 0), ("offline", t(1000), None, 30_000_000)]
            assert contiguous(rows_a)
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_rows_for_batch_keeps_order_and_clamps() -> None:
    evs = [IntervalOpen(1, "offline", "refused", t(60), 30.0), IntervalOpen(1, "online", None, t(30), 7.5),
           IntervalOpen(1, "offline", "refused", t(100), 5.0)]
    closes, rows = rows_for_batch(evs)
    assert closes == {1: t(60)}
    assert [(r["state"], r["start"], r["end"], r["start_uncertainty_us"]) for r in rows] == [
        ("online", t(60), t(100), 7_500_000), ("offline", t(100), None, 5_000_000)]


def test_journal_keeps_the_uncertainty_and_reads_old_lines(tmp_path: Path) -> None:
    ev = IntervalOpen(7, "offline", "refused", t(10), 12.25)
    assert decode(encode(ev)) == ev
    assert decode(f"7\toffline\trefused\t{t(10).isoformat()}\n".encode()) == IntervalOpen(7, "offline", "refused", t(10), 0.0)
    j = Journal(tmp_path / "j")
    j.append([ev, IntervalOpen(7, "online", None, t(20), 0.5)])
    got, _, lines = j.read(10)
    j.close()
    assert got == [ev, IntervalOpen(7, "online", None, t(20), 0.5)] and lines == 2
