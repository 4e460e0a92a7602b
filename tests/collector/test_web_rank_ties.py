"""Equal rates share a rank (1, 2, 2, 4) on every page that ranks, as `camwatch rates --rank`, the
API and the report give it.

The case the console got wrong: two townships at 100.00% were ranked 1 and 2 on the overview
(their order by coverage, then code, numbered one by one), so a leader of the second read "2 / 4"
where the API and the report said 1. A hand-made timeline on SQLite served by a real (not
probing) App with a clock the test sets: townships tied at the top and tied below it; the
overview, the county's page, the reports page and its printable page against ``/api/v1/rates``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import insert, select

from collector.web import accounts
from inventory.models import Camera, Point, Region, StateInterval
from tests.collector.test_api_support import TOKEN, Clock, Served, still_app
from tests.collector.test_api_support import local as local_on

pytestmark = pytest.mark.asyncio(loop_scope="module")
TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def local(hh: int, mm: int = 0) -> dt.datetime:
    return local_on(DAY, hh, mm)


@dataclass
class Site(Served):
    towns: list[str]  # by code: the first two at 100%, the next two tied below, the rest lower
    names: dict[str, str]
    county: str


async def script_ties(engine: Any) -> tuple[list[str], dict[str, str], str]:
    """Every camera online from 08:00 (open intervals); in the third and fourth townships one
    camera offline from 09:00 for 6 minutes per camera of its township (so both lose 6 of every
    240 minutes by noon: 97.50%, a tie); in the others after them, 30 minutes per camera."""
    async with engine.begin() as c:
        rows = (await c.execute(select(Camera.id, Region.parent_code).join(Point, Camera.point_id == Point.id)
                                .join(Region, Region.code == Point.village_code).order_by(Camera.id))).all()
        by_town: dict[str, list[int]] = {}
        for cid, town in rows:
            by_town.setdefault(str(town), []).append(cid)
        towns = sorted(by_town)
        spans: list[dict[str, Any]] = []
        for k, town in enumerate(towns):
            cams = by_town[town]
            per_camera = 0 if k < 2 else 6 if k < 4 else 30
            for j, cid in enumerate(cams):
                if j == 0 and per_camera:
                    back = local(9) + dt.timedelta(minutes=per_camera * len(cams))
                    spans += [{"camera_id": cid, "state": "online", "start": local(8), "end": local(9)},
                              {"camera_id": cid, "state": "offline", "cause": "refused", "start": local(9), "end": back},
                              {"camera_id": cid, "state": "online", "start": back, "end": None}]
                else:
                    spans.append({"camera_id": cid, "state": "online", "start": local(8), "end": None})
        await c.execute(insert(StateInterval), [{"cause": None, **s} for s in spans])
        names = {str(code): str(name) for code, name in (await c.execute(select(Region.code, Region.name))).all()}
        county = (await c.execute(select(Region.parent_code).where(Region.code == towns[0]))).scalar_one()
    return towns, names, str(county)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    clock = Clock(local(12))  # the figures are summed at noon
    async with still_app(tmp_path_factory.mktemp("rank-ties"), 56, clock, script_ties) as (served, _, scripted):
        towns, names, county = scripted
        await served.app.refresh_figures()
        assert served.app.figures.computed_at == local(12)
        yield Site(served.app, served.server, towns, names, county)


async def get(site: Site, path: str, headers: dict[str, str] | None = None, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(site.u(path), params=params, headers=headers) as r:
        assert r.status == 200, (path, r.status)
        return await (r.json() if path.startswith("/api/") else r.text())


def table_ranks(html: str) -> list[tuple[str, int | None, int | None]]:
    """(region code, rank, of) of a ranked regions table, in its order."""
    rows = re.findall(r'<tr><td>(\d+|—)(?:<span class="sub"> / (\d+)</span>)?</td>\s*<td><a href="/regions/(\d+)">', html)
    return [(code, None if rank == "—" else int(rank), int(of) if of else None) for rank, of, code in rows]


async def test_tied_townships_share_their_rank_on_every_page(site: Site) -> None:
    api = await get(site, "/api/v1/rates", ADMIN, level="township", rank="1", **{
        "from": f"{DAY:%Y-%m}-01", "to": local(12).astimezone(TZ).strftime("%Y-%m-%d %H:%M")})
    ranks = {r["key"]: r["rank"] for r in api["rows"]}
    rates = {r["key"]: r["ratio"] for r in api["rows"]}
    t = site.towns
    assert len(t) >= 5 and rates[t[0]] == rates[t[1]] == 1.0 and rates[t[2]] == rates[t[3]] == 0.975, rates
    assert ranks[t[0]] == ranks[t[1]] == 1 and ranks[t[2]] == ranks[t[3]] == 3 and ranks[t[4]] == 5, ranks

    for path in ("/", f"/regions/{site.county}"):
        shown = table_ranks(await get(site, path))
        assert {code: rank for code, rank, _ in shown} == ranks, (path, shown)
        assert [rank for _, rank, _ in shown] == sorted(ranks.values()), path  # listed best first
        assert not any(of for _, _, of in shown), path  # all of them shown: no "/ n"

    # the report (its summary and its ranking) and its printable page: the same ranks
    month = f"{DAY:%Y-%m}"
    for path in ("/reports", "/reports/print"):
        html = await get(site, path, period=month)
        ranking = re.search(r'<table class="report ranking">(.*?)</table>', html, re.S)
        assert ranking is not None, path
        got = {name: rank for rank, name in re.findall(r'<tr><td class="num"[^>]*>(\d+|—)</td><td class="title">([^<]+)</td>',
                                                        ranking[1])}
        assert got == {site.names[k]: str(r) for k, r in ranks.items()}, (path, got)


async def test_a_leader_of_the_second_of_two_tied_townships_reads_rank_one(site: Site) -> None:
    now = site.app.clock()
    for town in (site.towns[1], site.towns[3]):
        uid = await accounts.add_user(site.app.engine, f"leader-{town}", "township", password=None, now=now,
                                      regions=[town])
        headers = {"Authorization": f"Bearer {await accounts.create_token(site.app.engine, uid, 'test', now)}"}
        shown = table_ranks(await get(site, "/", headers))
        assert shown == [(town, 1 if town == site.towns[1] else 3, len(site.towns))], shown
