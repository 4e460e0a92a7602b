"""The SQL per-camera sums equal the pure accounting exactly, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import CameraRef, ExclusionSpan, Period, StateSpan, aggregate, camera_times, rates_by
from collector.accounting.sql.camera_times import load_camera_refs, sql_camera_times
from collector.accounting.sql.load import load_accounting
from inventory.db import create_engine
from inventory.models import Exclusion, StateInterval
from tests.inventory.helpers import do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
T0 = dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)
DAY_US = 86_400_000_000
STATES = ("online", "online", "online", "degraded", "offline", "offline", "unknown", "excluded")


def at(us: int) -> dt.datetime:
    return T0 + dt.timedelta(microseconds=us)


def with_inventory(url: str) -> str:
    migrated(url)
    assert do_import(url, SAMPLE).written
    return url


def random_spans(rnd: random.Random, cids: list[int]) -> list[dict[str, object]]:
    """Per camera a timeline over ~12 days around the periods: gaps, open ends, overlaps, ties."""
    rows: list[dict[str, object]] = []
    for cid in cids:
        if rnd.random() < 0.1:
            continue  # never probed: all unknown
        t = rnd.randrange(-3 * DAY_US, DAY_US)
        for _ in range(rnd.randrange(1, 14)):
            length = rnd.randrange(1, DAY_US)
            end: int | None = t + length
            r = rnd.random()
            if r < 0.08:
                end = None  # stale open interval (later spans cut it)
            elif r < 0.12:
                end = t - rnd.randrange(0, 1000)  # degenerate: still cuts the span before
            rows.append({"camera_id": cid, "state": rnd.choice(STATES), "cause": None,
                         "start": at(t), "end": None if end is None else at(end), "start_uncertainty_us": _unc(t)})
            r = rnd.random()
            if r < 0.15:
                t = t + length + rnd.randrange(1, DAY_US // 2)  # gap: unknown time
            elif r < 0.25:
                t = t + rnd.randrange(0, length)  # overlap: the later span wins
            elif r < 0.3:
                pass  # same start: the later stored span wins
            else:
                t = t + length  # contiguous
        if rnd.random() < 0.6:  # the current, open interval
            t += rnd.randrange(0, DAY_US)
            rows.append({"camera_id": cid, "state": rnd.choice(STATES), "cause": None, "start": at(t), "end": None,
                         "start_uncertainty_us": _unc(t)})
    return rows


def _unc(t: int) -> int:
    """A transition's half probe gap, from its start (the random sequence left as it was): 0 for
    a third of the spans (exact: a start of monitoring), else up to 30 s."""
    return 0 if t % 3 == 0 else t % 30_000_000


def random_exclusions(rnd: random.Random, cams: tuple[CameraRef, ...]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    picks = rnd.sample(cams, 6)
    scopes: list[tuple[int | None, str | None]] = [(c.camera_id, None) for c in picks[:3]]
    scopes += [(None, picks[3].village), (None, picks[4].township)]
    if rnd.random() < 0.5:
        scopes.append((None, picks[5].county))
    for cid, region in scopes:
        s = rnd.randrange(-DAY_US, 6 * DAY_US)
        rows.append({"camera_id": cid, "region_code": region, "start": at(s),
                     "end": at(s + rnd.randrange(1, 3 * DAY_US)), "reason": "test", "approver": "tester"})
    return rows


@asynccontextmanager
async def inventory_db(db_url: str) -> AsyncIterator[tuple[AsyncEngine, tuple[CameraRef, ...]]]:
    """An engine on the database with the sample inventory imported, and its cameras; disposed after."""
    url = await asyncio.to_thread(with_inventory, db_url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            cams = await load_camera_refs(conn)
        yield engine, cams
    finally:
        await engine.dispose()


async def store_random(engine: AsyncEngine, rnd: random.Random, cams: tuple[CameraRef, ...], *,
                       exclusions: bool = True) -> None:
    """Random timelines for every camera (and random exclusions) stored."""
    async with engine.begin() as conn:
        await conn.execute(insert(StateInterval), random_spans(rnd, [c.camera_id for c in cams]))
        if exclusions:
            await conn.execute(insert(Exclusion), random_exclusions(rnd, cams))


async def all_exclusions(engine: AsyncEngine) -> list[ExclusionSpan]:
    """Every stored exclusion."""
    q = select(Exclusion.start, Exclusion.end, Exclusion.camera_id, Exclusion.region_code)
    async with engine.connect() as conn:
        return [ExclusionSpan(s, e, c, r) for s, e, c, r in (await conn.execute(q)).all()]


async def all_spans(engine: AsyncEngine) -> list[StateSpan]:
    """Every stored span in id order (the pure timeline's tie order), nothing filtered."""
    q = select(StateInterval.camera_id, StateInterval.state, StateInterval.start, StateInterval.end,
               StateInterval.start_uncertainty_us).order_by(StateInterval.id)
    async with engine.connect() as conn:
        return [StateSpan(c, s, a, b, u) for c, s, a, b, u in (await conn.execute(q)).all()]


PERIODS = (
    (Period(at(0), at(7 * DAY_US)), at(10 * DAY_US)),  # closed week
    (Period(at(DAY_US // 3), at(9 * DAY_US)), at(5 * DAY_US + 12_345)),  # now inside the period
    (Period(at(-5 * DAY_US), at(-4 * DAY_US)), at(10 * DAY_US)),  # before any span... or nearly
    (Period(at(2 * DAY_US), at(3 * DAY_US)), at(DAY_US)),  # now before the period: empty window
    (Period(at(0), at(30 * DAY_US)), at(12 * DAY_US + 7)),  # long period, open spans run to now
)


async def test_sql_times_equal_pure_times(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        assert len(cams) > 40
        for seed in (1, 2):
            rnd = random.Random(seed)
            async with engine.begin() as conn:
                await conn.execute(StateInterval.__table__.delete())
                await conn.execute(Exclusion.__table__.delete())
            await store_random(engine, rnd, cams)
            spans = await all_spans(engine)
            assert len(spans) > 200
            for period, now in PERIODS:
                data = await load_accounting(engine, period)
                assert {c.camera_id for c in data.cameras} == {c.camera_id for c in cams}
                pure = camera_times(data.cameras, spans, data.exclusions, period, now)
                got = await sql_camera_times(engine, period, now, exclusions=data.exclusions, cameras=data.cameras)
                assert got.keys() == pure.keys()
                bad = [cid for cid in pure if got[cid] != pure[cid]]
                assert not bad, (seed, period, now, bad[:3], [(got[c], pure[c]) for c in bad[:1]])
                # cameras loaded by the SQL path itself give the same answer
                assert await sql_camera_times(engine, period, now, exclusions=data.exclusions) == got
            # the data exercises what it should: some exclusions applied, some time of each kind
            period, now = PERIODS[0]
            data = await load_accounting(engine, period)
            got = await sql_camera_times(engine, period, now, exclusions=data.exclusions)
            assert sum(1 for t in got.values() if t.with_exclusions != t.without_exclusions) >= 5
            total = sum((t.without_exclusions for t in got.values()), start=next(iter(got.values())).without_exclusions)
            assert total.intact_s > total.online_s - total.intact_s > 0 and total.offline_s > 0 and total.unknown_s > 0
            assert total.uncertainty_s > 0  # the transitions' half gaps summed the same way too


async def test_open_interval_cut_by_a_closed_one_before_the_period(db_url: str) -> None:
    """A stale open span is cut by a later span that ended before the period: it adds nothing."""
    async with inventory_db(db_url) as (engine, cams):
        cid = cams[0].camera_id
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), [
                {"camera_id": cid, "state": "online", "cause": None, "start": at(-3 * DAY_US), "end": None},
                {"camera_id": cid, "state": "offline", "cause": None, "start": at(-2 * DAY_US), "end": at(-DAY_US)},
                {"camera_id": cid, "state": "offline", "cause": None, "start": at(DAY_US), "end": at(DAY_US + 1_500_000)},
            ])
        period, now = Period(at(0), at(2 * DAY_US)), at(3 * DAY_US)
        got = await sql_camera_times(engine, period, now, exclusions=())
        t = got[cid].with_exclusions
        assert t.online_s == 0 and str(t.offline_s) == "1.500000"
        assert t.unknown_s + t.offline_s == 2 * 86_400
        assert got == camera_times(cams, await all_spans(engine), (), period, now)
        # and the rates built on it equal the pure rates
        rows = rates_by("village", cams, await all_spans(engine), [ExclusionSpan(at(0), at(DAY_US), cid)], period, now)
        assert aggregate("village", cams, await sql_camera_times(
            engine, period, now, exclusions=[ExclusionSpan(at(0), at(DAY_US), cid)])) == rows


async def test_loaded_cameras_share_their_village_codes_and_point_ids(db_url: str) -> None:
    """The region figures keep this as long as a collector runs: a village code and a point id are
    one object each, however many points and cameras refer to them (not one per row read)."""
    async with inventory_db(db_url) as (engine, cams):
        data = await load_accounting(engine, PERIODS[0][0])
        codes = {k: k for k in data.names}
        points = {p.point_id: p for p in data.points}
        villages = {c.village for c in data.cameras if c.village}
        assert len(villages) >= 2 and len(data.cameras) > len(villages)
        assert all(c.village is codes[c.village] for c in data.cameras if c.village)
        assert all(p.village is codes[p.village] for p in data.points if p.village)
        assert all(c.point_id is points[c.point_id].point_id for c in data.cameras if c.point_id in points)
