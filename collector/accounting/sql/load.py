"""Rates and coverage from the database: load what a period needs, hand it to the pure accounting.

The database does the filtering (only intervals and exclusions that overlap the period are
read); :mod:`collector.accounting` does the arithmetic, exactly.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import (
    CameraRef,
    ExclusionSpan,
    Level,
    Period,
    PointRef,
    RateRow,
    RegionCoverage,
    SnapshotRow,
    StateSpan,
    Targets,
    VillageCoverage,
    camera_times,
    rates_by,
    snapshot_rates_by,
    township_coverage,
    village_coverage,
    village_coverage_over,
)
from collector.accounting.sql.retirements import retirement_time
from inventory.models import Camera, Exclusion, Lifecycle, Point, Region, StateInterval


@dataclass(frozen=True, slots=True)
class AccountingData:
    cameras: tuple[CameraRef, ...]
    points: tuple[PointRef, ...]
    spans: tuple[StateSpan, ...]
    exclusions: tuple[ExclusionSpan, ...]
    names: Mapping[str, str]  # region code -> name; "camera:<id>" -> camera name
    parents: Mapping[str, str]  # region code -> parent code
    targets: Targets


async def load_accounting(engine: AsyncEngine, period: Period, *, default_target: float = 0.95,
                          spans: bool = True, cameras: bool = True, camera_names: bool = True) -> AccountingData:
    """What the accounting of *period* needs; ``spans=False`` skips the state intervals, for
    callers that let the database sum them (:mod:`collector.accounting.sql.camera_times`); ``cameras=False``
    skips cameras and points too (region-level rates summed by the database need only the
    regions, their names and targets, and the exclusions); ``camera_names=False`` leaves the cameras'
    names out of ``names`` (the region figures, kept as long as a collector runs, never show them)."""
    async with engine.connect() as conn:
        regions = (await conn.execute(select(Region.code, Region.name, Region.parent_code, Region.target))).all()
        points = [] if not cameras else (
            await conn.execute(select(Point.id, Point.village_code, Point.planned, Point.retired))).all()
        cams = [] if not cameras else (await conn.execute(
            select(Camera.id, Camera.name, Camera.point_id, Camera.contractor, Camera.lifecycle, Camera.retired_at,
                   Camera.updated_at))).all()
        span_rows = [] if not spans else (await conn.execute(
            select(StateInterval.camera_id, StateInterval.state, StateInterval.start, StateInterval.end,
                   StateInterval.start_uncertainty_us)
            .where(StateInterval.start < period.end, or_(StateInterval.end.is_(None), StateInterval.end > period.start))
            .order_by(StateInterval.id)  # equal starts: the later row wins, as in the SQL path
        )).all()
        excl = (await conn.execute(
            select(Exclusion.start, Exclusion.end, Exclusion.camera_id, Exclusion.region_code)
            .where(Exclusion.start < period.end, Exclusion.end > period.start, Exclusion.counted())
        )).all()
    names = {code: name for code, name, _, _ in regions}
    parents = {code: parent for code, _, parent, _ in regions if parent}
    # one object for each village code and point id, however many points and cameras refer to it
    # (the region figures keep these as long as a collector runs)
    code = {c: c for c in names}
    village_of = {pid: code.get(village, village) for pid, village, _, _ in points}
    point_id = {pid: pid for pid in village_of}
    camera_refs = []
    intern = sys.intern  # (one copy of a contractor's name for all its cameras)
    for cid, cname, pid, contractor, lifecycle, retired_at, updated_at in cams:
        village = village_of.get(pid, "")
        township = parents.get(village, "")
        county = parents.get(township, "")
        if camera_names:
            names[f"camera:{cid}"] = cname
        at = retirement_time(lifecycle, retired_at, updated_at)  # (None: in service)
        camera_refs.append(CameraRef(cid, point_id.get(pid, pid), village, township, county,
                                     None if contractor is None else intern(contractor),
                                     retired=Lifecycle(lifecycle) is Lifecycle.RETIRED, retired_at=at))
    point_refs = tuple(PointRef(point_id[pid], village_of[pid], bool(planned)) for pid, _, planned, retired in points
                       if not retired)
    targets = Targets(
        default=Decimal(str(default_target)),
        regions={code: Decimal(str(t)) for code, _, _, t in regions if t is not None},
    )
    return AccountingData(
        tuple(camera_refs), point_refs,
        tuple(StateSpan(cid, state, start, end, unc) for cid, state, start, end, unc in span_rows),
        tuple(ExclusionSpan(s, e, cid, rc) for s, e, cid, rc in excl),
        names, parents, targets,
    )


def time_rates(data: AccountingData, level: Level, period: Period, now: dt.datetime) -> tuple[RateRow, ...]:
    return rates_by(level, data.cameras, data.spans, data.exclusions, period, now)


def snapshot_rates(data: AccountingData, level: Level, period: Period, now: dt.datetime, *, tz: str,
                   check_times: tuple[dt.time, ...], apply_exclusions: bool = True) -> tuple[SnapshotRow, ...]:
    return snapshot_rates_by(level, data.cameras, data.spans, data.exclusions, period, now,
                             check_times=check_times, tz=tz, apply_exclusions=apply_exclusions)


def coverage_now(data: AccountingData, states: Mapping[int, str]) -> tuple[VillageCoverage, ...]:
    return village_coverage(data.points, data.cameras, states)


def coverage_over(data: AccountingData, period: Period, now: dt.datetime) -> tuple[VillageCoverage, ...]:
    times = camera_times(data.cameras, data.spans, data.exclusions, period, now)
    return village_coverage_over(data.points, data.cameras, {cid: t.with_exclusions for cid, t in times.items()})


def coverage_by_township(data: AccountingData, villages: tuple[VillageCoverage, ...]) -> tuple[RegionCoverage, ...]:
    return township_coverage(villages, {v.village: data.parents.get(v.village, "") for v in villages})


def current_states(data: AccountingData, now: dt.datetime) -> dict[int, str]:
    """Each camera's state at *now* from the stored intervals (the last one open at now)."""
    out: dict[int, tuple[dt.datetime, str]] = {}
    for s in data.spans:
        if s.start <= now and (s.end is None or s.end > now):
            prev = out.get(s.camera_id)
            if prev is None or s.start >= prev[0]:
                out[s.camera_id] = (s.start, s.state)
    return {cid: st for cid, (_, st) in out.items()}


__all__ = [
    "AccountingData", "load_accounting", "time_rates", "snapshot_rates", "coverage_now", "coverage_over",
    "coverage_by_township", "current_states",
]
