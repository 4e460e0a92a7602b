"""A camera retired mid-November, by hand, on real SQLite and PostgreSQL: ``camwatch rates``, the
API, the monthly report and the daily rollups give the same figures, and its time after the
retirement lowers neither the known share (监测完整率) nor the rate; its time before still counts.

The sample county (48 cameras; township 130123103000 has 5), every camera online all November (Asia/Shanghai), except in 130123103000:

- X, retired by the inventory import, ``retired_at`` 11-11 00:00: offline 11-05 .. 11-06 (24 h),
  and offline again from its retirement for 10 h until the collector saw it go (state
  ``excluded`` from then on). Transitions ±30 min.
- Y, retired with no ``retired_at`` (a row written by hand): its ``updated_at`` 11-21 00:00 is
  taken; online until then, ``excluded`` after.

Township 130123103000, hours: X 216 online + 24 offline (to 11-11), Y 480 online, three cameras
720 each: known 2880 of 2880 (share 100%; before, 2890 of 3600 = 80.28%), rate 2856 / 2880 =
99.17% (before: 2856 / 2890 = 98.82%), ± two transitions of 1800 s over 2880 h = 0.03 pp (the
two after the retirement left out). Snapshot rate (09:00, 15:00, 21:00): 4/5 on 11-05, 1 on the
other 29 days (X out at 11-11 09:00) = 99.33%. County (48 cameras): 33816 / 33840 h = 99.93%,
share 100%.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select, update

from collector.accounting.sql.rollups import build_rollups
from collector.reports.build import build_report
from collector.reports.periods import month_period
from collector.reports.score import score_note
from collector.runtime.app import App
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Point, StateInterval
from inventory.secrets import SecretBox
from tests.collector.reports.fleet import cli_json, settings
from tests.collector.test_api_support import api_settings
from tests.inventory.helpers import KEY, do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
SH = dt.timezone(dt.timedelta(hours=8))
COUNTY, T3 = "130123000000", "130123103000"
OCT, NOV, DEC = (dt.datetime(2026, m, 1, tzinfo=SH) for m in (10, 11, 12))
RETIRED = dt.datetime(2026, 11, 11, tzinfo=SH)  # X
TOUCHED = dt.datetime(2026, 11, 21, tzinfo=SH)  # Y (no retired_at: its last change)
HALF_GAP_US = 1800 * 10**6
MONTH = ("--from", "2026-11-01", "--to", "2026-11-30")
H = 3600.0


def nov(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=SH)


def _retire_x_in_the_file(tmp: Path, name: str) -> Path:
    """The sample file with camera *name* marked 退役 (the inventory import retires it)."""
    with SAMPLE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head, name_at, state_at = rows[0], rows[0].index("摄像机名称"), rows[0].index("状态")
    for r in rows[1:]:
        if r[name_at] == name:
            r[state_at] = "退役"
    out = tmp / "retired.csv"
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([head, *rows[1:]])
    return out


def county(url: str, tmp: Path) -> dict[str, int]:
    migrated(url)
    assert do_import(url, SAMPLE).written

    async def names() -> list[tuple[int, str, str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(  # type: ignore[misc]
                    select(Camera.id, Camera.name, Point.village_code).join(Point, Point.id == Camera.point_id)
                    .order_by(Camera.id))).all()]
        finally:
            await engine.dispose()

    cams = asyncio.run(names())
    mine = [(cid, name) for cid, name, village in cams if village.startswith(T3[:9])]
    assert len(mine) == 5
    (x, x_name), (y, _) = mine[0], mine[1]
    assert do_import(url, _retire_x_in_the_file(tmp, x_name)).written

    async def store() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(Camera).where(Camera.id == x).values(retired_at=RETIRED))
                await conn.execute(update(Camera).where(Camera.id == y).values(lifecycle="retired", retired_at=None,
                                                                                updated_at=TOUCHED))
                rows: list[dict[str, object]] = []
                for cid, _, _ in cams:
                    if cid == x:
                        rows += [_span(x, "online", OCT, nov(5), 0), _span(x, "offline", nov(5), nov(6), HALF_GAP_US),
                                 _span(x, "online", nov(6), RETIRED, HALF_GAP_US),
                                 _span(x, "offline", RETIRED, RETIRED + dt.timedelta(hours=10), HALF_GAP_US),
                                 _span(x, "excluded", RETIRED + dt.timedelta(hours=10), None, HALF_GAP_US)]
                    elif cid == y:
                        rows += [_span(y, "online", OCT, TOUCHED, 0), _span(y, "excluded", TOUCHED, None, 0)]
                    else:
                        rows.append(_span(cid, "online", OCT, None, 0))
                await conn.execute(insert(StateInterval), rows)
        finally:
            await engine.dispose()

    asyncio.run(store())
    return {"X": x, "Y": y}


def _span(cid: int, state: str, start: dt.datetime, end: dt.datetime | None, unc: int) -> dict[str, object]:
    return {"camera_id": cid, "state": state, "cause": "unreachable" if state == "offline" else None,
            "start": start, "end": end, "start_uncertainty_us": unc}


def check(rows: list[dict[str, Any]], *, county_level: bool = False) -> None:
    by = {r["key"]: r for r in rows}
    if county_level:
        r = by[COUNTY]
        known = (r["cameras"] - 5) * 720 + 2880  # 43 cameras in service all month, and township 3's hours
        assert (r["cameras"], r["ratio"], r["known_s"], r["known_share"]) == (
            48, round((known - 24) / known, 4), known * H, 1.0), r
        return
    r = by[T3]
    assert (r["cameras"], r["ratio"], r["uncertainty_pp"], r["known_s"], r["known_share"]) == (
        5, round(2856 / 2880, 4), 0.03, 2880 * H, 1.0), r
    assert all(o["known_share"] == 1.0 and o["ratio"] == 1.0 for k, o in by.items() if k != T3)


def test_a_retirement_lowers_neither_the_known_share_nor_the_rate(db_url: str, tmp_path: Path) -> None:
    ids = county(db_url, tmp_path)
    check(cli_json(db_url, "rates", *MONTH)["rows"])
    check(cli_json(db_url, "rates", "--level", "county", *MONTH)["rows"], county_level=True)
    snap = {r["key"]: r for r in cli_json(db_url, "rates", "--method", "snapshot", *MONTH)["rows"]}
    assert snap[T3]["ratio"] == round((29 + 0.8) / 30, 4) and snap[T3]["known_share"] == 1.0
    # per camera: X's 240 h, Y's 480 h; nothing after their retirements
    cams = {r["key"]: r for r in cli_json(db_url, "rates", "--level", "camera", *MONTH)["rows"]}
    assert (cams[ids["X"]]["known_s"], cams[ids["X"]]["ratio"], cams[ids["X"]]["known_share"]) == (240 * H, 0.9, 1.0)
    assert (cams[ids["Y"]]["known_s"], cams[ids["Y"]]["ratio"]) == (480 * H, 1.0)

    async def report_and_api() -> None:
        engine = create_engine(db_url)
        app = App(api_settings(db_url), engine, SecretBox(KEY), http=build_application)
        try:
            r = await build_report(engine, settings(db_url), month_period(2026, 11, "Asia/Shanghai"),
                                   dt.datetime(2026, 12, 5, tzinfo=dt.UTC))
            town = next(t for t in r.townships if t.code == T3)
            assert (town.rate, town.snapshot_rate, town.uncertainty_pp) == (round(2856 / 2880, 4), 0.9933, 0.03)
            done = {c.code: c for c in r.completeness}
            assert (done[T3].window_seconds, done[T3].known_seconds, done[T3].unknown_seconds,
                    done[T3].known_share) == (2880 * H, 2880 * H, 0.0, 1.0)
            assert done[COUNTY].known_share == 1.0 and score_note(r.completeness, "zh") is None  # no 监测完整率 warning
            # X's 24 h offline before its retirement is a fault; its 10 h after are not
            assert [(f.camera_id, f.fault_seconds / H, [(c.cause, c.seconds / H) for c in f.causes])
                    for f in r.faults] == [(ids["X"], 24.0, [("unreachable", 24.0)])]
            async with TestServer(build_application(app), host="127.0.0.1", port=0) as server, \
                    aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:
                async with http.get("/api/v1/rates", params={"from": "2026-11-01", "to": "2026-11-30"}) as resp:
                    assert resp.status == 200
                    check((await resp.json())["rows"])
                async with http.get(f"/api/v1/regions/{T3}", params={"from": "2026-11-01", "to": "2026-11-30"}) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["availability"]["ratio"] == round(2856 / 2880, 4)
            # the daily rollups built: the same figures from them
            assert (await build_rollups(engine, dt.datetime(2026, 12, 3, tzinfo=dt.UTC))).days_built >= 30
        finally:
            await engine.dispose()

    asyncio.run(report_and_api())
    check(cli_json(db_url, "rates", *MONTH)["rows"])
    check(cli_json(db_url, "rates", "--level", "county", *MONTH)["rows"], county_level=True)
