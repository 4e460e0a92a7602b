"""``GET /api/v1/cameras/{id}``'s ``recent_intervals`` give each interval's effective end: the stored
end cut at the start of the camera's next interval, so an interval left open by a crash (end NULL)
is not shown as still going when a later one exists (:func:`collector.web.cameras.effective_ends`).

Over HTTP, from a real App probing a small simulated fleet, with stale spans written into real
SQLite and PostgreSQL databases; the answer also validates against the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert, select

from collector.accounting import StateSpan, from_us, to_us
from collector.accounting.timeline import segments
from collector.web.cameras import effective_ends
from collector.web.openapi import document
from inventory.models import StateInterval
from probes.sim.loopback import LoopbackRange
from tests.collector.test_api_support import response_schema, running, unscripted, validate

N = 2
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _row(cid: int, state: str, start: dt.datetime, end: dt.datetime | None) -> dict[str, Any]:
    return {"camera_id": cid, "state": state, "cause": "timeout" if state == "offline" else None, "start": start, "end": end}


def _at(s: str | None) -> dt.datetime | None:
    return None if s is None else dt.datetime.fromisoformat(s)


def test_effective_ends_follow_the_accounting_rule() -> None:
    spans = [(T, None), (T + DAY, T + 2 * DAY), (T + 3 * DAY, None), (T + 3 * DAY, T + 4 * DAY),
             (T + 5 * DAY, T + 9 * DAY), (T + 6 * DAY, None), (T + 20 * DAY, None)]
    now = T + 10 * DAY
    assert effective_ends(spans, now) == [
        T + DAY,  # stale open: cut by the next one, though that one ended before a gap
        T + 2 * DAY,  # stored end, earlier than the next start: the gap stays a gap
        T + 3 * DAY,  # the same start as the next (stored later): ends at once
        T + 4 * DAY,
        T + 6 * DAY,  # stored end past the next start: cut there
        None,  # the next one starts after now (a clock step): not cut by it
        None,  # the last one: still going
    ]
    # as the pure rule of the rates, reports and camera page, for the spans it keeps
    kept = [(to_us(a), None if e is None else to_us(e)) for (a, _), e in zip(spans, effective_ends(spans, now), strict=True)
            if a <= now and (e is None or e > a)]
    cut = segments([StateSpan(1, "online", a, b) for a, b in spans], 1, to_us(now))
    assert kept == [(a, b) for a, b, _ in cut]


def test_recent_intervals_are_cut_over_http(db_url: str, tmp_path: Path, loopback: LoopbackRange) -> None:
    async def go() -> None:
        async with running((127, loopback.first_block, 0, 1), tmp_path, unscripted, db_url=db_url, n=N, down=()) as live, \
                aiohttp.ClientSession(live.u("")) as http:
            await check(http, live.app.engine, live.app.clock(), live.cams[0], live.cams[1])

    asyncio.run(go())


async def check(http: aiohttp.ClientSession, engine: Any, now: dt.datetime, cid: int, other: int) -> None:
    def ago(d: dt.timedelta) -> dt.datetime:
        return (now - d).replace(microsecond=0)

    async with engine.connect() as conn:
        live = (await conn.execute(select(StateInterval.start, StateInterval.end).where(StateInterval.camera_id == cid))).all()
    assert len(live) == 1 and live[0][1] is None  # the App's own: online since it started, going
    probed_from = live[0][0]
    # before it, a camera history with crashes: online 40 days ago, never closed; offline 35 - 32
    # days ago; nothing until offline 20 days ago, never closed, and online from the same instant
    # (stored later) to 15 days ago; online 10 days ago, stored as ending 2 days ago though offline
    # 3 - 2 days ago; online an hour ago, never closed (then the App started). Another camera's
    # stale span is no part of it.
    async with engine.begin() as conn:
        await conn.execute(insert(StateInterval), [
            _row(cid, "online", ago(40 * DAY), None), _row(cid, "offline", ago(35 * DAY), ago(32 * DAY)),
            _row(cid, "offline", ago(20 * DAY), None), _row(cid, "online", ago(20 * DAY), ago(15 * DAY)),
            _row(cid, "online", ago(10 * DAY), ago(2 * DAY)), _row(cid, "offline", ago(3 * DAY), ago(2 * DAY)),
            _row(cid, "online", ago(HOUR), None), _row(other, "online", ago(50 * DAY), None)])

    async with http.get(f"/api/v1/cameras/{cid}") as r:
        body = await r.json()
        assert r.status == 200, body
    doc = document()
    validate(body, response_schema(doc, "/api/v1/cameras/{id}", "get", 200), doc)
    got = [(i["state"], _at(i["start"]), _at(i["end"])) for i in body["recent_intervals"]]
    assert got == [  # newest first
        ("online", probed_from, None),  # the current one: the only one without an end
        ("online", ago(HOUR), probed_from),  # left open: ended where the App's began
        ("offline", ago(3 * DAY), ago(2 * DAY)),
        ("online", ago(10 * DAY), ago(3 * DAY)),  # stored past the next start: cut there
        ("online", ago(20 * DAY), ago(15 * DAY)),  # of equal starts, the one stored later goes on
        ("offline", ago(20 * DAY), ago(20 * DAY)),  # ... and the other ends at once
        ("offline", ago(35 * DAY), ago(32 * DAY)),
        ("online", ago(40 * DAY), ago(35 * DAY)),  # left open: not going on across the gap after it
    ]
    assert [i["cause"] for i in body["recent_intervals"]][2] == "timeout"
    # the intervals with a length are the camera's timeline by the rule of the rates and reports
    async with engine.connect() as conn:
        stored = [StateSpan(c, s, a, b) for c, s, a, b in (await conn.execute(
            select(StateInterval.camera_id, StateInterval.state, StateInterval.start, StateInterval.end))).all()]
    timeline = [(from_us(a), None if b is None else from_us(b), s) for a, b, s in segments(stored, cid, to_us(now))]
    assert [(a, b, s) for s, a, b in reversed(got) if b is None or a is None or b > a] == timeline

    async with http.get(f"/api/v1/cameras/{other}") as r:
        others = (await r.json())["recent_intervals"]
    assert [(i["state"], _at(i["start"]), _at(i["end"])) for i in others][1:] == [
        ("online", ago(50 * DAY), _at(others[0]["start"]))]  # its own stale span, cut by the App's
