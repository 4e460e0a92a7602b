"""``/regions/{code}``: a county's townships, a township's villages (ranked, with coverage and
planned points) or a village's points and cameras; the 30- and 90-day daily-rate charts.

Who reads what is the API's rule (:func:`collector.web.scope.region_reader`): a contractor opens
only the regions holding one of its cameras, lists only those, sees its cameras and their points,
and no region figures (they count other contractors' cameras)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from collector.accounting import CameraRef, PointRef, VillageCoverage, village_coverage
from collector.runtime.camera_state import State
from collector.runtime.scheduler import CameraSlot
from collector.web.common import camwatch
from collector.web.pages.charts import rate_chart
from collector.web.pages.derived import derived, regions_of, scope_key
from collector.web.pages.overview import (
    cached_rows,
    camera_items,
    figures_note,
    month_as_of,
    now_counts,
    now_words,
    readable_slots,
)
from collector.web.pages.render import View, not_found_page, paginate, rate_colour, render, view
from collector.web.pages.scope import Regions, region_reads, whole_figures
from collector.web.pages.series import DailyRates
from inventory.models import Camera, Lifecycle, Point

SERIES_KEY: web.AppKey[DailyRates] = web.AppKey("camwatch_console_series", DailyRates)
LEVEL_AT = {"county": 0, "township": 1, "village": 2}
UP = (State.ONLINE, State.DEGRADED)


@dataclass(frozen=True, slots=True)
class PointRow:
    id: int
    name: str
    planned: bool
    built: bool
    online: bool
    cameras: list[tuple[int, str, str, str]]  # (id, name, state, the state in words)


async def _points(request: web.Request, villages: list[str]) -> tuple[list[Any], list[Any]]:
    """(points, cameras) of *villages*: id, village, name, planned / id, point, contractor, lifecycle."""
    engine = camwatch(request).engine
    async with engine.connect() as conn:
        points = (await conn.execute(select(Point.id, Point.village_code, Point.name, Point.planned)
                                     .where(Point.village_code.in_(villages), Point.retired.is_(False))
                                     .order_by(Point.id))).all()
        cams = (await conn.execute(select(Camera.id, Camera.point_id, Camera.contractor, Camera.lifecycle)
                                   .join(Point, Camera.point_id == Point.id)
                                   .where(Point.village_code.in_(villages)))).all()
    return list(points), list(cams)


def _coverage(points: list[Any], cams: list[Any], states: dict[int, str]) -> dict[str, VillageCoverage]:
    village_of = {p.id: p.village_code for p in points}
    prefs = [PointRef(p.id, p.village_code, bool(p.planned)) for p in points]
    crefs = [CameraRef(c.id, c.point_id, village_of.get(c.point_id, ""), "", "", c.contractor,
                       retired=Lifecycle(c.lifecycle) is Lifecycle.RETIRED) for c in cams]
    return {v.village: v for v in village_coverage(prefs, crefs, states)}


def _point_rows(points: list[Any], cams: list[Any], slots: dict[int, CameraSlot], v: View) -> list[PointRow]:
    by_point: dict[int, list[Any]] = {}
    for c in cams:
        by_point.setdefault(c.point_id, []).append(c)
    rows = []
    for p in points:
        mine = [c for c in by_point.get(p.id, []) if Lifecycle(c.lifecycle) is not Lifecycle.RETIRED]
        shown = [(c.id, s.cam.name, s.shown.value, v.state(s.shown.value, s.failed_checks()))
                 for c in mine if (s := slots.get(c.id)) is not None]
        rows.append(PointRow(p.id, p.name, bool(p.planned), bool(mine),
                             any(slots[c.id].status.state in UP for c in mine if c.id in slots), shown))
    return rows


async def charts(v: View, level: str, code: str, target: float | None) -> dict[str, Any]:
    series = v.request.app[SERIES_KEY]
    app = camwatch(v.request)
    days90, pending = await series.series(app, level, code, 90)
    days30 = days90[-30:]
    at = app.figures.computed_at  # today's bar is the figures' (summed with the month's rate)
    last = f" ({v.t('as_of')} {v.when(at)[11:16]})" if at is not None and days90 and days90[-1][1] is not None else ""
    return {"chart30": rate_chart(days30, target, f"{v.t('daily_rate')} {v.t('days_30')}", last),
            "chart90": rate_chart(days90, target, f"{v.t('daily_rate')} {v.t('days_90')}", last),
            "chart_pending": pending,
            "chart_note": v.t("today_bar_at", at=v.when(at)) if at is not None else v.t("today_bar_pending")}


def _states(slots: dict[int, CameraSlot]) -> dict[int, str]:
    return {cid: s.status.state.value for cid, s in slots.items()}


def _in(slots: Iterable[CameraSlot], level: str, code: str) -> list[CameraSlot]:
    at = LEVEL_AT[level]
    return [s for s in slots if (s.cam.labels.county, s.cam.labels.township, s.cam.labels.village)[at] == code]


async def region_page(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    code = request.match_info["code"]
    regions: Regions = await regions_of(request)
    info = regions.by_code.get(code)
    readable = readable_slots(v)
    reads = region_reads(v.principal, regions, readable)
    if info is None or info.level not in LEVEL_AT or not reads(code):
        return not_found_page(v)
    path = regions.path(code)
    whole = whole_figures(v.principal, path)
    d, sk = derived(request), scope_key(v.principal)
    slots = d.get(("in", sk, id(readable), info.level, code), lambda: _in(readable, info.level, code))
    counts = now_counts(slots)
    fig = app.figures
    month = fig.availability.get((info.level, code, "month")) if whole else None
    target = fig.targets.get((info.level, code))
    ctx: dict[str, Any] = {
        "info": info, "crumbs": [(c, regions.name(c)) for c in path[:-1]],
        "now": now_words(v, counts),
        "month": month, "target": target, "colour": rate_colour(month, target),
        "coverage": fig.coverage.get((info.level, code)) if whole else None, "whole": whole,
        "rows": [], "points": [], "cameras": None, "villages": {}, "fully": None, "village_cov": None,
        "figures_note": figures_note(v, app),
        "month_at": month_as_of(v, app) if month is not None else None, "rows_at": month_as_of(v, app),
    }
    kids = [k.code for k in regions.children.get(code, []) if reads(k.code)]
    if info.level == "county":
        ctx["rows"] = cached_rows(v, regions, kids, "township", slots)
    elif info.level == "township":
        ctx["rows"] = cached_rows(v, regions, kids, "village", slots)
        points, cams = await _points(request, kids)
        states = d.get(("states", id(app.scheduler.slots)), lambda: _states(app.scheduler.slots))
        ctx["villages"] = _coverage(points, cams, states) if whole else {}
        covered = [r.coverage for r in ctx["rows"] if r.coverage is not None]
        ctx["fully"] = (sum(1 for c in covered if c >= 1.0), len(covered)) if whole else None
    else:
        points, cams = await _points(request, [code])
        mine = {s.cam.id: s for s in slots}
        if not whole:  # a contractor: its cameras' points alone
            held = {c.point_id for c in cams if c.id in mine}
            points = [pt for pt in points if pt.id in held]
        ctx["points"] = _point_rows(points, [c for c in cams if c.id in mine or whole], mine, v)
        ctx["cameras"] = paginate(slots, request, shape=lambda page: camera_items(v, page))
        states = d.get(("states", id(app.scheduler.slots)), lambda: _states(app.scheduler.slots))
        ctx["village_cov"] = _coverage(points, cams, states).get(code) if whole else None
    if whole:
        ctx.update(await charts(v, info.level, code, target))
    return render(v, "region.html", ctx)
