"""Rate and coverage tables exactly as ``camwatch rates --json`` / ``camwatch coverage --json``
print them, built from :mod:`collector.accounting.sql.load` (the CLI and the API must give the same numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import (
    Level,
    Period,
    RateRow,
    RegionPath,
    camera_times,
    compliant,
    target_for,
    village_coverage_over,
)
from collector.accounting.sql.group_rates import RatioRow, sql_group_times, sql_rates
from collector.accounting.sql.load import (
    AccountingData,
    coverage_by_township,
    coverage_now,
    current_states,
    load_accounting,
    snapshot_rates,
    time_rates,
)


class Method(StrEnum):
    TIME = "time"
    SNAPSHOT = "snapshot"
    INTACT = "intact"


class CoverageLevel(StrEnum):
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True, slots=True)
class RateQuery:
    level: Level
    method: Method
    period: Period
    now: dt.datetime
    tz: str
    check_times: tuple[dt.time, ...]


def _num(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


def _target(data: AccountingData, level: Level, key: int | str) -> Decimal:
    p = data.parents
    code = str(key)
    if level is Level.COUNTY:
        return target_for(RegionPath(code), data.targets)
    if level is Level.TOWNSHIP:
        return target_for(RegionPath(p.get(code, ""), code), data.targets)
    if level is Level.VILLAGE:
        return target_for(RegionPath(p.get(p.get(code, ""), ""), p.get(code, ""), code), data.targets)
    return data.targets.default


def rate_rows(data: AccountingData, q: RateQuery, time_rows: Sequence[RateRow | RatioRow] | None = None
              ) -> list[tuple[int | str, int | None, Decimal | None, Decimal | None]]:
    """(key, cameras, ratio, ratio without exclusions) per row, by the chosen method; the time
    and intact methods use ``time_rows`` when given (summed by the database), else the spans."""
    if q.method is Method.SNAPSHOT:
        applied = snapshot_rates(data, q.level, q.period, q.now, tz=q.tz, check_times=q.check_times)
        raw = {r.key: r for r in snapshot_rates(data, q.level, q.period, q.now, tz=q.tz, check_times=q.check_times,
                                                apply_exclusions=False)}
        return [(r.key, None, r.ratio, raw[r.key].ratio) for r in applied]
    out: list[tuple[int | str, int | None, Decimal | None, Decimal | None]] = []
    for r in time_rows if time_rows is not None else time_rates(data, q.level, q.period, q.now):
        if q.method is Method.INTACT:
            out.append((r.key, r.cameras, r.intact_ratio, r.intact_ratio_without_exclusions))
        else:
            out.append((r.key, r.cameras, r.ratio, r.ratio_without_exclusions))
    return out


def rate_table(data: AccountingData, q: RateQuery, time_rows: Sequence[RateRow | RatioRow] | None = None) -> dict[str, Any]:
    rows = []
    for key, cameras, ratio, raw in rate_rows(data, q, time_rows):
        name = data.names.get(f"camera:{key}" if q.level is Level.CAMERA else str(key), "")
        target = _target(data, q.level, key)
        rows.append({"key": key, "name": name, "cameras": cameras, "ratio": _num(ratio),
                     "ratio_without_exclusions": _num(raw), "target": float(target),
                     "compliant": None if ratio is None else compliant(ratio, target)})
    return {"level": q.level.value, "method": q.method.value, "from": q.period.start.isoformat(),
            "to": q.period.end.isoformat(), "rows": rows}


async def load_rate_table(engine: AsyncEngine, q: RateQuery, *, default_target: float) -> dict[str, Any]:
    """The rate table of ``q`` from the database: time and intact rates summed there (daily
    rollups when built, see :mod:`collector.accounting.sql.group_rates`), snapshot rates from the spans."""
    if q.method is Method.SNAPSHOT:
        return rate_table(await load_accounting(engine, q.period, default_target=default_target), q)
    per_camera = q.level in (Level.CAMERA, Level.POINT)
    data = await load_accounting(engine, q.period, default_target=default_target, spans=False, cameras=per_camera)
    if per_camera:
        return rate_table(data, q, await sql_rates(engine, q.level, q.period, q.now, exclusions=data.exclusions,
                                                   cameras=data.cameras))
    groups = await sql_group_times(engine, q.period, q.now, exclusions=data.exclusions)
    return rate_table(data, q, groups.ratio_rows(q.level))  # the table shows ratios only: no times made


def coverage_table(data: AccountingData, level: CoverageLevel, period: Period | None, now: dt.datetime) -> dict[str, Any]:
    """Coverage now (from the stored current states), or over *period* when given.

    Over a period, a village or township none of whose cameras has eligible time in it (no data:
    before monitoring began, or all unknown) has ratio None (shown "—", as rates show it), not 0."""
    measured: set[str] | None = None
    if period is None:
        villages = coverage_now(data, current_states(data, now))
    else:
        times = {cid: t.with_exclusions for cid, t in camera_times(data.cameras, data.spans, data.exclusions, period, now).items()}
        villages = village_coverage_over(data.points, data.cameras, times)
        measured = set()
        for c in data.cameras:
            t = times.get(c.camera_id)
            if t is not None and t.ratio is not None:
                measured.update((c.village, c.township))

    def ratio(code: str, value: Decimal) -> float | None:
        return None if measured is not None and code not in measured else float(value)

    if level is CoverageLevel.VILLAGE:
        rows = [{"code": v.village, "name": data.names.get(v.village, ""), "planned_points": v.planned_points,
                 "covered_points": v.covered_points, "built_points": v.built_points, "ratio": ratio(v.village, v.ratio),
                 "built_ratio": float(v.built_ratio), "fully_covered": v.fully_covered} for v in villages]
    else:
        rows = [{"code": t.region, "name": data.names.get(t.region, ""), "villages": t.villages,
                 "fully_covered": t.fully_covered, "fully_built": t.fully_built, "ratio": ratio(t.region, t.ratio),
                 "built_ratio": float(t.built_ratio)} for t in coverage_by_township(data, villages)]
    return {"level": level.value, "over_period": period is not None, "rows": rows}
