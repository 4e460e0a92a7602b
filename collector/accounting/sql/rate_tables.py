"""Rate and coverage tables exactly as ``camwatch rates --json`` / ``camwatch coverage --json``
print them, built from :mod:`collector.accounting.sql.load` (the CLI and the API must give the same numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import (
    Level,
    Period,
    RateRow,
    RegionPath,
    camera_times,
    compliant,
    round_ratio,
    target_for,
    us_seconds,
    village_coverage_over,
)
from collector.accounting.coverage import DEFAULT_THRESHOLD
from collector.accounting.model import ZERO
from collector.accounting.ranking import previous_period, rank_changes, ranks
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
    rank: bool = False  # add each row's rank and its change against the previous period


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


class TableRow(NamedTuple):
    """A rate table's row before words: the method's ratios, their ±, and the time known."""

    key: int | str
    cameras: int | None
    ratio: Decimal | None
    ratio_without_exclusions: Decimal | None
    uncertainty: Decimal | None  # ± of ratio (None: snapshot rates, or nothing eligible)
    uncertainty_without_exclusions: Decimal | None
    known_s: Decimal  # time the state was known (online + offline; unknown time left out)
    total_s: Decimal  # the window times the cameras


def _known(r: RateRow | RatioRow) -> tuple[Decimal, Decimal]:
    if isinstance(r, RateRow):
        raw = r.time_without_exclusions
        return raw.eligible_s, raw.eligible_s + raw.unknown_s + raw.excluded_s
    return us_seconds(r.known_us), us_seconds(r.total_us)


def rate_rows(data: AccountingData, q: RateQuery, time_rows: Sequence[RateRow | RatioRow] | None = None
              ) -> list[TableRow]:
    """The rows by the chosen method; the time and intact methods use ``time_rows`` when given
    (summed by the database), else the spans. Snapshot rows carry the known time of the spans."""
    if time_rows is None or q.method is Method.SNAPSHOT:
        time_rows = time_rates(data, q.level, q.period, q.now)
    if q.method is Method.SNAPSHOT:
        known = {r.key: _known(r) for r in time_rows}
        applied = snapshot_rates(data, q.level, q.period, q.now, tz=q.tz, check_times=q.check_times)
        raw = {r.key: r for r in snapshot_rates(data, q.level, q.period, q.now, tz=q.tz, check_times=q.check_times,
                                                apply_exclusions=False)}
        return [TableRow(r.key, None, r.ratio, raw[r.key].ratio, None, None, *known.get(r.key, (ZERO, ZERO)))
                for r in applied]
    out: list[TableRow] = []
    for r in time_rows:
        unc = (r.uncertainty, r.uncertainty_without_exclusions)
        if q.method is Method.INTACT:
            out.append(TableRow(r.key, r.cameras, r.intact_ratio, r.intact_ratio_without_exclusions, *unc, *_known(r)))
        else:
            out.append(TableRow(r.key, r.cameras, r.ratio, r.ratio_without_exclusions, *unc, *_known(r)))
    return out


def _pp(v: Decimal | None) -> float | None:
    """A rounded ratio in percentage points (0.0123 -> 1.23)."""
    return None if v is None else float(v.scaleb(2))


def _share(part: Decimal, whole: Decimal) -> float | None:
    return None if whole == 0 else float(round_ratio(part / whole))


def _name_key(level: Level, key: int | str) -> str:
    """Where a row's name is in ``AccountingData.names``: cameras and points under their own
    prefix (an id could equal a region code), regions and contractors by their key."""
    if level is Level.CAMERA:
        return f"camera:{key}"
    if level is Level.POINT:
        return f"point:{key}"
    return str(key)


def rate_table(data: AccountingData, q: RateQuery, time_rows: Sequence[RateRow | RatioRow] | None = None) -> dict[str, Any]:
    rows = []
    for r in rate_rows(data, q, time_rows):
        key = r.key
        name = data.names.get(_name_key(q.level, key), "")
        target = _target(data, q.level, key)
        rows.append({"key": key, "name": name, "cameras": r.cameras, "ratio": _num(r.ratio),
                     "ratio_without_exclusions": _num(r.ratio_without_exclusions), "target": float(target),
                     "compliant": None if r.ratio is None else compliant(r.ratio, target),
                     "uncertainty_pp": _pp(r.uncertainty),
                     "uncertainty_pp_without_exclusions": _pp(r.uncertainty_without_exclusions),
                     "known_s": float(r.known_s), "known_share": _share(r.known_s, r.total_s)})
    return {"level": q.level.value, "method": q.method.value, "from": q.period.start.isoformat(),
            "to": q.period.end.isoformat(), "rows": rows}


async def _load_rate_table(engine: AsyncEngine, q: RateQuery, *, default_target: float) -> dict[str, Any]:
    if q.method is Method.SNAPSHOT:
        return rate_table(await load_accounting(engine, q.period, default_target=default_target), q)
    per_camera = q.level in (Level.CAMERA, Level.POINT)
    data = await load_accounting(engine, q.period, default_target=default_target, spans=False, cameras=per_camera)
    if per_camera:
        return rate_table(data, q, await sql_rates(engine, q.level, q.period, q.now, exclusions=data.exclusions,
                                                   cameras=data.cameras))
    groups = await sql_group_times(engine, q.period, q.now, exclusions=data.exclusions)
    return rate_table(data, q, groups.ratio_rows(q.level))  # the table shows ratios only: no times made


async def load_rate_table(engine: AsyncEngine, q: RateQuery, *, default_target: float) -> dict[str, Any]:
    """The rate table of ``q`` from the database: time and intact rates summed there (daily
    rollups when built, see :mod:`collector.accounting.sql.group_rates`), snapshot rates from the spans.
    With ``q.rank``: each row's rank by its rate and the places gained since the previous period
    (:mod:`collector.accounting.ranking`)."""
    table = await _load_rate_table(engine, q, default_target=default_target)
    if q.rank:
        prev = await _load_rate_table(engine, replace(q, period=previous_period(q.period, q.tz), rank=False),
                                      default_target=default_target)
        add_ranks(table, prev)
    return table


def add_ranks(table: dict[str, Any], previous: dict[str, Any]) -> None:
    """Put ``rank`` and ``rank_change`` (places gained) in every row of *table*, ranked by
    ``ratio``, and the previous period in the table."""
    def by_key(t: dict[str, Any]) -> dict[Any, int | None]:
        return ranks({r["key"]: None if r["ratio"] is None else Decimal(str(r["ratio"])) for r in t["rows"]})
    now, before = by_key(table), by_key(previous)
    changes = rank_changes(now, before)
    for r in table["rows"]:
        r["rank"], r["rank_change"] = now[r["key"]], changes[r["key"]]
    table["previous"] = {"from": previous["from"], "to": previous["to"]}


def coverage_table(data: AccountingData, level: CoverageLevel, period: Period | None, now: dt.datetime, *,
                   threshold: Fraction | Decimal | float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Coverage now (from the stored current states), or over *period* when given: a point is
    covered when a camera of it was up at least *threshold* (``accounting.coverage_threshold``)
    of its time, compared as shown (:func:`collector.accounting.compliant`).

    Over a period, a village or township none of whose cameras has eligible time in it (no data:
    before monitoring began, or all unknown) has ratio None (shown "—", as rates show it), not 0;
    so has a village none of whose points counts (all excluded: left out of every denominator, its
    ``fully_covered`` None too) and a township none of whose villages counts
    (:mod:`collector.accounting.coverage`)."""
    measured: set[str] | None = None
    if period is None:
        villages = coverage_now(data, current_states(data, now))
    else:
        times = {cid: t.with_exclusions for cid, t in camera_times(data.cameras, data.spans, data.exclusions, period, now).items()}
        villages = village_coverage_over(data.points, data.cameras, times, threshold=threshold)
        measured = set()
        for c in data.cameras:
            t = times.get(c.camera_id)
            if t is not None and t.ratio is not None:
                measured.update((c.village, c.township))

    def ratio(code: str, value: Decimal | None) -> float | None:
        return None if value is None or (measured is not None and code not in measured) else float(value)

    if level is CoverageLevel.VILLAGE:
        rows = [{"code": v.village, "name": data.names.get(v.village, ""), "planned_points": v.planned_points,
                 "covered_points": v.covered_points, "built_points": v.built_points, "ratio": ratio(v.village, v.shown_ratio),
                 "built_ratio": float(v.built_ratio), "fully_covered": v.shown_fully_covered} for v in villages]
    else:
        rows = [{"code": t.region, "name": data.names.get(t.region, ""), "villages": t.villages,
                 "fully_covered": t.fully_covered, "fully_built": t.fully_built, "ratio": ratio(t.region, t.shown_ratio),
                 "built_ratio": float(t.built_ratio)} for t in coverage_by_township(data, villages)]
    return {"level": level.value, "over_period": period is not None, "rows": rows}
