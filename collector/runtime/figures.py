"""Region figures for the exporter, recomputed on a timer: availability windows, coverage, targets."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import Level, Period, RegionPath, target_for, township_coverage
from collector.accounting.sql.group_rates import sql_group_times
from collector.accounting.sql.load import coverage_by_township, coverage_now, current_states, load_accounting
from collector.metrics.registry import RegionFigures
from collector.runtime.slots import CameraSlot
from collector.settings import Settings

WINDOWS = {"1d": dt.timedelta(days=1), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}


def _month_start(now: dt.datetime, tz: str) -> dt.datetime:
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    return dt.datetime(local.year, local.month, 1, tzinfo=zone).astimezone(dt.UTC)


async def compute_figures(engine: AsyncEngine, settings: Settings, now: dt.datetime,
                          slots: Mapping[int, CameraSlot] | None = None) -> RegionFigures:
    """*slots*: the running scheduler's cameras (their live states give the coverage); without
    them, each camera's state at *now* is read from the stored intervals."""
    tz = settings.accounting.timezone
    month = _month_start(now, tz)
    longest = min(now - WINDOWS["30d"], month)
    # the sums are done by the database; intervals are only read when no live states exist
    data = await load_accounting(engine, Period(longest, now), default_target=settings.accounting.target,
                                 spans=slots is None)

    # the sums of each window are grouped by the database (from the daily rollups when built)
    windows = {**{k: now - d for k, d in WINDOWS.items()}, "month": month}
    window_times = {}
    for name, start in windows.items():
        window_times[name] = await sql_group_times(engine, Period(start, now), now, exclusions=data.exclusions)

    def work() -> RegionFigures:
        availability: dict[tuple[str, str, str], float] = {}
        for name, times in window_times.items():
            for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY):
                for row in times.rows(level):
                    if row.ratio is not None and row.key:
                        availability[(level.value, str(row.key), name)] = float(row.ratio)
        if slots is not None:
            states = {cid: slot.status.state.value for cid, slot in slots.items()}
        else:
            states = current_states(data, now)
        villages = coverage_now(data, states)
        coverage = {("village", v.village): float(v.ratio) for v in villages}
        for t in coverage_by_township(data, villages):
            if t.region:
                coverage[("township", t.region)] = float(t.ratio)
        # county: fully covered villages / villages, like a township
        county_of = {v.village: data.parents.get(data.parents.get(v.village, ""), "") for v in villages}
        for c in township_coverage(villages, county_of):
            if c.region:
                coverage[("county", c.region)] = float(c.ratio)
        targets: dict[tuple[str, str], float] = {}
        for code, parent in data.parents.items():
            grand = data.parents.get(parent, "")
            if grand:  # a village: county > township > village
                targets[("village", code)] = float(target_for(RegionPath(grand, parent, code), data.targets))
            else:
                targets[("township", code)] = float(target_for(RegionPath(parent, code), data.targets))
        for county in {p for p in data.parents.values() if p not in data.parents}:
            targets[("county", county)] = float(target_for(RegionPath(county), data.targets))
        names: dict[tuple[str, str], str] = {}
        for code, name in data.names.items():
            if code.startswith("camera:"):
                continue
            region_level = "village" if data.parents.get(data.parents.get(code, ""), "") else ("township" if code in data.parents else "county")
            names[(region_level, code)] = name
        return RegionFigures(names=names, availability=availability, coverage=coverage, targets=targets)

    return await asyncio.to_thread(work)
