"""The camera page's history: its 24 h / 7 d / 30 d timelines and availability, from the stored
state intervals read and cut by the accounting's rule.

A span ends where the camera's next span starts (:func:`collector.accounting.timeline.segments`),
so the spans read are those that can add time to the longest window (as
:func:`collector.accounting.sql.span_sums.relevant_spans` reads them for the rates): the ones
starting in it, and the camera's last one starting before it, whatever its stored end. A stale
open span (end NULL, left by a crash) is then cut by the camera's next span even when that one
ended before the window: it never shows, nor counts, its state across a gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import CameraRef, ExclusionSpan, Period, StateSpan, camera_times, from_us, round_ratio, to_us
from collector.accounting.timeline import segments
from collector.web.pages.charts import timeline
from inventory.models import COUNTED_EXCLUSIONS, StateInterval

WINDOWS = (("h24", dt.timedelta(hours=24)), ("d7", dt.timedelta(days=7)), ("d30", dt.timedelta(days=30)))

# (start, end or None while going, state): one piece of a camera's clean timeline
Piece = tuple[dt.datetime, dt.datetime | None, str]


async def camera_history(engine: AsyncEngine, cid: int, lo: dt.datetime) -> list[StateSpan]:
    """The camera's spans that can add time from *lo* on: its last one starting before *lo*, then
    those starting at or after it, by (start, id) (of equal starts the later stored wins)."""
    cols = (StateInterval.state, StateInterval.start, StateInterval.end)
    mine = StateInterval.camera_id == cid
    async with engine.connect() as conn:
        before = (await conn.execute(select(*cols).where(mine, StateInterval.start < lo)
                                     .order_by(StateInterval.start.desc(), StateInterval.id.desc()).limit(1))).all()
        since = (await conn.execute(select(*cols).where(mine, StateInterval.start >= lo)
                                    .order_by(StateInterval.start, StateInterval.id))).all()
    return [StateSpan(cid, state, start, end) for state, start, end in (*before, *since)]


def pieces(spans: Iterable[StateSpan], cid: int, now: dt.datetime) -> list[Piece]:
    """The camera's timeline up to *now*: each span cut at the next one's start (the pure rule)."""
    return [(from_us(a), None if b is None else from_us(b), state) for a, b, state in segments(spans, cid, to_us(now))]


def timelines(cut: Sequence[Piece], now: dt.datetime, tz: ZoneInfo, title: Callable[[str], str],
              state_words: Callable[[str], str]) -> list[tuple[str, str]]:
    """(window key, SVG bar) of each window ending at *now*, from the cut timeline."""
    return [(key, timeline(cut, now - width, now, tz, title(key), state_words)) for key, width in WINDOWS]


def availability(cam: CameraRef, spans: Sequence[StateSpan], excl: Iterable[Any], now: dt.datetime
                 ) -> dict[str, float | None]:
    """Time-weighted availability of each window by the accounting's rule (the exclusions that
    count applied: not a proposal or a rejected one; *excl*: ``exclusions`` rows); ``watched``: the
    seconds of the last 30 days with a known state (online, offline or excluded), None when that is
    (nearly) all of them."""
    spans_x = [ExclusionSpan(x.start, x.end, x.camera_id, x.region_code) for x in excl if x.status in COUNTED_EXCLUSIONS]
    out: dict[str, float | None] = {}
    for key, width in WINDOWS:
        t = camera_times([cam], spans, spans_x, Period(now - width, now), now)[cam.camera_id].with_exclusions
        r = t.ratio
        out[key] = None if r is None else float(round_ratio(r))
    known = float(t.eligible_s + t.excluded_s)  # (t: the last window's, 30 days)
    out["watched"] = known if known < WINDOWS[-1][1].total_seconds() * 0.99 else None
    return out


__all__ = ["WINDOWS", "Piece", "availability", "camera_history", "pieces", "timelines"]
