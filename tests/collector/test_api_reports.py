"""Regions, rates and coverage over HTTP (fleet in a free loopback range, SQLite): period availability, and
the same numbers as `camwatch rates --json` / `camwatch coverage --json` on the same database."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from collector.web.openapi import document
from tests.collector.test_api_support import (
    DOWN,
    Live,
    N,
    cli_json,
    error_param,
    get,
    http_fixture,
    live_fixture,
    local,
    response_schema,
    validate,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()




async def test_region_county_township_village(live: Live, http: aiohttp.ClientSession) -> None:
    doc = document()
    schema = response_schema(doc, "/api/v1/regions/{code}", "get", 200)
    cams = (await get(http, live, "/api/v1/cameras?limit=1000"))["items"]
    county = cams[0]["county"]
    body = await get(http, live, f"/api/v1/regions/{county}")
    validate(body, schema, doc)
    assert body["level"] == "county" and body["name"] == "示范县" and body["children_level"] == "township"
    assert body["cameras"]["total"] == N and body["cameras"]["offline"] == 2 and body["cameras"]["online"] == N - 2
    assert body["online_ratio"] == round((N - 2) / N, 4) and body["availability"] is None
    assert sum(c["cameras"]["total"] for c in body["children"]) == N
    assert {c["code"] for c in body["children"]} == {c["township"] for c in cams}
    assert body["coverage"]["villages"] == sum(c["coverage"]["villages"] for c in body["children"])

    tw = body["children"][0]
    t = await get(http, live, f"/api/v1/regions/{tw['code']}")
    validate(t, schema, doc)
    assert t["parent"] == county and t["cameras"] == tw["cameras"] and t["children_level"] == "village"
    assert t["coverage"] == tw["coverage"]
    # a village with a powered-down camera
    down_village = next(c["village"] for c in cams if c["id"] == live.cams[DOWN[0]])
    v = await get(http, live, f"/api/v1/regions/{down_village}")
    validate(v, schema, doc)
    assert v["level"] == "village" and v["children_level"] == "camera"
    states = {c["code"]: (c["state"], c["online_ratio"]) for c in v["children"]}
    assert states[str(live.cams[DOWN[0]])] == ("offline", 0.0)
    up = sum(1 for s, _ in states.values() if s == "online")
    assert v["online_ratio"] == round(up / len(states), 4)
    cov = v["coverage"]
    assert cov["covered_points"] == up and cov["built_points"] == len(states) and not cov["fully_covered"]

    error_param(await get(http, live, f"/api/v1/regions/{county}?from=yesterday", 400), "from")
    error_param(await get(http, live, f"/api/v1/regions/{county}?from=2026-05-02&to=2026-04-30", 400), "to")
    assert (await get(http, live, "/api/v1/regions/000000", 404))["error"]["code"] == "not_found"


async def test_region_period_availability_matches_rates(live: Live, http: aiohttp.ClientSession) -> None:
    doc = document()
    day = live.yesterday.isoformat()
    county = (await get(http, live, "/api/v1/cameras?limit=1"))["items"][0]["county"]
    body = await get(http, live, f"/api/v1/regions/{county}?from={day}&to={day}")
    validate(body, response_schema(doc, "/api/v1/regions/{code}", "get", 200), doc)
    rates = {r["key"]: r for r in (await get(http, live, f"/api/v1/rates?level=township&from={day}&to={day}"))["rows"]}
    county_rate = (await get(http, live, f"/api/v1/rates?level=county&from={day}&to={day}"))["rows"]
    assert body["availability"]["ratio"] == county_rate[0]["ratio"]
    assert body["availability"]["ratio_without_exclusions"] == county_rate[0]["ratio_without_exclusions"]
    assert body["availability"]["from"] == local(live.yesterday, 0).isoformat()
    for child in body["children"]:
        assert child["availability"]["ratio"] == rates[child["code"]]["ratio"]
        assert child["availability"]["ratio_without_exclusions"] == rates[child["code"]]["ratio_without_exclusions"]
    # every 4th camera was down 08:00-10:00 yesterday; the exclusion (08:30-09:30) covers camera 0's township
    first = body["children"][0]["availability"]
    assert first["ratio"] > first["ratio_without_exclusions"]
    cams = (await get(http, live, "/api/v1/cameras?limit=1000"))["items"]
    index = {cid: i for i, cid in live.cams.items()}
    for child in body["children"]:
        scripted_down = any(index[c["id"]] % 4 == 0 for c in cams if c["township"] == child["code"])
        assert (child["availability"]["ratio_without_exclusions"] < 1) is scripted_down, child
    # one camera: exactly 22 of 24 hours up, without exclusions
    village = (await get(http, live, f"/api/v1/cameras/{live.cams[4]}"))["village"]
    v = await get(http, live, f"/api/v1/regions/{village}?from={day}&to={day}")
    cam4 = next(c for c in v["children"] if c["code"] == str(live.cams[4]))
    assert cam4["availability"]["ratio_without_exclusions"] == round(22 / 24, 4)
    assert cam4["availability"]["intact_ratio"] is not None


# -- rates and coverage: the same numbers as the CLI ------------------------------------------------------


async def test_rates_and_coverage_equal_the_cli(live: Live, http: aiohttp.ClientSession) -> None:
    doc = document()
    day = live.yesterday.isoformat()
    rate_cases = [("county", "time"), ("village", "intact"), ("camera", "time"), ("township", "snapshot"),
                  ("contractor", "time")]
    cov_cases = [("township", False), ("village", False), ("village", True)]
    # the CLI runs (a few seconds each, mostly imports) all at once
    clis = await asyncio.gather(
        *(cli_json(live, "rates", "--level", lv, "--method", m, "--from", day, "--to", day) for lv, m in rate_cases),
        *(cli_json(live, "coverage", "--level", lv, *(["--from", day, "--to", day] if over else [])) for lv, over in cov_cases))
    for (level, method), cli in zip(rate_cases, clis, strict=False):
        api = await get(http, live, f"/api/v1/rates?level={level}&method={method}&from={day}&to={day}")
        validate(api, response_schema(doc, "/api/v1/rates", "get", 200), doc)
        assert api == cli, (level, method)
        assert api["rows"] and any(r["ratio"] is not None and r["ratio"] < 1 for r in api["rows"]), (level, method)
    for (level, over), cli in zip(cov_cases, clis[len(rate_cases):], strict=True):
        api = await get(http, live, f"/api/v1/coverage?level={level}" + (f"&from={day}&to={day}" if over else ""))
        validate(api, response_schema(doc, "/api/v1/coverage", "get", 200), doc)
        assert api == cli, (level, over)
        assert api["over_period"] is over and api["rows"]
    snap = await get(http, live, f"/api/v1/rates?level=county&method=snapshot&from={day}&to={day}")
    # 09:00: 6 of 24 down; 15:00: all up (degraded counts); 21:00: 23 of 23 (one unknown, not eligible)
    assert snap["rows"][0]["ratio_without_exclusions"] == round((18 / 24 + 1 + 1) / 3, 4)
    for query, param in (("level=planet", "level"), ("method=vibes", "method"), ("from=13/01/2026", "from"),
                         ("to=soon", "to")):
        error_param(await get(http, live, f"/api/v1/rates?{query}", 400), param)
    error_param(await get(http, live, "/api/v1/coverage?level=county", 400), "level")


# -- exclusions -----------------------------------------------------------------------------------------
