"""Region and contractor rates summed in the database, equal to the pure :func:`rates_by`.

The per-camera sums (from the daily rollups when they are built, else from the intervals) are
grouped in SQL by (village, township, county, contractor), so a county of 100k cameras sends
back one row per village and contractor instead of one per camera. Cameras without rollup rows
are added from their own spans with the pure accounting. An excluded camera's time inside its
exclusion windows is summed by the database too (:mod:`collector.accounting.sql.exclusion_sums`)
and taken off its group; so is a retired camera's time after its retirement, window included
(:mod:`collector.accounting.sql.retirements`), and the window before a camera entered monitoring
(:mod:`collector.accounting.sql.entries`: none of its states lies there). The rows are the pure
ones: same cameras counted, same exact sums, same rounding.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import (
    CameraRef,
    CameraTime,
    ExclusionIndex,
    Exclusions,
    Level,
    Period,
    RateRow,
    aggregate,
    camera_times,
    from_us,
    group_by,
    index_exclusions,
    round_us_ratio,
    time_from_us,
    to_us,
)
from collector.accounting.sql.camera_times import (
    PG_PARTS,
    excluded_cameras,
    load_camera_refs,
    load_spans,
    sql_camera_times,
)
from collector.accounting.sql.entries import late_us, monitoring_starts
from collector.accounting.sql.exclusion_sums import inside_windows
from collector.accounting.sql.retirements import Retirement, retirement_corrections
from collector.accounting.sql.rollup_sums import MIN_COVERED_SHARE, built_days, make_plan, missing_sql, per_camera_ctes
from collector.accounting.sql.span_sums import bound, tune_for_sums, window_params, window_sums_ctes
from collector.accounting.sql.statistics import refresh_statistics
from collector.accounting.sql.uncertainty_sums import camera_uncertainty, group_uncertainty

# (village, township, county, contractor) as load_camera_refs builds a camera's
GroupKey = tuple[str, str, str, str | None]


def _key(cam: CameraRef) -> GroupKey:
    return cam.village, cam.township, cam.county, cam.contractor


class _GroupRow(NamedTuple):
    """A row of the grouped query: a group's cameras, how many have sums, their microseconds."""

    key: GroupKey
    cameras: int
    summed: int
    intact: int
    degraded: int
    down: int
    unc: int  # the transitions' half probe gaps (from the rollups; 0 from the intervals: summed apart)


_GROUPED = """
SELECT p.village_code, t.code, t.parent_code, c.contractor, COUNT(*) AS cameras, COUNT(pc.camera_id) AS summed,
       COALESCE(SUM(pc.intact), 0), COALESCE(SUM(pc.degraded), 0), COALESCE(SUM(pc.down), 0),
       COALESCE(SUM(pc.unc), 0)
FROM cameras c
LEFT JOIN points p ON p.id = c.point_id
LEFT JOIN regions v ON v.code = p.village_code
LEFT JOIN regions t ON t.code = v.parent_code
LEFT JOIN per_cam pc ON pc.camera_id = c.id
{where}
GROUP BY p.village_code, t.code, t.parent_code, c.contractor"""


class _Acc:
    """Integer microseconds of a group: raw (no exclusions) and with exclusions applied."""

    __slots__ = ("cameras", "intact", "degraded", "down", "x_intact", "x_degraded", "x_down", "x_excluded", "unc",
                 "gone", "late")

    def __init__(self) -> None:
        self.cameras = 0
        self.intact = self.degraded = self.down = 0
        self.x_intact = self.x_degraded = self.x_down = self.x_excluded = 0
        self.unc = 0  # the transitions' half probe gaps (the same with and without exclusions)
        self.gone = 0  # the window after its retired cameras' retirements: no part of the group's time
        self.late = 0  # the window before its cameras entered monitoring: no part of it either

    def window(self, window_us: int) -> int:
        """The group's accounted time: the window times its cameras, less the retired ones' after
        and the time before each entered monitoring."""
        return self.cameras * window_us - self.gone - self.late

    def add(self, cameras: int, raw: tuple[int, int, int], applied: tuple[int, int, int], excluded: int = 0) -> None:
        """Add cameras' (intact, degraded, down) microseconds without and with exclusions."""
        self.cameras += cameras
        self.intact, self.degraded, self.down = self.intact + raw[0], self.degraded + raw[1], self.down + raw[2]
        self.x_intact, self.x_degraded, self.x_down = (self.x_intact + applied[0], self.x_degraded + applied[1],
                                                       self.x_down + applied[2])
        self.x_excluded += excluded

    def merge(self, o: _Acc) -> None:
        self.add(o.cameras, (o.intact, o.degraded, o.down), (o.x_intact, o.x_degraded, o.x_down), o.x_excluded)
        self.unc, self.gone, self.late = self.unc + o.unc, self.gone + o.gone, self.late + o.late


def _us(t: CameraTime) -> tuple[tuple[int, int, int], int]:
    """((intact, degraded, down), excluded) microseconds of a pure CameraTime."""
    def us(v: Decimal) -> int:
        return int(v.scaleb(6))
    intact = us(t.intact_s)
    return (intact, us(t.online_s) - intact, us(t.offline_s)), us(t.excluded_s)


# where a level's key sits in a GroupKey
_KEY_INDEX = {Level.VILLAGE: 0, Level.TOWNSHIP: 1, Level.COUNTY: 2, Level.CONTRACTOR: 3}


@dataclass(frozen=True, slots=True)
class GroupTimes:
    """Sums per (village, township, county, contractor) group over the window [lo, hi)."""

    window_us: int
    groups: Mapping[GroupKey, _Acc]

    def _merged(self, level: Level | str) -> tuple[Level, list[tuple[str, _Acc]]]:
        """The groups summed per key at ``level``, sorted by key."""
        lvl = Level(level)
        if lvl in (Level.CAMERA, Level.POINT):
            raise ValueError(f"{lvl} rows need per-camera times (sql_camera_times)")
        at = _KEY_INDEX[lvl]
        by_key: dict[str, list[tuple[GroupKey, _Acc]]] = group_by(self.groups.items(), lambda item: item[0][at])
        out = []
        for key in sorted(by_key):
            groups = by_key[key]
            if len(groups) == 1:
                a = groups[0][1]
            else:
                a = _Acc()
                for _, one in groups:
                    a.merge(one)
            out.append((key, a))
        return lvl, out

    def rows(self, level: Level | str) -> tuple[RateRow, ...]:
        """Rate rows at a region or contractor level, equal to ``aggregate`` over the cameras."""
        lvl, merged = self._merged(level)
        out = []
        w = self.window_us
        for key, a in merged:
            ratios = _ratios(a)
            applied = time_from_us(a.window(w), a.x_intact, a.x_degraded, a.x_down, a.x_excluded, a.unc)
            raw = applied if _untouched(a) else time_from_us(a.window(w), a.intact, a.degraded, a.down, 0, a.unc)
            out.append(RateRow(lvl, key, a.cameras, applied, raw, *ratios))
        return tuple(out)

    def ratio_rows(self, level: Level | str) -> tuple[RatioRow, ...]:
        """The same rows without the times (what a rate table shows): no Decimal seconds made."""
        _, merged = self._merged(level)
        w = self.window_us
        return tuple(RatioRow(key, a.cameras, *_ratios(a), *_uncertainties(a),
                              a.intact + a.degraded + a.down, a.window(w)) for key, a in merged)


class RatioRow(NamedTuple):
    """A rate row's key, camera count and rounded ratios (as in :class:`RateRow`)."""

    key: str
    cameras: int
    ratio: Decimal | None
    intact_ratio: Decimal | None
    ratio_without_exclusions: Decimal | None
    intact_ratio_without_exclusions: Decimal | None
    uncertainty: Decimal | None = None  # ± of the ratios with exclusions (rounded as they are)
    uncertainty_without_exclusions: Decimal | None = None
    known_us: int = 0  # time the state was known (online + offline, exclusions not applied)
    total_us: int = 0  # the window times the cameras (a retired camera's only to its retirement)


def _uncertainties(a: _Acc) -> tuple[Decimal | None, Decimal | None]:
    """± of the ratios with exclusions applied, then without: half gaps / eligible time."""
    x_elig = a.x_intact + a.x_degraded + a.x_down
    return round_us_ratio(a.unc, x_elig), round_us_ratio(a.unc, a.intact + a.degraded + a.down)


def _untouched(a: _Acc) -> bool:
    """No exclusion in this group: its times with and without exclusions are the same."""
    return a.x_excluded == 0 and a.x_intact == a.intact and a.x_degraded == a.degraded and a.x_down == a.down


def _ratios(a: _Acc) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
    """(ratio, intact ratio) with exclusions applied, then without."""
    x_up = a.x_intact + a.x_degraded
    x_elig = x_up + a.x_down
    x_ratio, x_intact = round_us_ratio(x_up, x_elig), round_us_ratio(a.x_intact, x_elig)
    if _untouched(a):
        return x_ratio, x_intact, x_ratio, x_intact
    elig = a.intact + a.degraded + a.down
    return x_ratio, x_intact, round_us_ratio(a.intact + a.degraded, elig), round_us_ratio(a.intact, elig)


async def _grouped(engine: AsyncEngine, ctes: str, params: dict[str, object], where: str = "") -> list[_GroupRow]:
    async with engine.connect() as conn:
        await tune_for_sums(conn)
        rows = (await conn.execute(text(f"WITH {ctes}\n{_GROUPED.format(where=where)}"), params)).all()
        await conn.rollback()
    return [_GroupRow((village or "", township or "", county or "", contractor), int(cameras), int(summed),
                      int(intact), int(degraded), int(down), int(unc))
            for village, township, county, contractor, cameras, summed, intact, degraded, down, unc in rows]


async def _interval_groups(engine: AsyncEngine, lo: dt.datetime, hi: dt.datetime) -> list[_GroupRow]:
    dialect = engine.dialect.name
    params = window_params(dialect, "lo", "hi", lo, hi)
    ctes = window_sums_ctes(dialect).strip() + ",\nper_cam AS (SELECT camera_id, intact, degraded, down, 0 AS unc FROM s)"
    if dialect == "sqlite":
        return await _grouped(engine, ctes, params)
    return await _in_parts(engine, ctes, params)


async def _in_parts(engine: AsyncEngine, ctes: str, params: dict[str, object]) -> list[_GroupRow]:
    """PostgreSQL: the grouped query over ``PG_PARTS`` camera id ranges at once, one connection
    each (a group split between two ranges comes back twice; the caller adds them up)."""
    fractions = ", ".join(str(k / PG_PARTS) for k in range(PG_PARTS))
    async with engine.connect() as conn:  # the ids that split the cameras into equal parts
        row = (await conn.execute(text(
            f"SELECT percentile_disc(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY id), max(id) FROM cameras"))).one()
    if row[1] is None:
        return []
    cuts = [*row[0], row[1] + 1]
    parts = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]
    where = "WHERE c.id >= :c0 AND c.id < :c1"
    results = await asyncio.gather(*(_grouped(engine, ctes, {**params, "c0": a, "c1": b}, where) for a, b in parts))
    return [row for part in results for row in part]


async def sql_group_times(engine: AsyncEngine, period: Period, now: dt.datetime, *,
                          exclusions: Exclusions, use_rollups: bool = True) -> GroupTimes:
    """Every group's time over ``period`` up to ``now``, with and without exclusions
    (``use_rollups=False``: from the intervals only, for comparisons)."""
    await refresh_statistics(engine)  # (PostgreSQL: plans without statistics take minutes)
    index = index_exclusions(exclusions)
    dialect = engine.dialect.name
    lo, hi = period.start, min(period.end, now)
    lo_us, hi_us = to_us(lo), max(to_us(hi), to_us(lo))
    window = hi_us - lo_us
    if window <= 0:  # every camera counted, nothing summed
        no_sums = ("per_cam AS (SELECT id AS camera_id, 0 AS intact, 0 AS degraded, 0 AS down, 0 AS unc"
                   " FROM cameras WHERE 1 = 0)")
        return GroupTimes(0, _groups(await _grouped(engine, no_sums, {})))
    plan = None
    if use_rollups:
        async with engine.connect() as conn:
            plan = make_plan(await built_days(conn), lo, hi)
    # The exclusion corrections do not depend on the sums: computed while the database sums; so
    # is the transitions' uncertainty when the intervals answer (the rollups carry their own).
    corrections_task = asyncio.ensure_future(_exclusion_corrections(engine, index, lo_us, hi_us))
    cuts_task = asyncio.ensure_future(_cuts(engine, lo, lo_us, hi_us))
    from_intervals = plan is None
    uncertainty_task = asyncio.ensure_future(group_uncertainty(engine, lo, hi) if from_intervals else _nothing())
    try:
        rows: list[_GroupRow] = []
        total = summed = 0
        if plan is not None:
            if dialect == "postgresql":
                rows = await _in_parts(engine, per_camera_ctes(dialect, plan, camera_range=True), plan.params(dialect))
            else:
                rows = await _grouped(engine, per_camera_ctes(dialect, plan), plan.params(dialect))
            total, summed = sum(r.cameras for r in rows), sum(r.summed for r in rows)
            if total and summed / total < MIN_COVERED_SHARE:
                plan = None  # too few cameras with rows: the intervals are cheaper than the fallbacks
        if plan is None:
            rows = await _interval_groups(engine, lo, hi)
        corrections = await corrections_task
        retirements, late = await cuts_task
        uncertainty = await uncertainty_task
        if plan is None and not from_intervals:
            uncertainty = await group_uncertainty(engine, lo, hi)  # the rollups turned out too sparse
    finally:
        for task in (corrections_task, cuts_task, uncertainty_task):
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    groups = _groups(rows)
    # cameras without rollup rows: summed from their own spans (their exclusions included)
    pure: list[CameraRef] = []
    if plan is not None and summed < total:
        async with engine.connect() as conn:
            missing = list((await conn.execute(text(missing_sql(plan)), plan.params(dialect))).scalars())
            pure = list(await load_camera_refs(conn, ids=missing, since=lo)) if missing else []
            spans_of_pure = await load_spans(conn, [c.camera_id for c in pure], bound(dialect, lo), bound(dialect, hi)) if pure else []
    unsummed = {c.camera_id for c in pure}
    for cam, excluded_us, (i_intact, i_degraded, i_down) in corrections:
        if cam.camera_id in unsummed:
            continue
        back = (-i_intact, -i_degraded, -i_down)
        groups.setdefault(_key(cam), _Acc()).add(0, (0, 0, 0), back, excluded_us)
    if pure:
        times = camera_times(pure, spans_of_pure, index, period, now)
        pure_unc = await camera_uncertainty(engine, lo, hi, ids=[c.camera_id for c in pure])
        for cam in pure:
            acc = groups.setdefault(_key(cam), _Acc())
            t = times[cam.camera_id]  # (already counted by the grouped query; its spans carry no ±)
            acc.add(0, _us(t.without_exclusions)[0], *_us(t.with_exclusions))
            acc.unc += pure_unc.get(cam.camera_id, 0)
    for key, unc in uncertainty.items():
        groups.setdefault(key, _Acc()).unc += unc
    for r in retirements:  # the time after a retirement, summed above, taken back off
        acc = groups.setdefault(_key(r.camera), _Acc())
        acc.gone += r.gone_us
        acc.unc -= r.unc_us
        if r.camera.camera_id not in unsummed:  # (those came from the pure rule: already cut)
            back = (-r.inside[0], -r.inside[1], -r.inside[2])
            acc.add(0, back, back)
    for cam, us in late:  # the window before a camera entered monitoring (summed above: nothing in it)
        groups.setdefault(_key(cam), _Acc()).late += us
    return GroupTimes(window, groups)


async def _cuts(engine: AsyncEngine, lo: dt.datetime, lo_us: int, hi_us: int
                ) -> tuple[list[Retirement], list[tuple[CameraRef, int]]]:
    """What the cameras retired before the window's end added to the sums after their retirement;
    the cameras that entered monitoring inside the window, each with the window's time before that
    (to its retirement at most: the rest is the retirement's)."""
    async with engine.connect() as conn:
        gone = await retirement_corrections(conn, await load_camera_refs(conn, retired=True, since=lo), lo_us, hi_us)
        starts = await monitoring_starts(conn, lo)
        late = await load_camera_refs(conn, ids=starts, since=lo) if starts else ()
    return gone, [(c, us) for c in late if (us := late_us(c, lo_us, hi_us)) > 0]


async def _nothing() -> dict[GroupKey, int]:
    return {}


async def _exclusion_corrections(engine: AsyncEngine, index: ExclusionIndex, lo_us: int, hi_us: int
                                 ) -> list[tuple[CameraRef, int, tuple[int, int, int]]]:
    """Per camera touched by an exclusion in [lo, hi): (camera, excluded microseconds, its
    (intact, degraded, down) microseconds inside the exclusion windows, to take off its group)."""
    if index.empty:
        return []
    async with engine.connect() as conn:
        if index.everywhere:
            candidates = await load_camera_refs(conn, since=from_us(lo_us))
        else:
            candidates = await load_camera_refs(conn, ids=index.by_camera, regions=index.by_region, since=from_us(lo_us))
        windows: list[tuple[int, int, int]] = []
        excluded: list[tuple[CameraRef, int]] = []
        for cam in excluded_cameras(candidates, index, lo_us, hi_us):
            spans = index.for_camera(cam, cam.accounted_from(lo_us), cam.accounted_until(hi_us))  # (its own time only)
            windows.extend((cam.camera_id, s, e) for s, e in spans)
            excluded.append((cam, sum(e - s for s, e in spans)))
        inside = await inside_windows(conn, windows)
    return [(cam, us, inside.get(cam.camera_id, (0, 0, 0))) for cam, us in excluded]


def _groups(rows: Iterable[_GroupRow]) -> dict[GroupKey, _Acc]:
    """The rows' sums per group (a group split between camera id ranges comes as several rows)."""
    groups: dict[GroupKey, _Acc] = {}
    for row in rows:
        acc = groups.get(row.key)
        if acc is None:
            acc = groups[row.key] = _Acc()
        sums = (row.intact, row.degraded, row.down)
        acc.add(row.cameras, sums, sums)
        acc.unc += row.unc
    return groups


async def sql_rates(engine: AsyncEngine, level: Level | str, period: Period, now: dt.datetime, *,
                    exclusions: Exclusions,
                    cameras: tuple[CameraRef, ...] | None = None) -> tuple[RateRow, ...]:
    """Time-weighted rate rows at ``level``: region and contractor levels grouped in SQL, camera
    and point levels from the per-camera sums. Equal to the pure ``rates_by``."""
    lvl = Level(level)
    if lvl in (Level.CAMERA, Level.POINT):
        if cameras is None:
            async with engine.connect() as conn:
                cameras = await load_camera_refs(conn, since=period.start)
        return aggregate(lvl, cameras, await sql_camera_times(engine, period, now, exclusions=exclusions, cameras=cameras))
    return (await sql_group_times(engine, period, now, exclusions=exclusions)).rows(lvl)


__all__ = ["GroupTimes", "RatioRow", "sql_group_times", "sql_rates"]
