"""``/api/v1/regions/{code}``: a county, township or village with its children.

Current figures (counts by state, online ratio) come from the scheduler's in-memory slots;
coverage now uses the slots' probed states with the points stored in the database; with
``from``/``to`` the period availability (time-weighted, with and without exclusions) is computed
by :mod:`collector.accounting.sql.load`, over the region's cameras only.

A scoped reader sees the part of a region it reads (:mod:`collector.web.scope`); a contractor only
the regions holding one of its cameras, those cameras' counts and availability, and no coverage
(points are shared with other contractors' cameras: a figure over its cameras alone would be wrong).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from aiohttp import web
from sqlalchemy import select

from collector.accounting import Level, Period, RateRow, RegionCoverage, VillageCoverage, township_coverage
from collector.accounting.sql.load import AccountingData, coverage_now, load_accounting, time_rates
from collector.runtime.camera_state import State
from collector.runtime.scheduler import CameraSlot
from collector.web.bodies import Availability, Counts, RegionChild
from collector.web.bodies import Region as RegionBody
from collector.web.bodies import RegionCoverage as RegionCoverageBody
from collector.web.bodies import VillageCoverage as VillageCoverageBody
from collector.web.common import camwatch, iso, json_response, ratio
from collector.web.params import period_param
from collector.web.principal import Principal, Role
from collector.web.scope import region_reader, require_region, visible
from inventory.models import Region, RegionLevel

CHILD_LEVEL = {RegionLevel.COUNTY: Level.TOWNSHIP, RegionLevel.TOWNSHIP: Level.VILLAGE, RegionLevel.VILLAGE: Level.CAMERA}
STATE_KEYS = tuple(s.value for s in State)
CoverageAny = VillageCoverageBody | RegionCoverageBody | None


def _label(slot: CameraSlot, level: str) -> str:
    return str(getattr(slot.cam.labels, level))


def counts(slots: Iterable[CameraSlot]) -> tuple[Counts, float | None]:
    """Cameras by shown state, and the online ratio (online+degraded)/(those + offline), None
    when no camera is eligible."""
    out = dict.fromkeys(STATE_KEYS, 0)
    n = 0
    for s in slots:
        out[s.shown.value] += 1
        n += 1
    up = out[State.ONLINE.value] + out[State.DEGRADED.value]
    eligible = up + out[State.OFFLINE.value]
    by_state: Counts = {"total": n, "online": out["online"], "degraded": out["degraded"], "offline": out["offline"],
                        "unknown": out["unknown"], "excluded": out["excluded"]}
    return by_state, round(up / eligible, 4) if eligible else None


def availability(row: RateRow | None, period: Period) -> Availability:
    return {
        "from": iso(period.start) or "", "to": iso(period.end) or "",
        "ratio": ratio(row.ratio) if row else None,
        "ratio_without_exclusions": ratio(row.ratio_without_exclusions) if row else None,
        "intact_ratio": ratio(row.intact_ratio) if row else None,
        "intact_ratio_without_exclusions": ratio(row.intact_ratio_without_exclusions) if row else None,
    }


def village_cov(v: VillageCoverage | None) -> VillageCoverageBody | None:
    if v is None:
        return None
    return {"planned_points": v.planned_points, "covered_points": v.covered_points, "built_points": v.built_points,
            "ratio": ratio(v.ratio), "built_ratio": ratio(v.built_ratio), "fully_covered": v.fully_covered,
            "fully_built": v.fully_built}


def region_cov(r: RegionCoverage | None) -> RegionCoverageBody | None:
    if r is None:
        return None
    return {"villages": r.villages, "fully_covered": r.fully_covered, "fully_built": r.fully_built,
            "ratio": ratio(r.ratio), "built_ratio": ratio(r.built_ratio)}


def _coverage(data: AccountingData, level: RegionLevel, code: str,
              states: dict[int, str]) -> tuple[CoverageAny, dict[str, CoverageAny]]:
    """(the region's coverage now, each child's) — villages under a township, townships under a county."""
    p = data.parents
    villages = coverage_now(data, states)
    if level is RegionLevel.VILLAGE:
        return village_cov(next((v for v in villages if v.village == code), None)), {}
    if level is RegionLevel.TOWNSHIP:
        mine = [v for v in villages if p.get(v.village) == code]
        own = township_coverage(mine, {v.village: code for v in mine})
        return region_cov(own[0] if own else None), {v.village: village_cov(v) for v in mine}
    mine = [v for v in villages if p.get(p.get(v.village, ""), "") == code]
    own = township_coverage(mine, {v.village: code for v in mine})
    per_township = township_coverage(mine, {v.village: p[v.village] for v in mine})
    return region_cov(own[0] if own else None), {t.region: region_cov(t) for t in per_township}


def scoped_data(p: Principal, data: AccountingData) -> AccountingData:
    """*data* cut to the cameras *p* reads and the points of the villages wholly in its scope."""
    par = data.parents
    cams = tuple(c for c in data.cameras if p.can_read_camera((c.county, c.township, c.village), c.contractor))
    pts = tuple(pt for pt in data.points
                if p.whole_region((par.get(par.get(pt.village, ""), ""), par.get(pt.village, ""), pt.village)))
    return dataclasses.replace(data, cameras=cams, points=pts)


async def get_region(request: web.Request) -> web.Response:
    app = camwatch(request)
    code = request.match_info["code"]
    now = app.clock()
    period = period_param(request, app.settings.accounting.timezone, now)
    p, path = await require_region(request, code)  # 404 when unknown or out of scope
    async with app.engine.connect() as conn:
        region = (await conn.execute(select(Region.code, Region.name, Region.level, Region.parent_code)
                                     .where(Region.code == code))).one()
        kids = (await conn.execute(select(Region.code, Region.name).where(Region.parent_code == code)
                                   .order_by(Region.code))).all()
    level = RegionLevel(region.level)
    child_level = CHILD_LEVEL[level]
    slots = visible(request, [s for _, s in sorted(app.scheduler.slots.items()) if _label(s, level.value) == code])
    data = await load_accounting(app.engine, period or Period(now, now), default_target=app.settings.accounting.target)
    if p is not None:  # a region above the scope, or a contractor: figures over the readable part only
        reads = region_reader(p, app.scheduler.slots.values())
        kids = [k for k in kids if reads((*path, k.code))]
        data = scoped_data(p, data)
    own_cov: CoverageAny = None
    child_cov: dict[str, CoverageAny] = {}
    if p is None or p.role is not Role.CONTRACTOR:
        own_cov, child_cov = _coverage(data, level, code, {s.cam.id: s.status.state.value
                                                           for s in app.scheduler.slots.values()})
    own_rate: RateRow | None = None
    child_rates: dict[int | str, RateRow] = {}
    if period is not None:
        mine = dataclasses.replace(data, cameras=tuple(c for c in data.cameras if getattr(c, level.value) == code))
        own_rate = next(iter(time_rates(mine, Level(level.value), period, now)), None)
        child_rates = {r.key: r for r in time_rates(mine, child_level, period, now)}

    children: list[RegionChild] = []
    kid_level: Literal["township", "village", "camera"] = (
        "camera" if child_level is Level.CAMERA else "township" if child_level is Level.TOWNSHIP else "village")
    if child_level is Level.CAMERA:
        for s in slots:
            cams, online = counts([s])
            children.append({"code": str(s.cam.id), "name": s.cam.name, "level": "camera", "state": s.shown.value,
                             "cameras": cams, "online_ratio": online,
                             "availability": availability(child_rates.get(s.cam.id), period) if period else None,
                             "coverage": None})
    else:
        by_child: dict[str, list[CameraSlot]] = {}
        for s in slots:
            by_child.setdefault(_label(s, child_level.value), []).append(s)
        for kid_code, kid_name in kids:
            cams, online = counts(by_child.get(kid_code, ()))
            children.append({"code": kid_code, "name": kid_name, "level": kid_level,
                             "cameras": cams, "online_ratio": online,
                             "availability": availability(child_rates.get(kid_code), period) if period else None,
                             "coverage": child_cov.get(kid_code)})
    cams, online = counts(slots)
    body: RegionBody = {
        "code": region.code, "name": region.name, "level": level.value, "parent": region.parent_code,
        "cameras": cams, "online_ratio": online,
        "availability": availability(own_rate, period) if period else None,
        "coverage": own_cov,
        "children_level": kid_level,
        "children": children,
        "at": iso(now) or "",
    }
    return json_response(body)


__all__ = ["get_region", "counts"]
