"""`camwatch rates` and /api/v1/rates: each rate's uncertainty (± pp), the time known, and with
--rank / rank=1 each row's rank and its change against the previous month; on SQLite and
PostgreSQL, words in Chinese by default and English with --lang en."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select

from collector.runtime.app import App
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Point, StateInterval
from inventory.secrets import SecretBox
from tests.collector.test_api_support import api_settings
from tests.collector.test_cli_inventory import SAMPLE, camwatch
from tests.inventory.helpers import KEY, do_import, migrated

SH = dt.timezone(dt.timedelta(hours=8))
OCT, NOV, DEC = (dt.datetime(2026, m, 1, tzinfo=SH) for m in (10, 11, 12))
T1, T2, T3 = "130123101000", "130123102000", "130123103000"
# each camera's one outage a month, as a share of the month: township 1 worst in October and
# best in November, township 2 the other way round, township 3 in the middle both times
DOWN = {T1: (0.10, 0.005), T2: (0.01, 0.03), T3: (0.05, 0.02)}
UNC_S = 3600  # each transition's half probe gap (large, so the ± shows at 0.01 pp)
UNKNOWN_DAYS = 3  # one camera of township 3 unmonitored for three days in November


async def store(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            cams = (await conn.execute(select(Camera.id, Point.village_code).join(Point, Point.id == Camera.point_id)
                                       .order_by(Camera.id))).all()
            rows: list[dict[str, object]] = []
            gap_cam = next(cid for cid, v in cams if v.startswith(T3[:9]))
            for cid, village in cams:
                township = village[:9] + "000"
                t = OCT
                for month_start, month_end, share in ((OCT, NOV, DOWN[township][0]), (NOV, DEC, DOWN[township][1])):
                    down = month_start + (month_end - month_start) / 3
                    up = down + (month_end - month_start) * share
                    rows.append({"camera_id": cid, "state": "online", "cause": None, "start": t, "end": down,
                                 "start_uncertainty_us": 0 if t == OCT else UNC_S * 10**6})
                    rows.append({"camera_id": cid, "state": "offline", "cause": "refused", "start": down, "end": up,
                                 "start_uncertainty_us": UNC_S * 10**6})
                    t = up
                if cid == gap_cam:  # unknown for three days at the end of November
                    gap = DEC - dt.timedelta(days=UNKNOWN_DAYS)
                    rows.append({"camera_id": cid, "state": "online", "cause": None, "start": t, "end": gap,
                                 "start_uncertainty_us": UNC_S * 10**6})
                    rows.append({"camera_id": cid, "state": "unknown", "cause": None, "start": gap, "end": DEC,
                                 "start_uncertainty_us": 0})
                else:
                    rows.append({"camera_id": cid, "state": "online", "cause": None, "start": t, "end": DEC,
                                 "start_uncertainty_us": UNC_S * 10**6})
            await conn.execute(insert(StateInterval), rows)
    finally:
        await engine.dispose()


def county(db_url: str) -> str:
    migrated(db_url)
    assert do_import(db_url, SAMPLE).written
    asyncio.run(store(db_url))
    return db_url


MONTH_S = (DEC - NOV).total_seconds()
DAY_S = 86400
RANKS = {T1: (1, 2), T2: (3, -2), T3: (2, 0)}  # November's rank, places gained since October


def expected(code: str, n: int) -> tuple[float, float, float, float]:
    """(ratio, uncertainty pp, known s, known share) of a township of *n* cameras in November:
    each camera two transitions ±UNC_S (into its outage and out of it)."""
    unknown = UNKNOWN_DAYS * DAY_S if code == T3 else 0
    known = n * MONTH_S - unknown
    down = n * DOWN[code][1] * MONTH_S
    return (round((known - down) / known, 4), round(n * 2 * UNC_S / known * 100, 2), known,
            round(known / (n * MONTH_S), 4))


def check_table(table: dict[str, Any], ranked: bool) -> None:
    rows = {r["key"]: r for r in table["rows"]}
    assert set(rows) == set(DOWN)
    for code, r in rows.items():
        assert (r["ratio"], r["uncertainty_pp"], r["known_s"], r["known_share"]) == expected(code, r["cameras"]), r
        assert r["uncertainty_pp"] >= 0.28  # the ± is there to see
        if ranked:
            assert (r["rank"], r["rank_change"]) == RANKS[code], r
        else:
            assert "rank" not in r
    assert rows[T3]["known_share"] < 1 and rows[T1]["known_share"] == 1.0
    if ranked:
        prev = table["previous"]
        assert (dt.datetime.fromisoformat(prev["from"]), dt.datetime.fromisoformat(prev["to"])) == (OCT, NOV)
        assert dt.datetime.fromisoformat(table["from"]) == NOV


def test_rates_cli_uncertainty_known_time_and_ranks(db_url: str, tmp_path: Path) -> None:
    url = county(db_url)
    env = {"CAMWATCH_DB": url}
    month = ("--from", "2026-11-01", "--to", "2026-11-30")
    r = camwatch(tmp_path, "rates", "--json", *month, env=env)
    assert r.returncode == 0, r.stderr
    check_table(json.loads(r.stdout), ranked=False)
    r = camwatch(tmp_path, "rates", "--json", "--rank", *month, env=env)
    assert r.returncode == 0, r.stderr
    check_table(json.loads(r.stdout), ranked=True)
    # the table in Chinese by default, English with --lang en
    r = camwatch(tmp_path, "rates", "--rank", *month, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = lines[2].split("\t")
    assert head[-2:] == ["排名", "变化"] and "误差(百分点)" in head and "监测时长占比" in head
    assert lines[1] == "排名变化对比 2026-10-01 00:00 +08:00 至 2026-11-01 00:00 +08:00"
    by_code = {line.split("\t")[0]: line.split("\t") for line in lines[3:]}
    assert by_code[T1][-2:] == ["1", "↑2"] and by_code[T2][-2:] == ["3", "↓2"] and by_code[T3][-2:] == ["2", "="]
    assert by_code[T1][4] == "±0.28" and by_code[T3][-3].endswith("%") and by_code[T1][-3] == "100.00%"
    r = camwatch(tmp_path, "--lang", "en", "rates", "--rank", *month, env=env)
    lines = r.stdout.splitlines()
    assert lines[2].split("\t")[-2:] == ["rank", "change"] and "± pp" in lines[2]
    assert lines[1].startswith("rank change against 2026-10-01")
    # without --rank: no rank columns
    r = camwatch(tmp_path, "rates", *month, env=env)
    assert "排名" not in r.stdout and "±0.28" in r.stdout


def test_rates_api_rank(db_url: str) -> None:
    url = county(db_url)

    async def go() -> None:
        engine = create_engine(url)
        app = App(api_settings(url), engine, SecretBox(KEY), http=build_application)
        try:
            async with TestServer(build_application(app), host="127.0.0.1", port=0) as server, \
                    aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as http:
                month = {"from": "2026-11-01", "to": "2026-11-30"}
                async with http.get("/api/v1/rates", params=month) as r:
                    assert r.status == 200
                    check_table(await r.json(), ranked=False)
                async with http.get("/api/v1/rates", params={**month, "rank": "1"}) as r:
                    assert r.status == 200
                    check_table(await r.json(), ranked=True)
                async with http.get("/api/v1/rates", params={**month, "rank": "2"}) as r:
                    assert r.status == 400
        finally:
            await engine.dispose()

    asyncio.run(go())
