"""Rates and coverage from the database: load what a period needs, hand it to the pure accounting.

The database does the filtering (only the intervals that can add time to the period, and the
exclusions that overlap it, are read); :mod:`collector.accounting` does the arithmetic, exactly.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select, text
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
from collector.accounting.coverage import DEFAULT_THRESHOLD
from collector.accounting.sql.entries import monitoring_starts
from collector.accounting.sql.retirements import retirement_time
from collector.accounting.sql.span_sums import bound, relevant_spans, stored_time
from inventory.models import Camera, Exclusion, Lifecycle, Point, Region

# The spans that can add time to the period (:func:`relevant_spans`; not every span overlapping it:
# an open span that a later one, ended before the period, cuts must not run on into it): each
# camera's span in force at the period's start, then those starting in it by id (equal starts:
# the later row wins, as in the SQL path; the first part starts before every one of the second).
# Two reads, not one union sorted by id: PostgreSQL reads the second through the primary key in
# order, where the union's sort of a month of a large fleet spills to disk (measured: 1.2 s
# instead of 2.0-2.3 s at 100k cameras, 2.9 M intervals).
_COLUMNS = 'SELECT camera_id, state, start, "end", start_uncertainty_us FROM ({}) r'
_SPANS = {d: (text(_COLUMNS.format(relevant_spans(d, ("start_uncertainty_us",), parts="in_force"))),
              text(_COLUMNS.format(relevant_spans(d, ("start_uncertainty_us",), parts="inside")) + " ORDER BY id"))
          for d in ("sqlite", "postgresql")}


@dataclass(frozen=True, slots=True)
class AccountingData:
    cameras: tuple[CameraRef, ...]
    points: tuple[PointRef, ...]
    spans: tuple[StateSpan, ...]
    exclusions: tuple[ExclusionSpan, ...]
    names: Mapping[str, str]  # region code -> name; "camera:<id>" -> camera name; "point:<id>" -> point name
    parents: Mapping[str, str]  # region code -> parent code
    targets: Targets


async def load_accounting(engine: AsyncEngine, period: Period, *, default_target: float = 0.95,
                          spans: bool = True, cameras: bool = True, camera_names: bool = True) -> AccountingData:
    """What the accounting of *period* needs; ``spans=False`` skips the state intervals, for
    callers that let the database sum them (:mod:`collector.accounting.sql.camera_times`); ``cameras=False``
    skips cameras and points too (region-level rates summed by the database need only the
    regions, their names and targets, and the exclusions); ``camera_names=False`` leaves the cameras'
    and points' names out of ``names`` (the region figures, kept as long as a collector runs, never
    show them). A point's name is under ``point:<id>`` (a camera's ``camera:<id>``): never a bare id,
    which a region code could equal."""
    async with engine.connect() as conn:
        regions = (await conn.execute(select(Region.code, Region.name, Region.parent_code, Region.target))).all()
        points = [] if not cameras else (
            await conn.execute(select(Point.id, Point.village_code, Point.planned, Point.retired, Point.name))).all()
        cams = [] if not cameras else (await conn.execute(
            select(Camera.id, Camera.name, Camera.point_id, Camera.contractor, Camera.lifecycle, Camera.retired_at,
                   Camera.updated_at))).all()
        starts = await monitoring_starts(conn, period.start) if cameras else {}  # (those entered inside the period)
        span_rows: list[Any] = []
        if spans:
            bounds = {"lo": bound(conn.dialect.name, period.start), "hi": bound(conn.dialect.name, period.end)}
            for sql in _SPANS[conn.dialect.name]:
                span_rows.extend((await conn.execute(sql, bounds)).all())
        excl = (await conn.execute(
            select(Exclusion.start, Exclusion.end, Exclusion.camera_id, Exclusion.region_code)
            .where(Exclusion.start < period.end, Exclusion.end > period.start, Exclusion.counted())
        )).all()
    names = {code: name for code, name, _, _ in regions}
    parents = {code: parent for code, _, parent, _ in regions if parent}
    # one object for each village code and point id, however many points and cameras refer to it
    # (the region figures keep these as long as a collector runs)
    code = {c: c for c in names}
    village_of = {pid: code.get(village, village) for pid, village, _, _, _ in points}
    if camera_names:
        names.update((f"point:{pid}", pname) for pid, _, _, _, pname in points)
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
                                     retired=Lifecycle(lifecycle) is Lifecycle.RETIRED, retired_at=at,
                                     monitored_from=starts.get(cid)))
    point_refs = tuple(PointRef(point_id[pid], village_of[pid], bool(planned)) for pid, _, planned, retired, _ in points
                       if not retired)
    targets = Targets(
        default=Decimal(str(default_target)),
        regions={code: Decimal(str(t)) for code, _, _, t in regions if t is not None},
    )
    return AccountingData(
        tuple(camera_refs), point_refs,
        tuple(StateSpan(cid, state, stored_time(start), stored_time(end), unc) for cid, state, start, end, unc in span_rows),
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


def coverage_over(data: AccountingData, period: Period, now: dt.datetime, *,
                  threshold: Fraction | Decimal | float = DEFAULT_THRESHOLD) -> tuple[VillageCoverage, ...]:
    times = camera_times(data.cameras, data.spans, data.exclusions, period, now)
    return village_coverage_over(data.points, data.cameras, {cid: t.with_exclusions for cid, t in times.items()},
                                 threshold=threshold)


def coverage_by_township(data: AccountingData, villages: tuple[VillageCoverage, ...]) -> tuple[RegionCoverage, ...]:
    return township_coverage(villages, {v.village: data.parents.get(v.village, "") for v in villages})


def current_states(data: AccountingData, now: dt.datetime) -> dict[int, str]:
    """Each camera's state at *now* from the stored intervals, by the timeline's rule: its last
    span starting by now (of equal starts the later read), when that one has not ended by now (an
    older open span is cut by it, and so is no state now). *data* read for a period reaching now."""
    last: dict[int, StateSpan] = {}
    for s in data.spans:
        if s.start <= now:
            prev = last.get(s.camera_id)
            if prev is None or s.start >= prev.start:
                last[s.camera_id] = s
    return {cid: s.state for cid, s in last.items() if s.end is None or s.end > now}


__all__ = [
    "AccountingData", "load_accounting", "time_rates", "snapshot_rates", "coverage_now", "coverage_over",
    "coverage_by_township", "current_states",
]
