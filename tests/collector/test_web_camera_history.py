"""The camera page's timelines and availability cut each stored span at the camera's next span,
also one that ended before the window: a stale open span (end NULL, left by a crash) never shows
or counts its state across a gap (:mod:`collector.web.pages.camera_history`).

On real SQLite and PostgreSQL, with the spans written into the database.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from collector.accounting import CameraRef, Period, StateSpan, camera_times, round_ratio, to_us
from collector.accounting.timeline import segments
from collector.web.pages.camera_history import WINDOWS, availability, camera_history, pieces, timelines
from collector.web.pages.charts import STATE_COLOURS, TL_W
from inventory.models import StateInterval
from tests.collector.test_accounting_sql import T0, all_spans, inventory_db, store_random

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
TZ = ZoneInfo("Asia/Shanghai")


def ago(d: dt.timedelta) -> dt.datetime:
    return NOW - d


def _row(cid: int, state: str, start: dt.datetime, end: dt.datetime | None) -> dict[str, Any]:
    return {"camera_id": cid, "state": state, "cause": "timeout" if state == "offline" else None, "start": start, "end": end}


def rects(svg: str) -> list[tuple[float, str]]:
    """(x, state) of each coloured piece of a bar (the grey background, unknown, left out)."""
    colour_state = {c: s for s, c in STATE_COLOURS.items()}
    return [(float(x), colour_state[c]) for x, c in re.findall(r'<rect x="([\d.]+)" y="0" width="[\d.]+" height="10" fill="(#\w+)">', svg)]


def x_of(at: dt.datetime, width: dt.timedelta) -> float:
    return round(TL_W * (at - (NOW - width)) / width, 2)


def ratio(online: dt.timedelta, eligible: dt.timedelta) -> float:
    return float(round_ratio(Decimal(online.total_seconds()) / Decimal(eligible.total_seconds())) or 0)


def overlapping(spans: Sequence[StateSpan], lo: dt.datetime) -> list[StateSpan]:
    """What the page read before: the spans overlapping the window (uncut by an earlier-ended one)."""
    return [s for s in spans if s.end is None or s.end > lo]


async def test_stale_spans_are_cut_on_the_camera_page(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        cam = cams[0]
        cid, other = cam.camera_id, cams[1].camera_id
        # online 40 days ago, never closed (a crash); offline 35 - 32 days ago; nothing (camwatch
        # down) until online 10 days ago, never closed either; offline 3 - 2 days ago; nothing
        # until online an hour ago (open: the current state). Another camera's span is no part.
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), [
                _row(cid, "online", ago(40 * DAY), None), _row(cid, "offline", ago(35 * DAY), ago(32 * DAY)),
                _row(cid, "online", ago(10 * DAY), None), _row(cid, "offline", ago(3 * DAY), ago(2 * DAY)),
                _row(cid, "online", ago(HOUR), None), _row(other, "online", ago(40 * DAY), None)])
        lo = NOW - WINDOWS[-1][1]
        spans = await camera_history(engine, cid, lo)
        stored = [s for s in await all_spans(engine) if s.camera_id == cid]
        assert len(spans) == 4 and len(stored) == 5  # the one in force at the window's start and those after

        # the timeline: as the pure rule over every stored span, within the window
        cut = pieces(spans, cid, NOW)
        truth = pieces(stored, cid, NOW)
        assert [p for p in cut if p[1] is None or p[1] > lo] == [p for p in truth if p[1] is None or p[1] > lo] == [
            (ago(10 * DAY), ago(3 * DAY), "online"), (ago(3 * DAY), ago(2 * DAY), "offline"), (ago(HOUR), None, "online")]
        bars = dict(timelines(cut, NOW, TZ, str, str))
        d30, d7, h24 = (dict(WINDOWS)[k] for k in ("d30", "d7", "h24"))
        assert rects(bars["d30"]) == [(x_of(ago(10 * DAY), d30), "online"), (x_of(ago(3 * DAY), d30), "offline"),
                                      (x_of(ago(HOUR), d30), "online")]
        assert rects(bars["d7"]) == [(0.0, "online"), (x_of(ago(3 * DAY), d7), "offline"), (x_of(ago(HOUR), d7), "online")]
        assert rects(bars["h24"]) == [(x_of(ago(HOUR), h24), "online")]  # the gap since 2 days ago: unknown grey
        # (the spans overlapping the window, uncut, drew "online" from its start)
        uncut = [(s.start, s.end, s.state) for s in overlapping(stored, lo)]
        assert rects(dict(timelines(uncut, NOW, TZ, str, str))["d30"])[0] == (0.0, "online")

        # the availability: online / known time of each window; the gaps are unknown
        got = availability(cam, spans, (), NOW)
        assert got == {"h24": 1.0, "d7": ratio(4 * DAY + HOUR, 5 * DAY + HOUR), "d30": ratio(7 * DAY + HOUR, 8 * DAY + HOUR),
                       "watched": (8 * DAY + HOUR).total_seconds()}
        assert availability(cam, overlapping(stored, lo), (), NOW)["d30"] != got["d30"]  # (the stale span counted)


def times(cam: CameraRef, spans: Sequence[StateSpan], period: Period, now: dt.datetime) -> tuple[Any, ...]:
    """What the page shows of a window: online, offline and unknown time, the availability (the
    transitions' uncertainty is not read: the page does not show it)."""
    t = camera_times([cam], spans, (), period, now)[cam.camera_id].with_exclusions
    return t.online_s, t.offline_s, t.unknown_s, t.ratio


async def test_history_read_from_any_window_start_gives_every_span_s_timeline(db_url: str) -> None:
    """Random timelines (stale open spans, overlaps, equal starts, gaps): for windows starting
    anywhere, the spans read give the pieces and times of every stored span."""
    async with inventory_db(db_url) as (engine, cams):
        await store_random(engine, random.Random(11), cams, exclusions=False)
        spans = await all_spans(engine)
        now = T0 + 4 * DAY
        differs = 0
        for cam in cams[:25]:
            cid = cam.camera_id
            for lo in (T0 - 2 * DAY, T0, T0 + DAY + 5 * HOUR, now - HOUR):
                read = await camera_history(engine, cid, lo)
                within = [p for p in pieces(read, cid, now) if p[1] is None or p[1] > lo]
                want = [p for p in segments(spans, cid, to_us(now)) if p[1] is None or p[1] > to_us(lo)]
                assert [(to_us(a), None if b is None else to_us(b), s) for a, b, s in within] == want, (cid, lo)
                period = Period(lo, now)
                assert times(cam, read, period, now) == times(cam, spans, period, now), (cid, lo)
                differs += times(cam, overlapping([s for s in spans if s.camera_id == cid], lo), period, now) != times(
                    cam, spans, period, now)
        assert differs >= 1, "no stale span that the overlap alone would count: the data tests nothing"
