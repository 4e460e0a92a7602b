"""Region figures for the exporter (and the console): availability windows, the local day so far
(the console's today bar, summed at the same instant as the month) and targets from the database
on a timer, coverage from the live states every few seconds.

Nothing is shown before it is known: until the first computation the region families other
than the live counts are absent (never a made-up 0 or default target); a village's coverage is
absent while one of its monitored cameras is still unknown (after a start, until the catch-up
has probed it), and so is its township's and county's. The scheduler's slots are read on the
event loop only (:func:`live_states` takes a snapshot); the sums run in a worker thread on that
snapshot, never on the dict the loop is changing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import Level, Period, RegionPath, target_for, township_coverage
from collector.accounting.plan import CameraPlan
from collector.accounting.sql.group_rates import GroupTimes, sql_group_times
from collector.accounting.sql.load import AccountingData, current_states, load_accounting
from collector.metrics.registry import RegionFigures, fleet_counts
from collector.runtime.camera_state import State
from collector.runtime.slots import CameraSlot
from collector.settings import Settings
from inventory.monitored import MonitoredCamera

WINDOWS = {"1d": dt.timedelta(days=1), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}
COVERAGE_S = 10.0  # coverage is recomputed from the live states this often: a change shows within it
UNKNOWN = State.UNKNOWN.value


def _month_start(now: dt.datetime, tz: str) -> dt.datetime:
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    return dt.datetime(local.year, local.month, 1, tzinfo=zone).astimezone(dt.UTC)


def _day_start(now: dt.datetime, tz: str) -> dt.datetime:
    zone = ZoneInfo(tz)
    return dt.datetime.combine(now.astimezone(zone).date(), dt.time(), zone).astimezone(dt.UTC)


# Each camera's state now as the database has it: its last interval, when still open. One index
# probe per camera (ix_state_intervals_camera_start), whatever the table's length (PostgreSQL).
_STORED_STATES = text(
    'SELECT c.id, s.state FROM cameras AS c CROSS JOIN LATERAL (SELECT i.state, i."end" FROM state_intervals AS i'
    ' WHERE i.camera_id = c.id ORDER BY i.start DESC LIMIT 1) AS s WHERE s."end" IS NULL')


async def stored_states(engine: AsyncEngine) -> dict[int, str]:
    """Each camera's state now from its open interval in the database (replicas: how the leader
    sees the cameras of the other replicas' shards; written by their owners with each batch)."""
    async with engine.connect() as conn:
        return {int(cid): str(state) for cid, state in await conn.execute(_STORED_STATES)}


def live_states(slots: Mapping[int, CameraSlot]) -> dict[int, str]:
    """Each monitored camera's state now (its real one, excluded or not). Call on the event loop:
    the scheduler changes *slots* there; the copy can then go to a thread."""
    return {cid: slot.status.state.value for cid, slot in slots.items()}


@dataclass(frozen=True, slots=True)
class StoredFigures:
    """The slow part, read from the database on a timer: the plan (points, cameras, regions),
    availability windows, targets and names."""

    plan: CameraPlan
    parents: Mapping[str, str]  # region code -> parent code
    figures: RegionFigures  # without coverage


async def load_stored(engine: AsyncEngine, settings: Settings, now: dt.datetime) -> StoredFigures:
    return (await _load(engine, settings, now, spans=False))[1]


async def _load(engine: AsyncEngine, settings: Settings, now: dt.datetime, *,
                spans: bool) -> tuple[AccountingData, StoredFigures]:
    """*spans*: also read the intervals (for :func:`current_states` when no live states exist)."""
    tz = settings.accounting.timezone
    month = _month_start(now, tz)
    longest = min(now - WINDOWS["30d"], month)
    # the sums are done by the database; intervals are only read when no live states exist
    data = await load_accounting(engine, Period(longest, now), default_target=settings.accounting.target, spans=spans,
                                 camera_names=False)
    # the sums of each window are grouped by the database (from the daily rollups when built)
    windows = {**{k: now - d for k, d in WINDOWS.items()}, "month": month}
    window_times = {}
    for name, start in windows.items():
        window_times[name] = await sql_group_times(engine, Period(start, now), now, exclusions=data.exclusions)
    # the local day so far, at the same instant as the month (the console's today bar must agree
    # with the month's rate when they cover the same time; on the 1st they are the same sums)
    day = _day_start(now, tz)
    today_times = window_times["month"] if day == month else await sql_group_times(
        engine, Period(day, now), now, exclusions=data.exclusions)

    def work() -> RegionFigures:
        availability: dict[tuple[str, str, str], float] = {}
        for name, times in window_times.items():
            for level, code, ratio in _ratios(times):
                availability[(level, code, name)] = ratio
        today = {(level, code): ratio for level, code, ratio in _ratios(today_times)}
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
        return RegionFigures(names=names, availability=availability, today=today, coverage={}, targets=targets,
                             computed_at=now)

    plan = CameraPlan.of(data.points, data.cameras)
    return data, StoredFigures(plan, data.parents, await asyncio.to_thread(work))


def _ratios(times: GroupTimes) -> list[tuple[str, str, float]]:
    """(level, code, ratio) of every village, township and county with a rate."""
    return [(level.value, str(row.key), float(row.ratio)) for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY)
            for row in times.rows(level) if row.ratio is not None and row.key]


def coverage_of(stored: StoredFigures, states: Mapping[int, str]) -> dict[tuple[str, str], float]:
    """Coverage now per village, township and county (pure: run it in a thread on a snapshot).

    A village is left out while one of its cameras is unknown in *states* (a camera missing from
    *states* is not monitored and counts as not covering); a township or county while one of its
    villages is left out: absent, never a wrong figure."""
    unsure = stored.plan.villages_with(states, UNKNOWN)
    villages = stored.plan.coverage(states)
    coverage: dict[tuple[str, str], float] = {("village", v.village): float(v.ratio) for v in villages
                                              if v.village not in unsure}
    parent = stored.parents
    unsure_up = {parent.get(v, "") for v in unsure} | {parent.get(parent.get(v, ""), "") for v in unsure}
    # township: fully covered villages / villages with a planned point
    for t in township_coverage(villages, {v.village: parent.get(v.village, "") for v in villages}):
        if t.region and t.region not in unsure_up:
            coverage[("township", t.region)] = float(t.ratio)
    # county: fully covered villages / villages, like a township
    county_of = {v.village: parent.get(parent.get(v.village, ""), "") for v in villages}
    for c in township_coverage(villages, county_of):
        if c.region and c.region not in unsure_up:
            coverage[("county", c.region)] = float(c.ratio)
    return coverage


async def with_coverage(stored: StoredFigures, states: Mapping[int, str]) -> RegionFigures:
    """The stored figures with coverage for *states* (a snapshot: see :func:`live_states`)."""
    coverage = await asyncio.to_thread(coverage_of, stored, states)
    return replace(stored.figures, coverage=coverage)


async def fleet_figures(engine: AsyncEngine, stored: StoredFigures, slots: Mapping[int, CameraSlot],
                        cameras: Sequence[MonitoredCamera], excluded: AbstractSet[int], *, counted: bool) -> RegionFigures:
    """Replicas: the figures over the whole fleet, each camera's state from the database's open
    intervals (:func:`stored_states`) overlaid with this replica's own slots (read after: fresher).
    *counted* (the leader): also the cameras by status per region, which it alone exports."""
    states = await stored_states(engine)
    states.update(live_states(slots))
    figures = await with_coverage(stored, states)
    if not counted:
        return figures
    counts, names = await asyncio.to_thread(fleet_counts, cameras, states, excluded)
    return replace(figures, counts=counts, names={**names, **figures.names})


async def compute_figures(engine: AsyncEngine, settings: Settings, now: dt.datetime,
                          slots: Mapping[int, CameraSlot] | None = None) -> RegionFigures:
    """Everything at once. *slots*: the running scheduler's cameras, read here on the event loop
    before anything is awaited; without them each camera's state at *now* comes from the stored
    intervals."""
    states = None if slots is None else live_states(slots)
    data, stored = await _load(engine, settings, now, spans=states is None)
    return await with_coverage(stored, current_states(data, now) if states is None else states)


__all__ = ["COVERAGE_S", "StoredFigures", "compute_figures", "coverage_of", "fleet_figures", "live_states", "load_stored",
           "stored_states", "with_coverage"]
