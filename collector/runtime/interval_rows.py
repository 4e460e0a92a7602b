"""The rows one batch of state changes makes (pure), and the open intervals it continues.

A change closes the camera's open interval and opens a new one. Changes are dated at the
midpoint of their probe gap, so one may lie before a boundary already made (the previous change
of the batch, or the start of the interval stored open): it starts at that boundary instead
(DESIGN §4: intervals contiguous, never overlapping).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.runtime.journal import IntervalOpen
from inventory.models import StateInterval


def rows_for_batch(events: list[IntervalOpen], stored: Mapping[int, dt.datetime] | None = None
                    ) -> tuple[dict[int, dt.datetime], list[dict[str, object]]]:
    """Collapse a batch: per camera, where its stored open interval closes, and the inserts.

    Within a batch a camera's events are in order; all but its last become closed intervals.
    A change dated before a boundary already made (a midpoint before the previous change, or
    before *stored*: the start of the camera's open interval in the database) starts at that
    boundary instead, so intervals stay contiguous and never overlap. Zero-length intervals (two
    events at the same instant) keep only the later event.
    """
    per_camera: dict[int, list[IntervalOpen]] = {}
    for ev in events:
        per_camera.setdefault(ev.camera_id, []).append(ev)
    closes: dict[int, dt.datetime] = {}
    inserts: list[dict[str, object]] = []
    for cid, evs in per_camera.items():
        floor = None if stored is None else stored.get(cid)
        kept: list[IntervalOpen] = []
        for ev in evs:
            if kept:
                floor = kept[-1].start
            if floor is not None and aware(ev.start) < aware(floor):
                ev = replace(ev, start=floor)
            if kept and kept[-1].start == ev.start:
                kept[-1] = ev
            else:
                kept.append(ev)
        closes[cid] = kept[0].start
        for i, ev in enumerate(kept):
            end = kept[i + 1].start if i + 1 < len(kept) else None
            inserts.append({"camera_id": cid, "state": ev.state, "cause": ev.cause, "start": ev.start, "end": end,
                            "start_uncertainty_us": round(ev.uncertainty_s * 1_000_000)})
    return closes, inserts


async def open_starts(conn: AsyncConnection, ids: list[int]) -> dict[int, dt.datetime]:
    """The start of each camera's open interval in the database (cameras without one left out)."""
    out: dict[int, dt.datetime] = {}
    for k in range(0, len(ids), 500):
        rows = await conn.execute(select(StateInterval.camera_id, StateInterval.start).where(
            StateInterval.camera_id.in_(ids[k:k + 500]), StateInterval.end.is_(None)))
        out.update({cid: start for cid, start in rows})
    return out


def aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


__all__ = ["aware", "open_starts", "rows_for_batch"]
