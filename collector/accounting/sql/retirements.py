"""Retired cameras in the database sums, equal to the pure rule (:meth:`CameraRef.accounted_until`):
a camera retired at R contributes nothing to a window after R — neither known nor unknown time,
nor the transitions' uncertainty.

Where R comes from: a camera whose ``lifecycle`` is ``retired`` was retired at ``retired_at``,
which the inventory import writes with the lifecycle (:func:`retirement_time`; a row retired
without it, written by hand, at its ``updated_at``: its last change, at or after the retirement, so
no watched time is dropped). The loaders put it in each :class:`CameraRef`.

The grouped sums (:mod:`collector.accounting.sql.group_rates`) add up every camera over the
whole window; :func:`retirement_corrections` gives, per camera retired before the window's end,
what to take back off its group: the window after R, the online / degraded / offline time inside
it (:func:`collector.accounting.sql.exclusion_sums.inside_windows`, the timeline's own cutting
rule), and the half probe gaps of the transitions dated there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.accounting import CameraRef, from_us, to_us
from collector.accounting.sql.exclusion_sums import inside_windows
from collector.accounting.sql.span_sums import bound, stored_time
from inventory.models import Lifecycle

CHUNK = 900  # camera ids per query

# the columns :func:`retirement_time` reads, for the loaders' SELECTs (``c``: the cameras table)
RETIREMENT_COLUMNS = "c.lifecycle, c.retired_at, c.updated_at"

_UNC = """SELECT camera_id, start, start_uncertainty_us FROM state_intervals
WHERE camera_id IN :ids AND start >= :lo AND start < :hi AND start_uncertainty_us > 0"""


def retirement_time(lifecycle: str | Lifecycle, retired_at: dt.datetime | str | None,
                    updated_at: dt.datetime | str | None) -> dt.datetime | None:
    """When a camera of this ``lifecycle`` was retired (None: in service); the stored times as a
    loader reads them (SQLite through ``text()``: naive-UTC text)."""
    if Lifecycle(lifecycle) is not Lifecycle.RETIRED:
        return None
    at = retired_at if retired_at is not None else updated_at
    return None if at is None else stored_time(at)


def cut_cameras(cameras: Iterable[CameraRef], hi_us: int) -> list[CameraRef]:
    """The cameras retired before ``hi_us``: their windows end early."""
    return [c for c in cameras if c.retired and c.accounted_until(hi_us) < hi_us]


@dataclass(frozen=True, slots=True)
class Retirement:
    """What a camera retired inside (or before) the window [lo, hi) adds to the whole-window sums
    that it must not: all of it after ``max(lo, R)``."""

    camera: CameraRef
    gone_us: int  # the window's time after its retirement
    inside: tuple[int, int, int]  # its (intact, degraded, offline) µs in that time
    unc_us: int  # the half probe gaps of its transitions dated in that time


async def uncertainty_after(conn: AsyncConnection, cuts: Mapping[int, int], hi_us: int) -> dict[int, int]:
    """camera id -> the half probe gaps (µs) of its intervals starting in [cuts[id], hi)."""
    if not cuts:
        return {}
    dialect = conn.dialect.name
    sql = text(_UNC).bindparams(bindparam("ids", expanding=True, type_=Integer))
    ids = sorted(cuts)
    params = {"lo": bound(dialect, from_us(min(cuts.values()))), "hi": bound(dialect, from_us(hi_us))}
    out: dict[int, int] = {}
    for i in range(0, len(ids), CHUNK):
        for cid, start, unc in (await conn.execute(sql, {**params, "ids": ids[i:i + CHUNK]})).all():
            if to_us(stored_time(start)) >= cuts[cid]:
                out[cid] = out.get(cid, 0) + int(unc)
    return out


async def retirement_corrections(conn: AsyncConnection, cameras: Iterable[CameraRef], lo_us: int,
                                 hi_us: int) -> list[Retirement]:
    """For each of *cameras* retired before ``hi_us``: what its time after the retirement added to
    the whole-window sums of [lo, hi) (see :class:`Retirement`)."""
    cuts = {c.camera_id: (c, max(lo_us, c.accounted_until(hi_us))) for c in cut_cameras(cameras, hi_us)}
    if not cuts or hi_us <= lo_us:
        return []
    inside = await inside_windows(conn, [(cid, s, hi_us) for cid, (_, s) in cuts.items()])
    unc = await uncertainty_after(conn, {cid: s for cid, (_, s) in cuts.items()}, hi_us)
    return [Retirement(cam, hi_us - s, inside.get(cid, (0, 0, 0)), unc.get(cid, 0)) for cid, (cam, s) in cuts.items()]


__all__ = ["RETIREMENT_COLUMNS", "Retirement", "cut_cameras", "retirement_corrections", "retirement_time",
           "uncertainty_after"]
