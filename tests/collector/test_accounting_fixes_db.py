"""The assessors' three rules on real SQLite and PostgreSQL, through ``camwatch rates`` /
``camwatch coverage`` and the report, against a hand computation.

The county of tests/collector/reports/county.py (its November known by hand; W2 installed 11-16,
its first interval), with:

* S2 offline 129,729.6 s from 11-05 00:00: exactly 94.995 %, shown 95.00 %: compliant, and its
  point covered (南一社区 fully covered: 2 of 2);
* an approved region exclusion on 南二社区 (S3, S4) for the whole local month: the village is in
  no coverage denominator (覆盖率 and 全覆盖 "—"), 南街道 100 % (1 of 1), the county 3 of 5;
* W5 added at 西一村 on 11-20 and offline all its life: offline from its first interval, known
  all its time; W2 known all its time (not 50 %), 西乡 100 % known.

The same figures from the intervals and from the daily rollups; the database sums equal the pure
rules over the refs the loaders make.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from collector.accounting import Level, Period, rates_by, snapshot_rates_by, us_seconds
from collector.accounting.sql.camera_times import load_camera_refs, sql_camera_times
from collector.accounting.sql.group_rates import sql_group_times, sql_rates
from collector.accounting.sql.load import load_accounting
from collector.accounting.sql.rollups import build_rollups
from collector.reports.build import build_report
from collector.reports.periods import month_period
from inventory.db import create_engine
from inventory.models import Camera, Exclusion, Lifecycle, StateInterval
from tests.collector.reports.county import COUNTY, EAST, SOUTH, WEST, build_county, local
from tests.collector.reports.fleet import cli_json, settings

H = 3600
NOV = month_period(2026, 11, "Asia/Shanghai")
PERIOD = Period(NOV.start, NOV.end)
AT = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
SOUTH_1, SOUTH_2, WEST_1, EAST_2 = "330999103001", "330999103002", "330999102001", "330999101002"
RANGE = ("--from", "2026-11-01", "--to", "2026-11-30")


def build(url: str, tmp: Path) -> dict[str, int]:
    ids = build_county(url, tmp)

    async def go() -> int:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                s2 = ids["S2"]
                await conn.execute(delete(StateInterval).where(StateInterval.camera_id == s2))
                down, up = local("2026-11-05 00:00"), local("2026-11-05 00:00") + dt.timedelta(seconds=129_729.6)
                await conn.execute(insert(StateInterval), [
                    {"camera_id": s2, "state": "online", "start": local("2026-09-01 00:00"), "end": down},
                    {"camera_id": s2, "state": "offline", "cause": "unreachable", "start": down, "end": up},
                    {"camera_id": s2, "state": "online", "start": up, "end": None}])
                await conn.execute(insert(Exclusion).values(
                    region_code=SOUTH_2, start=local("2026-11-01 00:00"), end=local("2026-12-01 00:00"),
                    reason="道路施工报备", approver="王科长", status="approved"))
                point = (await conn.execute(select(Camera.point_id).where(Camera.id == ids["W1"]))).scalar_one()
                w5 = (await conn.execute(insert(Camera).values(
                    point_id=point, name="W5", host="127.0.9.99", rtsp_port=8554, rtsp_path="/s",
                    lifecycle=Lifecycle.ACTIVE).returning(Camera.id))).scalar_one()
                await conn.execute(insert(StateInterval).values(camera_id=w5, state="offline", cause="unreachable",
                                                                start=local("2026-11-20 00:00"), end=None))
                return int(w5)
        finally:
            await engine.dispose()

    ids["W5"] = asyncio.run(go())
    return ids


def rows(table: dict[str, Any], key: str = "key") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in table["rows"]}


def rollups(url: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            await build_rollups(engine, AT, lag=dt.timedelta(hours=1))
        finally:
            await engine.dispose()

    asyncio.run(go())


def check_cli(url: str, ids: dict[str, int]) -> None:
    cams = rows(cli_json(url, "rates", "--level", "camera", *RANGE))
    s2 = cams[ids["S2"]]
    assert (s2["ratio"], s2["compliant"]) == (0.95, True)  # 94.995 % shows 95.00 %: compliant
    w2, w5 = cams[ids["W2"]], cams[ids["W5"]]
    assert (w2["ratio"], w2["known_s"], w2["known_share"]) == (1.0, 360 * H, 1.0)  # was 50 % known
    assert (w5["ratio"], w5["compliant"], w5["known_s"], w5["known_share"]) == (0.0, False, 264 * H, 1.0)
    for method in ("time", "intact", "snapshot"):
        towns = rows(cli_json(url, "rates", "--level", "township", "--method", method, *RANGE))
        assert towns[WEST]["known_share"] == 1.0, method  # W2, W5 known all their time; W3 to its retirement
        assert towns[EAST]["known_share"] == 1.0, method
        assert towns[SOUTH]["known_share"] == round(2856 / 2880, 4), method  # S3's unknown day only
    towns = rows(cli_json(url, "rates", "--level", "township", *RANGE))
    assert towns[WEST]["ratio"] == round((720 + 360 + 206 + 714.96) / (720 + 360 + 216 + 720 + 264), 4)
    villages = rows(cli_json(url, "coverage", "--level", "village", *RANGE), "code")
    assert {k: (v["covered_points"], v["ratio"], v["fully_covered"]) for k, v in villages.items()} == {
        SOUTH_1: (2, 1.0, True),  # S2 counts at 95.00 % as its rate shows
        SOUTH_2: (0, None, None),  # all excluded: "—", in no denominator
        WEST_1: (2, 1.0, True), "330999102002": (1, 0.5, False),
        "330999101001": (2, 1.0, True), EAST_2: (1, 0.5, False)}
    cov = rows(cli_json(url, "coverage", "--level", "township", *RANGE), "code")
    assert {k: (v["villages"], v["fully_covered"], v["ratio"]) for k, v in cov.items()} == {
        EAST: (2, 1, 0.5), WEST: (2, 1, 0.5), SOUTH: (1, 1, 1.0)}  # 南街道 1 of 1, not 0 of 2


def test_the_three_rules_through_the_cli_and_the_report(db_url: str, tmp_path: Path) -> None:
    ids = build(db_url, tmp_path)
    check_cli(db_url, ids)
    rollups(db_url)  # the same from the daily rollups
    check_cli(db_url, ids)

    async def go() -> Any:
        engine = create_engine(db_url)
        try:
            return await build_report(engine, settings(db_url), NOV, AT)
        finally:
            await engine.dispose()

    r = asyncio.run(go())
    regions = {x.code: x for x in (*r.counties, *r.townships)}
    assert [(c, regions[c].coverage, regions[c].villages, regions[c].fully_covered_villages)
            for c in (COUNTY, EAST, WEST, SOUTH)] == [(COUNTY, 0.6, 5, 3), (EAST, 0.5, 2, 1), (WEST, 0.5, 2, 1),
                                                      (SOUTH, 1.0, 1, 1)]
    done = {c.code: c for c in r.completeness}
    assert (done[WEST].window_seconds / H, done[WEST].unknown_seconds / H, done[WEST].known_share) == (2280, 0, 1.0)
    assert (done[COUNTY].window_seconds / H, done[COUNTY].unknown_seconds / H) == (7416 - 360 + 264, 24)
    assert r.completeness[0].known_share == round((7320 - 24) / 7320, 4)  # above 95 %: no warning


def test_database_sums_equal_the_pure_rules_with_cameras_added_late(db_url: str, tmp_path: Path) -> None:
    ids = build(db_url, tmp_path)
    half = Period(NOV.start, local("2026-11-18 06:30"))  # W5 not yet in it; W2 from its middle

    async def go() -> None:
        engine = create_engine(db_url)
        try:
            for built in (False, True):
                if built:
                    await build_rollups(engine, AT, lag=dt.timedelta(hours=1))
                for period in (PERIOD, half, Period(local("2026-11-16 00:00"), local("2026-11-25 00:00"))):
                    data = await load_accounting(engine, period)
                    late = {c.camera_id: c.monitored_from for c in data.cameras if c.monitored_from is not None}
                    starts = {"W2": local("2026-11-16 00:00"), "W5": local("2026-11-20 00:00")}
                    assert late == {ids[k]: v for k, v in starts.items() if v > period.start}
                    async with engine.connect() as conn:
                        assert {c.camera_id: c.monitored_from for c in await load_camera_refs(conn, since=period.start)
                                if c.monitored_from is not None} == late
                    for level in (Level.CAMERA, Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CONTRACTOR):
                        want = rates_by(level, data.cameras, data.spans, data.exclusions, period, AT)
                        got = await sql_rates(engine, level, period, AT, exclusions=data.exclusions)
                        assert got == want, (built, level, period)
                    times = await sql_camera_times(engine, period, AT, exclusions=data.exclusions, cameras=data.cameras)
                    w5 = times[ids["W5"]].without_exclusions
                    assert w5.unknown_s == 0  # before 11-20 it was not a camera of the county
                    groups = await sql_group_times(engine, period, AT, exclusions=data.exclusions)
                    towns = {r.key: r.time_without_exclusions for r in rates_by(
                        Level.TOWNSHIP, data.cameras, data.spans, data.exclusions, period, AT)}
                    for row in groups.ratio_rows(Level.TOWNSHIP):  # the known share's two sums
                        raw = towns[row.key]
                        assert (us_seconds(row.known_us), us_seconds(row.total_us)) == (
                            raw.eligible_s, raw.eligible_s + raw.unknown_s + raw.excluded_s), (built, period)
                    snap = snapshot_rates_by(Level.TOWNSHIP, data.cameras, data.spans, data.exclusions, period, AT)
                    assert all(s.ratio is not None for s in snap if s.key)
        finally:
            await engine.dispose()

    asyncio.run(go())
