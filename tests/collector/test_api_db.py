"""The API's database paths on SQLite and PostgreSQL: a real App probing the fleet (in a free loopback range),
an exclusion added, seen in force, listed, ended (its elapsed part kept) and then, over, removed only when
forced, over HTTP; one to come removed; camera history, regions, rates."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import aiohttp

from collector.reports.snapshots import close_month
from probes.sim.loopback import LoopbackRange
from tests.collector.test_api_support import PASSWORD, TOKEN, Live, running, unscripted

N = 6


def test_exclusion_round_trip(db_url: str, tmp_path: Path, loopback: LoopbackRange) -> None:
    async def go() -> None:
        async with running((127, loopback.first_block, 0, 1), tmp_path, unscripted, db_url=db_url, n=N, down=[0]) as live, \
                aiohttp.ClientSession(live.u("")) as http:
            await check(http, live.cams)
            await closed(http, live)

    asyncio.run(go())


async def check(http: aiohttp.ClientSession, cams: dict[int, int]) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with http.get(f"/api/v1/cameras/{cams[0]}") as r:
        down = await r.json()
        assert r.status == 200 and down["state"] == "offline" and down["cause"] == "refused"
        assert down["recent_intervals"][0]["state"] == "offline" and down["recent_intervals"][0]["end"] is None
        assert PASSWORD not in await r.text()
    village = down["village"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    new = {"region_code": village, "start": (now - dt.timedelta(minutes=1)).isoformat(),
           "end": (now + dt.timedelta(hours=2)).isoformat(), "reason": "村委会停电报备", "approver": "王五"}
    async with http.post("/api/v1/exclusions", json=new) as r:
        assert r.status == 401
    async with http.post("/api/v1/exclusions", json=new, headers=auth) as r:
        made = await r.json()
        assert r.status == 201, made
    assert made["region_code"] == village and made["camera_id"] is None and made["approver"] == "王五"
    assert dt.datetime.fromisoformat(made["start"]) == now - dt.timedelta(minutes=1)

    async with http.get("/api/v1/cameras", params={"village": village, "limit": "1000"}) as r:
        in_village = (await r.json())["items"]
    assert in_village and all(c["state"] == "excluded" for c in in_village)
    assert {c["probed_state"] for c in in_village if c["id"] == cams[0]} == {"offline"}
    async with http.get(f"/api/v1/regions/{village}") as r:
        region = await r.json()
    assert region["cameras"]["excluded"] == len(in_village) and region["online_ratio"] is None
    async with http.get("/api/v1/exclusions", params={"region_code": village, "active": "true"}) as r:
        listed = await r.json()
    assert [x["id"] for x in listed["items"]] == [made["id"]] and listed["items"][0]["reason"] == "村委会停电报备"

    today = dt.datetime.now(dt.UTC).date().isoformat()
    async with http.get("/api/v1/rates", params={"level": "camera", "from": (now - dt.timedelta(hours=1)).isoformat()}) as r:
        rates = {row["key"]: row for row in (await r.json())["rows"]}
        assert r.status == 200
    # camera 0 has been down since the start: 0% without exclusions, nothing eligible with them (the
    # exclusion began before the collector); a camera elsewhere is at 100% either way
    outside = next(cid for cid in cams.values() if cid not in {c["id"] for c in in_village})
    assert rates[cams[0]]["ratio_without_exclusions"] == 0.0 and rates[cams[0]]["ratio"] is None
    assert rates[outside]["ratio"] == rates[outside]["ratio_without_exclusions"] == 1.0
    async with http.get("/api/v1/coverage", params={"level": "village", "from": today}) as r:
        assert r.status == 200 and (await r.json())["over_period"] is True

    async with http.delete(f"/api/v1/exclusions/{made['id']}", headers=auth) as r:
        ended = await r.json()
        assert r.status == 200, ended  # in force: ends now, the elapsed part stays excluded
    assert ended["status"] == "ended" and ended["start"] == made["start"]
    assert now <= dt.datetime.fromisoformat(ended["end"]) <= dt.datetime.now(dt.UTC)
    async with http.get("/api/v1/cameras", params={"village": village}) as r:
        states = {c["id"]: c["state"] for c in (await r.json())["items"]}
    assert states[cams[0]] == "offline" and "excluded" not in states.values()
    async with http.get("/api/v1/exclusions") as r:
        listed = await r.json()
    assert listed["total"] == 1 and [(x["id"], x["status"], x["end"]) for x in listed["items"]] == [
        (made["id"], "ended", ended["end"])]
    async with http.get("/api/v1/exclusions", params={"active": "true"}) as r:
        assert (await r.json())["total"] == 0
    async with http.delete(f"/api/v1/exclusions/{made['id']}", headers=auth) as r:
        refused = await r.json()  # over now: part of the counted figures, kept unless forced
        assert r.status == 409 and "is over" in refused["error"]["message"], refused
    async with http.delete(f"/api/v1/exclusions/{made['id']}", params={"force": "true"}, headers=auth) as r:
        assert r.status == 204
    async with http.get("/api/v1/exclusions") as r:
        assert (await r.json())["total"] == 0
    async with http.delete(f"/api/v1/exclusions/{made['id']}", headers=auth) as r:
        assert r.status == 404

    later = {**new, "start": (now + dt.timedelta(hours=3)).isoformat(), "end": (now + dt.timedelta(hours=4)).isoformat()}
    async with http.post("/api/v1/exclusions", json=later, headers=auth) as r:
        planned = await r.json()
        assert r.status == 201, planned
    async with http.delete(f"/api/v1/exclusions/{planned['id']}", headers=auth) as r:
        assert r.status == 204  # not begun: removed
    async with http.get("/api/v1/exclusions") as r:
        assert (await r.json())["total"] == 0


async def closed(http: aiohttp.ClientSession, live: Live) -> None:
    """One in a closed month is never removed, not even forced."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    new = {"camera_id": live.cams[1], "start": "2025-11-10T08:00:00+08:00", "end": "2025-11-10T12:00:00+08:00",
           "reason": "停电报备", "approver": "王五"}
    async with http.post("/api/v1/exclusions", json=new, headers=auth) as r:
        made = await r.json()
        assert r.status == 201, made
    await close_month(live.app.engine, live.app.settings, "2025-11", live.app.clock())
    for params in ({}, {"force": "true"}):
        async with http.delete(f"/api/v1/exclusions/{made['id']}", params=params, headers=auth) as r:
            refused = await r.json()
            assert r.status == 409 and "lies in 2025-11, closed" in refused["error"]["message"], refused
    async with http.get("/api/v1/exclusions") as r:
        assert [x["id"] for x in (await r.json())["items"]] == [made["id"]]
