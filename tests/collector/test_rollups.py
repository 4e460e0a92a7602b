"""Daily rollups answer exactly what the intervals answer, and late writes keep them exact.

Real SQLite and PostgreSQL (the ``db_url`` fixture); the random timelines of
``test_accounting_sql`` (gaps, overlaps, equal starts, degenerate and stale open spans).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
from sqlalchemy import func, insert, select, text, update

from collector.accounting import Level, Period, camera_times, rates_by
from collector.accounting.sql.camera_times import load_camera_refs, rollup_sums, sql_camera_times
from collector.accounting.sql.group_rates import sql_group_times, sql_rates
from collector.accounting.sql.rollup_sums import make_plan
from collector.accounting.sql.rollups import DAY, RollupTask, build_rollups, midnight
from collector.runtime.interval_writer import IntervalOpen, recover, write_batch
from inventory.db import create_engine
from inventory.models import CameraRollup, CollectorHeartbeat, RollupDay, StateInterval
from tests.collector.test_accounting_sql import (
    DAY_US,
    T0,
    all_exclusions,
    all_spans,
    at,
    inventory_db,
    random_spans,
    store_random,
    with_inventory,
)

H = dt.timedelta(hours=1)
BUILD_NOW = at(12 * DAY_US + 3_600_000_000 * 5)  # day 12, 05:00: midnights up to day 12 are built

# (period, now): aligned and unaligned edges, now inside, the first built midnight, one day only
PERIODS = (
    (Period(at(0), at(7 * DAY_US)), at(10 * DAY_US)),
    (Period(at(DAY_US // 3), at(9 * DAY_US + 17)), at(11 * DAY_US)),
    (Period(at(DAY_US // 3), at(30 * DAY_US)), at(5 * DAY_US + 12_345)),  # now ends the window
    (Period(at(-2 * DAY_US - 5), at(2 * DAY_US)), at(12 * DAY_US)),  # starts before any midnight
    (Period(at(2 * DAY_US + 1), at(3 * DAY_US - 1)), at(12 * DAY_US)),  # inside one day
    (Period(at(3 * DAY_US), at(3 * DAY_US + 5)), at(12 * DAY_US)),
    (Period(at(-40 * DAY_US), at(40 * DAY_US)), at(12 * DAY_US + 7)),  # everything
)


def test_plan_table() -> None:
    days = [T0 + k * DAY for k in range(0, 5)]  # midnights 0..4 built
    cases = [
        # lo, hi -> (a, b): the rows at the last built midnights at or before lo and hi
        (T0, T0 + 4 * DAY, (T0, T0 + 4 * DAY)),
        (T0 + H, T0 + 3 * DAY + H, (T0, T0 + 3 * DAY)),
        (T0 - H, T0 + 3 * DAY, None),  # no built midnight at or before lo
        (T0 + 2 * H, T0 + 20 * DAY, (T0, T0 + 4 * DAY)),  # tail from the last built day
        (T0 + H, T0 + 2 * H, (T0, T0)),  # inside one day: both edges from midnight 0
        (T0 + 6 * DAY, T0 + 7 * DAY, None),  # the nearest row is 2 days before lo
        (T0 + DAY, T0 + DAY, (T0 + DAY, T0 + DAY)),
    ]
    for lo, hi, want in cases:
        plan = make_plan(days, lo, hi)
        assert (None if plan is None else (plan.a, plan.b)) == want, (lo, hi)
    plan = make_plan(days, T0 + H, T0 + 3 * DAY + H)
    assert plan is not None and plan.head and plan.tail and plan.days() == (T0, T0 + 3 * DAY)
    plan = make_plan(days, T0 + DAY, T0 + 3 * DAY)
    assert plan is not None and not plan.head and not plan.tail
    gap = [d for d in days if d != T0 + DAY]  # midnight 1 missing: lo at 1 + H is more than a day after 0
    assert make_plan(gap, T0 + DAY + H, T0 + 4 * DAY) is None


def test_midnight() -> None:
    assert midnight(dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC)) == dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    local = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert midnight(local) == dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


async def _counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(CameraRollup))).scalar_one()
        days = (await conn.execute(select(func.count()).select_from(RollupDay))).scalar_one()
    return rows, days


async def _assert_equal(engine, cams, tag, *, used: bool | None = None) -> None:  # type: ignore[no-untyped-def]
    spans = await all_spans(engine)
    excl = await all_exclusions(engine)
    for period, now in PERIODS:
        pure = camera_times(cams, spans, excl, period, now)
        got = await sql_camera_times(engine, period, now, exclusions=excl, cameras=cams)
        bad = [cid for cid in pure if got[cid] != pure[cid]]
        assert not bad, (tag, period, now, bad[:3], [(got[c], pure[c]) for c in bad[:1]])
    if used is not None:
        period, now = PERIODS[1]
        assert (await rollup_sums(engine, period.start, min(period.end, now), len(cams)) is not None) is used


async def test_rollups_equal_intervals_and_survive_late_writes(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        rnd = random.Random(7)
        await store_random(engine, rnd, cams)
        await _assert_equal(engine, cams, "no rollups", used=False)

        seen: list[dt.datetime] = []
        report = await build_rollups(engine, BUILD_NOW, lag=H, progress=lambda day, n: seen.append(day))
        first = midnight(min(s.start for s in await all_spans(engine)))
        assert report.days_built == report.days_checked == len(seen) > 10
        assert seen[0] > min(s.start for s in await all_spans(engine)) and seen[-1] == midnight(BUILD_NOW - H)
        assert report.rows == len(cams) * report.days_built
        assert seen[0] == first + DAY
        await _assert_equal(engine, cams, "built", used=True)
        again = await build_rollups(engine, BUILD_NOW, lag=H)
        assert again.days_built == 0 and again.rows == 0 and again.days_checked == report.days_checked

        # A late batch (the database was away): camera 0 went offline on day 4 and online on day 6.
        cid = cams[0].camera_id
        events = [IntervalOpen(cid, "offline", "unreachable", at(4 * DAY_US + 999)),
                  IntervalOpen(cid, "online", None, at(6 * DAY_US + 5))]
        before, _ = await _counts(engine)
        await write_batch(engine, events, collector_id="t", started_at=BUILD_NOW, now=BUILD_NOW)
        after, _ = await _counts(engine)
        assert after == before - 8  # camera 0's rows at midnights 5..12
        await _assert_equal(engine, cams, "after late write", used=True)  # camera 0 from its intervals
        rebuilt = await build_rollups(engine, BUILD_NOW, lag=H)
        assert rebuilt.rows == 8
        await _assert_equal(engine, cams, "rebuilt after late write", used=True)

        # A batch of today (after the last midnight) deletes nothing.
        await write_batch(engine, [IntervalOpen(cid, "degraded", None, BUILD_NOW - H)], collector_id="t",
                          started_at=BUILD_NOW, now=BUILD_NOW)
        assert (await _counts(engine))[0] == after + 8

        # Restart after the collector was down since day 9: the gap becomes unknown for every camera.
        async with engine.begin() as conn:
            await conn.execute(update(CollectorHeartbeat).values(at=at(9 * DAY_US + 77)))
        await recover(engine, "t", [c.camera_id for c in cams], BUILD_NOW)
        rows, days = await _counts(engine)
        assert days == report.days_built - 3  # midnights 10, 11, 12 invalidated
        await _assert_equal(engine, cams, "after recovery", used=True)
        rebuilt = await build_rollups(engine, BUILD_NOW, lag=H)
        assert rebuilt.days_built == 3
        await _assert_equal(engine, cams, "rebuilt after recovery", used=True)

        # A camera added later has no rows: the mark no longer matches, the next build adds them.
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM camera_rollups WHERE camera_id = :c"), {"c": cams[1].camera_id})
        await _assert_equal(engine, cams, "one camera without rows", used=True)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE rollup_days SET cameras = cameras - 1"))
        rebuilt = await build_rollups(engine, BUILD_NOW, lag=H)
        assert rebuilt.rows == report.days_built
        await _assert_equal(engine, cams, "rebuilt one camera", used=True)


@pytest.mark.parametrize("seed", [3])
async def test_group_rates_equal_pure_rates(db_url: str, seed: int) -> None:
    """Region rows summed in the database (rollups + edges + exclusion corrections) equal the pure rows."""
    async with inventory_db(db_url) as (engine, cams):
        await store_random(engine, random.Random(seed), cams)
        async with engine.connect() as conn:  # reloaded after their history: when each entered monitoring
            cams = await load_camera_refs(conn)
        excl = await all_exclusions(engine)
        spans = await all_spans(engine)
        for built in (False, True):
            if built:
                await build_rollups(engine, BUILD_NOW, lag=H)
                async with engine.begin() as conn:  # one camera without rows: from its intervals
                    await conn.execute(text("DELETE FROM camera_rollups WHERE camera_id = :c"), {"c": cams[2].camera_id})
            for period, now in PERIODS:
                for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CONTRACTOR):
                    want = rates_by(level, cams, spans, excl, period, now)
                    got = await sql_rates(engine, level, period, now, exclusions=excl)
                    assert got == want, (built, level, period, now)
                    light = (await sql_group_times(engine, period, now, exclusions=excl)).ratio_rows(level)
                    assert [(r.key, r.cameras, r.ratio, r.intact_ratio, r.ratio_without_exclusions,
                             r.intact_ratio_without_exclusions, r.uncertainty, r.uncertainty_without_exclusions)
                            for r in want] == [tuple(r)[:8] for r in light]


async def test_rollup_task_builds_then_keeps_up(db_url: str) -> None:
    """The collector's task builds at start and again every interval (here 0.05 s, clock moved a day)."""
    now = [BUILD_NOW]
    async with inventory_db(db_url) as (engine, cams):
        await store_random(engine, random.Random(5), cams, exclusions=False)
        task = RollupTask(engine, every_s=0.05, clock=lambda: now[0])
        runner = asyncio.create_task(task.run())
        for _ in range(200):
            await asyncio.sleep(0.02)
            if task.last is not None:
                break
        assert task.last is not None and task.last.days_built > 10 and task.last.last_day == midnight(BUILD_NOW - H)
        assert task.built_until == midnight(BUILD_NOW - H) and task.error is None and task.last_run_at == BUILD_NOW
        first = task.last
        now[0] = BUILD_NOW + DAY
        for _ in range(200):
            await asyncio.sleep(0.02)
            if task.last is not first and task.last.days_built:
                break
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        assert task.last.days_built == 1 and task.last.rows == len(cams)
        assert (await _counts(engine))[1] == first.days_built + 1


def test_db_rollup_command(tmp_path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """`camwatch db rollup` in a subprocess: progress per day, a summary, idempotent, --rebuild."""
    from tests.collector.test_cli_inventory import camwatch

    url = with_inventory(db_url)

    async def seed() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                cams = await load_camera_refs(conn)
            async with engine.begin() as conn:
                await conn.execute(insert(StateInterval), random_spans(random.Random(9), [c.camera_id for c in cams]))
            return len(cams)
        finally:
            await engine.dispose()

    r = camwatch(tmp_path, "--db", url, "db", "rollup")  # nothing monitored yet: said so, not "up to -"
    assert r.returncode == 0 and "暂无日汇总" in r.stdout and "-：" not in r.stdout, r.stdout
    n = asyncio.run(seed())
    r = camwatch(tmp_path, "--db", url, "db", "rollup")
    assert r.returncode == 0, r.stderr
    days = [line for line in r.stderr.splitlines() if line.strip().endswith(f"{n} 个摄像机汇总行")]
    assert len(days) > 20  # the spans start around 2026-11-01; every midnight up to an hour ago
    assert f"新建 {len(days)} 天" in r.stdout and f"{n * len(days)} 行" in r.stdout
    r = camwatch(tmp_path, "--db", url, "db", "rollup")
    assert r.returncode == 0 and "新建 0 天" in r.stdout and not r.stderr.strip()
    r = camwatch(tmp_path, "--db", url, "--lang", "en", "db", "rollup", "--rebuild")
    assert r.returncode == 0, r.stderr
    assert f"{len(days)} day(s) built" in r.stdout and f"{n * len(days)} row(s)" in r.stdout
    r = camwatch(tmp_path, "--db", "sqlite:///" + str(tmp_path / "nothing.db"), "db", "rollup")
    assert r.returncode == 3 and "camwatch init" in r.stderr
