"""Region and contractor scoping of what a request may read (the rule: :mod:`collector.web.principal`).

Handlers ask :func:`reader` for the request's principal, None when nothing is hidden (admin,
assessor or duty without regions, the API token, anonymous open reads). What is out of scope
is answered as if it did not exist: a camera, region, incident, work order or exclusion of
another region is 404; lists and tables leave it out. A contractor reads the work orders of which
one camera is its own (a village's outage too) and acts on those all of whose cameras are. Tables of rates and coverage keep only rows
of regions wholly in scope (a region above the scope is shown in part on ``/regions/{code}``);
a contractor reads its cameras, their points and its own contractor row, not region rows (they
count other contractors' cameras). A contractor's regions are those holding one of its cameras
(:func:`contractor_regions`): ``/regions/{code}`` of another is 404, and one of its own shows its
cameras alone, without coverage; an exclusion or a silence tied to a region (its reason, its
proposer) is the contractor's to read only when that region holds one of its cameras
(:func:`tied_visible`; the API and the console's pages alike: :func:`exclusion_clause`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import Level
from collector.runtime.scheduler import CameraSlot
from collector.web.common import camwatch, not_found
from collector.web.principal import Principal, Role, principal_of
from inventory.models import Camera, Exclusion, Point, Region


def reader(request: web.Request) -> Principal | None:
    """The principal whose scope applies; None when nothing is hidden."""
    p = principal_of(request)
    return None if p is None or p.reads_all() else p


def slot_path(slot: CameraSlot) -> tuple[str, str, str]:
    lb = slot.cam.labels
    return (lb.county, lb.township, lb.village)


def sees(p: Principal | None, slot: CameraSlot) -> bool:
    return p is None or p.can_read_camera(slot_path(slot), slot.cam.contractor)


def visible(request: web.Request, slots: Iterable[CameraSlot]) -> list[CameraSlot]:
    p = reader(request)
    return list(slots) if p is None else [s for s in slots if sees(p, s)]


def camera_slot(request: web.Request, cid: int) -> CameraSlot:
    """The monitored camera *cid*, 404 when unknown or out of scope."""
    slot = camwatch(request).scheduler.slots.get(cid)
    if slot is None or not sees(reader(request), slot):
        raise not_found(f"no monitored camera with id {cid}")
    return slot


async def region_paths(engine: AsyncEngine) -> dict[str, tuple[str, ...]]:
    """Every region's path of codes, county..itself."""
    async with engine.connect() as conn:
        parents = dict((await conn.execute(select(Region.code, Region.parent_code))).all())
    out: dict[str, tuple[str, ...]] = {}
    for code in parents:
        path, at = [code], parents.get(code)
        while at is not None and len(path) < 8:
            path.append(at)
            at = parents.get(at)
        out[code] = tuple(reversed(path))
    return out


def whole(p: Principal, path: tuple[str, ...] | None) -> bool:
    """A region row wholly readable: in or below the scope (never for a contractor)."""
    return path is not None and p.role is not Role.CONTRACTOR and p.whole_region(path)


def contractor_regions(p: Principal, slots: Iterable[CameraSlot]) -> frozenset[str]:
    """The codes (county, township, village) of the regions holding one of *p*'s cameras."""
    return frozenset(code for s in slots if sees(p, s) for code in slot_path(s))


def region_reader(p: Principal | None, slots: Iterable[CameraSlot]) -> Callable[[Sequence[str]], bool]:
    """Whether *p* reads a region (given by its path, county..itself): in, above or below its scope;
    for a contractor, one holding one of its cameras (*slots*: every monitored camera, or the
    contractor's own)."""
    if p is None:
        return lambda path: True
    if p.role is Role.CONTRACTOR:
        mine = contractor_regions(p, slots)
        return lambda path: bool(path) and path[-1] in mine
    return lambda path: bool(path) and p.can_read_region(path)


async def require_region(request: web.Request, code: str) -> tuple[Principal | None, tuple[str, ...]]:
    """(the scoping principal, the region's path); 404 when unknown or out of scope (for a
    contractor: a region without one of its cameras)."""
    paths = await region_paths(camwatch(request).engine)
    path = paths.get(code)
    p = reader(request)
    if path is None or not region_reader(p, camwatch(request).scheduler.slots.values())(path):
        raise not_found(f"no region with code {code!r}")
    return p, path


def camera_clause(p: Principal, paths: Mapping[str, tuple[str, ...]]) -> ColumnElement[bool]:
    """SQL: ``Camera.id`` of the cameras *p* reads (villages in scope, its contractor's)."""
    villages = [code for code, path in paths.items() if len(path) >= 3 and p.in_regions(path)]
    q = select(Camera.id).join(Point, Point.id == Camera.point_id)
    if p.regions:
        q = q.where(Point.village_code.in_(villages))
    if p.role is Role.CONTRACTOR:
        q = q.where(Camera.contractor == p.contractor) if p.contractor else q.where(~true())
    return Camera.id.in_(q.scalar_subquery())


async def filter_rows(request: web.Request, level: str, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows of a rate or coverage table the request's principal may read (see the module doc)."""
    p = reader(request)
    if p is None:
        return rows
    if level == Level.CONTRACTOR.value:
        return [r for r in rows if p.role is Role.CONTRACTOR and r[key] == p.contractor]
    if level in (Level.CAMERA.value, Level.POINT.value):
        app = camwatch(request)
        column = Camera.id if level == Level.CAMERA.value else Camera.point_id
        clause = camera_clause(p, await region_paths(app.engine))
        async with app.engine.connect() as conn:
            ids = {v for (v,) in (await conn.execute(select(column).where(clause))).all()}
        return [r for r in rows if r[key] in ids]
    paths = await region_paths(camwatch(request).engine)
    return [r for r in rows if whole(p, paths.get(str(r[key])))]


def _camera_visible(p: Principal, slots: Mapping[int, CameraSlot], camera_id: int) -> bool:
    slot = slots.get(camera_id)
    return slot is not None and sees(p, slot)


def tied_visible(p: Principal | None, slots: Mapping[int, CameraSlot], paths: Mapping[str, tuple[str, ...]],
                 camera_id: int | None, region_code: str | None) -> bool:
    """An exclusion or silence: its camera readable, or its region in, above or below the scope
    (a county-wide exclusion concerns a township's cameras too). For a contractor *paths* are
    those of its regions alone, as :func:`visibility` gives them (:func:`tied_paths`): another
    contractor's region-wide exclusion or silence, its reason, is not the contractor's to read."""
    if p is None:
        return True
    if camera_id is not None:
        return _camera_visible(p, slots, camera_id)
    path = paths.get(region_code or "")
    return path is not None and (p.role is Role.CONTRACTOR or p.can_read_region(path))


def tied_paths(p: Principal | None, slots: Mapping[int, CameraSlot],
               paths: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    """*paths* as :func:`tied_visible` reads them: for a contractor, those of its regions alone."""
    if p is None or p.role is not Role.CONTRACTOR:
        return paths
    mine = contractor_regions(p, slots.values())
    return {code: path for code, path in paths.items() if code in mine}


def exclusion_clause(p: Principal, slots: Mapping[int, CameraSlot],
                     paths: Mapping[str, tuple[str, ...]]) -> ColumnElement[bool]:
    """SQL: the exclusions *p* reads, on the API and the console's pages alike: those of its cameras
    (:func:`camera_clause`), those of a region :func:`tied_visible` lets it read (*paths*: every
    region's) and the proposals it made itself."""
    tied = tied_paths(p, slots, paths)
    codes = [code for code in tied if tied_visible(p, slots, tied, None, code)]
    return or_(Exclusion.camera_id.in_(select(Camera.id).where(camera_clause(p, paths))),
               Exclusion.region_code.in_(codes), Exclusion.proposer == p.name)


def _order_cameras(camera_id: int | None, cameras: Sequence[int]) -> Sequence[int]:
    return cameras or (() if camera_id is None else (camera_id,))


def order_visible(p: Principal | None, slots: Mapping[int, CameraSlot], paths: Mapping[str, tuple[str, ...]],
                  camera_id: int | None, region_code: str | None, cameras: Sequence[int] = ()) -> bool:
    """A work order or incident (*cameras*: its incident's, as ``WorkOrder.camera_ids``; else its
    camera alone): for a contractor, one of its cameras is the contractor's (a village's or
    device's order too); for the others, its camera readable, else (a village's or device's order)
    its region in or below the scope."""
    if p is None:
        return True
    if p.role is Role.CONTRACTOR:
        return any(_camera_visible(p, slots, c) for c in _order_cameras(camera_id, cameras))
    if camera_id is not None:
        return _camera_visible(p, slots, camera_id)
    return whole(p, paths.get(region_code or ""))


# why a contractor may not acknowledge or close an order it sees (another contractor's cameras in it)
SHARED_ORDER_WORDS = ("该工单还涉及其他运维单位的摄像机，本单位不能确认或关闭：由值班人员确认、管理员关闭",
                      "This work order also concerns another contractor's cameras, so your company cannot "
                      "acknowledge or close it: the duty officer acknowledges it and an administrator closes it")


def order_actionable(p: Principal | None, slots: Mapping[int, CameraSlot], camera_id: int | None,
                     cameras: Sequence[int] = ()) -> bool:
    """May *p* acknowledge or close an order it reads (its role permitting)? A contractor only when
    every camera of it is its own (one shared with another contractor is the duty officer's and the
    administrator's: :data:`SHARED_ORDER_WORDS`); any other role, whatever it reads."""
    if p is None or p.role is not Role.CONTRACTOR:
        return True
    mine = _order_cameras(camera_id, cameras)
    return bool(mine) and all(_camera_visible(p, slots, c) for c in mine)


def may_propose(p: Principal, slots: Mapping[int, CameraSlot], paths: Mapping[str, tuple[str, ...]],
                camera_id: int | None, region_code: str | None) -> bool:
    """A proposal's scope is the proposer's: a camera it reads, or a region every monitored camera
    of which it reads (at least one; a contractor cannot take another company's cameras out)."""
    if camera_id is not None:
        return _camera_visible(p, slots, camera_id)
    if region_code is None or region_code not in paths:
        return False
    if p.reads_all():
        return True
    inside = [s for s in slots.values() if region_code in slot_path(s)]
    return bool(inside) and all(sees(p, s) for s in inside)


def may_decide(p: Principal, slots: Mapping[int, CameraSlot], paths: Mapping[str, tuple[str, ...]],
               camera_id: int | None, region_code: str | None) -> bool:
    """Approve, reject or end an exclusion: its camera readable, or its region in or below the
    decider's regions (not a county-wide one from a township-scoped assessor)."""
    if camera_id is not None:
        return _camera_visible(p, slots, camera_id)
    path = paths.get(region_code or "")
    return path is not None and p.role is not Role.CONTRACTOR and p.in_regions(path)


async def visibility(request: web.Request) -> tuple[Principal | None, Mapping[int, CameraSlot], Mapping[str, tuple[str, ...]]]:
    """(principal, slots, region paths) for the checks above; no database read when unscoped. For
    a contractor the paths are those of its regions alone (:func:`tied_paths`)."""
    app = camwatch(request)
    p = reader(request)
    if p is None:
        return p, app.scheduler.slots, {}
    return p, app.scheduler.slots, tied_paths(p, app.scheduler.slots, await region_paths(app.engine))


__all__ = ["SHARED_ORDER_WORDS", "may_decide", "may_propose", "order_actionable", "order_visible", "tied_visible", "visibility", "camera_clause", "camera_slot", "contractor_regions", "exclusion_clause", "filter_rows", "reader",
           "region_paths", "region_reader", "require_region", "sees", "slot_path", "tied_paths", "visible", "whole"]
