"""``/api/v1/workorders`` (list, acknowledge, close) and ``/api/v1/silences`` (list, add, end).

The same operations as ``camwatch workorders list|ack|close`` and ``camwatch alerts
silence|silences|unsilence``; writes need the bearer token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import select

from collector.alerting import incident_store as store
from collector.alerting.workorders import Color, WorkOrderError, color
from collector.web.bodies import Silence as SilenceBody
from collector.web.bodies import WorkOrder as WorkOrderBody
from collector.web.common import ApiError, bad_param, camwatch, iso, json_response, not_found
from collector.web.inputs import MAX_TEXT, CloseWorkOrder, NewSilence, json_body
from collector.web.params import choice, flag, page, path_int
from collector.web.principal import principal_of
from collector.web.scope import SHARED_ORDER_WORDS, order_actionable, order_visible, tied_visible, visibility
from inventory.models import Silence, WorkOrder

MAX_BODY = 16 * 1024


def order_json(o: Any, now: dt.datetime) -> WorkOrderBody:
    return {
        "id": o.id, "incident": o.incident_key, "title": o.title, "status": str(o.status.value),
        "color": color(o, now).value, "severity": o.severity, "cause": o.cause, "camera_id": o.camera_id,
        "region_code": o.region_code, "cameras": o.cameras, "opened_at": iso(o.opened_at), "deadline": iso(o.deadline),
        "acknowledged_at": iso(o.acknowledged_at), "resolved_at": iso(o.resolved_at),
        "resolution": None if o.resolution is None else str(getattr(o.resolution, "value", o.resolution)),
        "note": o.note, "response_s": o.response_s, "repair_s": o.repair_s,
    }


async def list_orders(request: web.Request) -> web.Response:
    app = camwatch(request)
    now = app.clock()
    want = choice(request, "color", Color)
    open_only = flag(request, "open")
    orders = await store.list_work_orders(app.engine, open_only=open_only is True)
    p, slots, paths = await visibility(request)
    items = [order_json(o, now) for o in orders if order_visible(p, slots, paths, o.camera_id, o.region_code, o.camera_ids)]
    if want is not None:
        items = [i for i in items if i["color"] == want]
    paging = page(request)
    return json_response(paging.apply(items))


async def _may_act(request: web.Request, order_id: int) -> None:
    """404 for an order out of the principal's scope (as if it did not exist); 403 saying why for
    one it reads but may not act on (a contractor's order that has another contractor's cameras)."""
    p, slots, paths = await visibility(request)
    if p is None:
        return
    found = await store.find_orders(camwatch(request).engine, WorkOrder.id == order_id, limit=1)
    if not found or not order_visible(p, slots, paths, found[0].camera_id, found[0].region_code, found[0].camera_ids):
        raise not_found(f"no work order {order_id}")
    if not order_actionable(p, slots, found[0].camera_id, found[0].camera_ids):
        raise ApiError(403, "forbidden", f"{SHARED_ORDER_WORDS[1]} / {SHARED_ORDER_WORDS[0]}")


async def ack_order(request: web.Request) -> web.Response:
    app = camwatch(request)
    await _may_act(request, path_int(request, "id"))
    try:
        who = principal_of(request)
        order = await store.acknowledge_order(app.engine, path_int(request, "id"), app.clock(),
                                              who.name if who is not None else "api")
    except store.NotFound as exc:
        raise not_found(str(exc)) from None
    except WorkOrderError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return json_response(order_json(order, app.clock()))


async def close_order(request: web.Request) -> web.Response:
    app = camwatch(request)
    body = await json_body(request, CloseWorkOrder, tz=app.settings.accounting.timezone, max_bytes=MAX_BODY)
    await _may_act(request, path_int(request, "id"))
    try:
        order = await store.close_order(app.engine, path_int(request, "id"), app.clock(), body.note[:MAX_TEXT])
    except store.NotFound as exc:
        raise not_found(str(exc)) from None
    except WorkOrderError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return json_response(order_json(order, app.clock()))


def silence_json(s: Any) -> SilenceBody:
    return {"id": s.id, "camera_id": s.camera_id, "region_code": s.region_code, "until": iso(s.until), "reason": s.reason}


async def list_silences(request: web.Request) -> web.Response:
    app = camwatch(request)
    rows = await store.list_silences(app.engine, app.clock(), include_expired=flag(request, "all") is True)
    p, slots, paths = await visibility(request)
    rows = tuple(s for s in rows if tied_visible(p, slots, paths, s.camera_id, s.region_code))
    return json_response(page(request).apply([silence_json(s) for s in rows]))


async def add_silence(request: web.Request) -> web.Response:
    app = camwatch(request)
    body = await json_body(request, NewSilence, tz=app.settings.accounting.timezone, max_bytes=MAX_BODY)
    camera_id, region_code, until = body.camera_id, body.region_code, body.until
    p, slots, paths = await visibility(request)
    if not tied_visible(p, slots, paths, camera_id, region_code):  # out of scope: as if unknown
        raise ApiError(400, "unknown_reference", "no such camera or region",
                       param="camera_id" if camera_id is not None else "region_code")
    now = app.clock()
    if until <= now:
        raise bad_param("until", f"{until.isoformat()!r} is not in the future")
    reason = body.reason
    try:
        new_id = await store.add_silence(app.engine, until=until.astimezone(dt.UTC), camera_id=camera_id,
                                         region_code=region_code, reason=reason[:2000], now=now)
    except store.NotFound as exc:
        raise ApiError(400, "unknown_reference", str(exc), param="camera_id" if camera_id is not None else "region_code") from None
    if app.alerting is not None:
        await app.alerting.refresh()
    rows = await store.list_silences(app.engine, now)
    made = next((s for s in rows if s.id == new_id), None)
    return json_response(silence_json(made) if made else {"id": new_id}, status=201,
                         headers={"Location": f"/api/v1/silences/{new_id}"})


async def end_silence(request: web.Request) -> web.Response:
    app = camwatch(request)
    sid = path_int(request, "id")
    p, slots, paths = await visibility(request)
    if p is not None:
        async with app.engine.connect() as conn:
            row = (await conn.execute(select(Silence.camera_id, Silence.region_code).where(Silence.id == sid))).first()
        if row is None or not tied_visible(p, slots, paths, row.camera_id, row.region_code):
            raise not_found(f"no silence {sid}")
    if not await store.end_silence(app.engine, sid, app.clock()):
        raise not_found(f"no silence {request.match_info['id']}")
    if app.alerting is not None:
        await app.alerting.refresh()
    return web.Response(status=204)
