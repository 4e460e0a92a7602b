"""A report's figures gathered from the database with the accounting's own functions.

Nothing here computes a rate: the time-weighted and intact rates are the rows of
:func:`collector.accounting.sql.rate_tables.rate_table` over the database's grouped sums
(:func:`collector.accounting.sql.group_rates.sql_group_times`, what ``camwatch rates --json``
prints), the snapshot rates the same table's snapshot method, coverage the accounting's
``village_coverage_over`` / ``township_coverage`` over the per-camera times
(:func:`collector.accounting.sql.camera_times.sql_camera_times`) as ``camwatch coverage --json``
counts them. Ranks are among the townships by the time-weighted rate (exclusions applied; ties
share a rank), compared with the previous month or quarter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from collector.accounting import (
    CameraTimes,
    Level,
    Period,
    VillageCoverage,
    index_exclusions,
    township_coverage,
    village_coverage_over,
)
from collector.accounting.ranking import ranks
from collector.accounting.sql.camera_times import sql_camera_times
from collector.accounting.sql.group_rates import GroupTimes, sql_group_times
from collector.accounting.sql.load import AccountingData, coverage_by_township, load_accounting
from collector.accounting.sql.rate_tables import Method, RateQuery, add_ranks, rate_table
from collector.reports import details
from collector.reports.completeness import completeness_figures
from collector.reports.config import ReportSettings
from collector.reports.model import SCHEMA, CompletenessRow, RegionRow, Report, ReportPeriod, VillageRow
from collector.reports.periods import is_open, previous
from collector.reports.score import score
from collector.reports.snapshot_sums import snapshot_ratios

REGION_LEVELS = (Level.COUNTY, Level.TOWNSHIP)


class Settingsish(Protocol):
    """The parts of :class:`collector.settings.Settings` a report reads."""

    @property
    def accounting(self) -> Any: ...

    @property
    def reports(self) -> ReportSettings: ...


def rank(rates: Mapping[str, float | None]) -> dict[str, int]:
    """Ranks as ``camwatch rates --rank`` gives them (:func:`collector.accounting.ranking.ranks`),
    rows without a rate left out."""
    got = ranks({k: None if v is None else Decimal(str(v)) for k, v in rates.items()})
    return {k: v for k, v in got.items() if v is not None}


def _query(level: Level, method: Method, period: Period, now: dt.datetime, settings: Settingsish) -> RateQuery:
    a = settings.accounting
    return RateQuery(level, method, period, now, a.timezone, tuple(dt.time.fromisoformat(c) for c in a.check_times))


def _rows_by_key(table: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(r["key"]): r for r in table["rows"]}


def measured_regions(cameras: Iterable[Any], times: Mapping[int, CameraTimes]) -> set[str]:
    """Villages, townships and counties with a camera that has eligible time in the period (as
    ``coverage --json``: the others have coverage None, "—", not 0% for a period not watched)."""
    out: set[str] = set()
    for c in cameras:
        t = times.get(c.camera_id)
        if t is not None and t.with_exclusions.ratio is not None:
            out.update((c.village, c.township, c.county))
    return out


def _num(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


async def _township_table(engine: Any, period: Period, now: dt.datetime, data: AccountingData,
                          settings: Settingsish) -> dict[str, Any]:
    """The previous period's township rate table (empty when it lies in the future)."""
    q = _query(Level.TOWNSHIP, Method.TIME, period, now, settings)
    if period.start >= now:
        return {"from": period.start.isoformat(), "to": period.end.isoformat(), "rows": []}
    groups = await sql_group_times(engine, period, now, exclusions=data.exclusions)
    return rate_table(data, q, groups.ratio_rows(Level.TOWNSHIP))


def _completeness(groups: GroupTimes, data: AccountingData) -> tuple[CompletenessRow, ...]:
    """Per county and township: camera-time of the period, the time known (online + offline:
    ``known_s`` of ``rates --json``) and the unknown rest, without exclusions; retired cameras' time
    after their retirement left out by the accounting (:mod:`collector.reports.completeness`)."""
    out = []
    for level in REGION_LEVELS:
        for r in groups.rows(level):
            if not r.key:
                continue
            window, known, unknown, share = completeness_figures(r.time_without_exclusions)
            out.append(CompletenessRow(str(r.key), data.names.get(str(r.key), ""), level.value, r.cameras,
                                       float(window), float(known), float(unknown), share))
    return tuple(out)


def _village_rows(villages: Sequence[VillageCoverage], measured: set[str], data: AccountingData) -> tuple[VillageRow, ...]:
    out = []
    for v in villages:
        town = data.parents.get(v.village, "")
        shown = v.shown_ratio if v.village in measured else None  # (None: not watched, or every point excluded)
        out.append(VillageRow(v.village, data.names.get(v.village, ""), town, data.names.get(town, ""), v.planned_points,
                              v.built_points, v.covered_points, None if shown is None else float(shown),
                              float(v.built_ratio), v.shown_fully_covered))
    return tuple(out)


async def build_report(engine: Any, settings: Settingsish, period: ReportPeriod, now: dt.datetime) -> Report:
    """The report of *period* as the intervals say it at *now* (month to date when not over)."""
    a = settings.accounting
    p = Period(period.start, period.end)
    data = await load_accounting(engine, p, default_target=a.target, spans=False)  # cameras, points, names, exclusions
    cams, points, names = data.cameras, data.points, data.names
    index = index_exclusions(data.exclusions)
    prev = previous(period)
    q = _query(Level.TOWNSHIP, Method.SNAPSHOT, p, now, settings)
    # independent sums, at once (PostgreSQL works on several connections)
    groups, (snap_town, snap_county), times, prev_table, causes = await asyncio.gather(
        sql_group_times(engine, p, now, exclusions=data.exclusions),
        snapshot_ratios(engine, cams, index, p, now, check_times=q.check_times, tz=q.tz, parents=data.parents),
        sql_camera_times(engine, p, now, exclusions=data.exclusions, cameras=cams),
        _township_table(engine, Period(prev.start, prev.end), now, data, settings),
        details.cause_times(engine, p, now, cams, index))
    snap_t = {Level.TOWNSHIP: {k: _num(v) for k, v in snap_town.items()},
              Level.COUNTY: {k: _num(v) for k, v in snap_county.items()}}

    tables = {lv: rate_table(data, _query(lv, Method.TIME, p, now, settings), groups.ratio_rows(lv)) for lv in REGION_LEVELS}
    add_ranks(tables[Level.TOWNSHIP], prev_table)  # rank and rank_change as `rates --rank` gives them
    time_t = {lv: _rows_by_key(t) for lv, t in tables.items()}
    intact_t = {lv: _rows_by_key(rate_table(data, _query(lv, Method.INTACT, p, now, settings), groups.ratio_rows(lv)))
                for lv in REGION_LEVELS}

    up = {cid: t.with_exclusions for cid, t in times.items()}
    villages = village_coverage_over(points, cams, up, threshold=Decimal(str(a.coverage_threshold)))
    measured = measured_regions(cams, times)
    town_cov = {c.region: c for c in coverage_by_township(data, villages)}
    county_of = {v.village: data.parents.get(data.parents.get(v.village, ""), "") for v in villages}
    county_cov = {c.region: c for c in township_coverage(villages, county_of)}
    prev_ranks = rank({str(r["key"]): r["ratio"] for r in prev_table["rows"]})

    def region_row(level: Level, key: str) -> RegionRow:
        r = time_t[level][key]
        cov = (county_cov if level is Level.COUNTY else town_cov).get(key)
        intact = intact_t[level].get(key, {})
        rk = r.get("rank") if level is Level.TOWNSHIP else None
        pk = prev_ranks.get(key) if level is Level.TOWNSHIP else None
        unc = r.get("uncertainty_pp")
        verdict_uncertain = (r["ratio"] is not None and unc is not None
                             and abs(r["ratio"] - r["target"]) * 100 <= unc)
        return RegionRow(
            code=key, name=r["name"], level=level.value, parent=data.parents.get(key, ""), cameras=r["cameras"] or 0,
            rate=r["ratio"], rate_without_exclusions=r["ratio_without_exclusions"],
            snapshot_rate=snap_t[level].get(key), intact_rate=intact.get("ratio"),
            coverage=None if cov is None or key not in measured or cov.shown_ratio is None else float(cov.shown_ratio),
            built_coverage=None if cov is None else float(cov.built_ratio),
            villages=0 if cov is None else cov.villages, fully_covered_villages=0 if cov is None else cov.fully_covered,
            target=r["target"], met=r["compliant"], rank=rk, previous_rank=pk,
            rank_change=r.get("rank_change") if level is Level.TOWNSHIP else None,
            uncertainty_pp=unc, verdict_uncertain=bool(verdict_uncertain))

    counties = tuple(region_row(Level.COUNTY, k) for k in sorted(time_t[Level.COUNTY]) if k)
    townships = tuple(region_row(Level.TOWNSHIP, k) for k in sorted(time_t[Level.TOWNSHIP]) if k)
    village_of = {c.camera_id: c.village for c in cams}
    faults = details.fault_rows(cams, times=times, causes=causes, fault_hours=settings.reports.fault_hours, names=names)
    orders = await details.work_order_rows(engine, p, now, village_of=village_of, parents=data.parents, names=names)
    exclusions = await details.exclusion_rows(engine, p, village_of=village_of, parents=data.parents, names=names)
    return Report(
        schema=SCHEMA, period=period, closed=not is_open(period, now), generated_at=now,
        fault_hours=settings.reports.fault_hours, counties=counties, townships=townships,
        villages=_village_rows(villages, measured, data), faults=faults, work_orders=orders, exclusions=exclusions,
        completeness=_completeness(groups, data),
        score=score(settings.reports.score, faults=faults, work_orders=orders, counties=counties, townships=townships),
    )


__all__ = ["build_report", "measured_regions", "rank"]
