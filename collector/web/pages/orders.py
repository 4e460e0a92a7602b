"""``/workorders`` (the list, by colour) and ``/incidents/{id}`` (what an alert's 详情 link opens
when the incident has several cameras), with the acknowledge and close forms.

The forms POST to ``/workorders/{id}/ack`` and ``/workorders/{id}/close``: the same store calls
as the API (:mod:`collector.web.workorders`), behind the session's CSRF token (checked by the
auth middleware) and the role's action (:func:`collector.web.auth.require`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.alerting import incident_store as store
from collector.alerting.workorders import Color, OrderStatus, WorkOrder, WorkOrderError, color, is_picture, order_title
from collector.runtime.camera_state import State
from collector.web.auth import require
from collector.web.common import camwatch
from collector.web.inputs import CloseWorkOrder, InvalidBody, form_body
from collector.web.pages.derived import regions_of
from collector.web.pages.exclusions_page import form_error
from collector.web.pages.i18n import clock_only
from collector.web.pages.render import View, form_token, not_found_page, paginate, path_id, redirect, render, view
from collector.web.pages.scope import Regions, can_act, can_camera, can_order
from collector.web.principal import Action
from collector.web.scope import SHARED_ORDER_WORDS
from inventory.models import Device, Incident
from inventory.models import WorkOrder as WorkOrderRow
from probes.causes import Cause

MAX_NOTE = 2000
UPLINK = Cause.UPSTREAM_DOWN.value
RESOLVED_AT = ("完成时间", "Resolved at")  # the full list's column: when a done (已完成) order was closed


async def stored_orders(engine: AsyncEngine, where: ColumnElement[bool], limit: int = 50) -> list[WorkOrder]:
    """Work orders matching *where*, newest first, read as the store reads them (with their
    incidents' cameras: who may see and act on each)."""
    return await store.find_orders(engine, where, limit)


async def order_checks(engine: AsyncEngine, orders: Sequence[WorkOrder], lang: str) -> dict[str, tuple[str, ...]]:
    """The failed checks of the picture incidents of *orders*, by incident: an English title names
    them (the stored Chinese one has them already: none read for a Chinese page)."""
    keys = [o.incident_key for o in orders if is_picture(o)] if lang == "en" else []
    if not keys:
        return {}
    async with engine.connect() as conn:
        return await store.picture_checks(conn, keys)


def order_item(v: View, o: WorkOrder, regions: Regions, names: dict[int, str],
               checks: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    where = regions.name(o.region_code) if o.region_code else ""
    village = regions.by_code.get(o.region_code or "")
    town = regions.by_code.get(village.parent or "") if village is not None else None
    # the title in the page's language (the stored one is Chinese: what the alert said)
    title = order_title(o, v.lang, camera=names.get(o.camera_id or 0, ""), village=village.name if village else "",
                        township=town.name if town else "", checks=(checks or {}).get(o.incident_key, ()))
    # an open order the reader sees but may not act on: why, instead of its forms (a contractor's
    # order that has another contractor's cameras too)
    shared = o.status is not OrderStatus.RESOLVED and not can_act(v.principal, o, camwatch(v.request).scheduler.slots)
    return {"id": o.id, "incident": o.incident_key, "title": title, "status": o.status.value,
            "shared": SHARED_ORDER_WORDS[v.lang == "en"] if shared else "",
            "colour": color(o, v.now).value, "severity": o.severity, "cause": _causes(v, o),
            "camera_id": o.camera_id, "camera": names.get(o.camera_id or 0, ""), "region": where,
            "region_code": o.region_code, "cameras": o.cameras, "opened": v.when(o.opened_at),
            "deadline": v.when(o.deadline), "acknowledged": v.when(o.acknowledged_at) if o.acknowledged_at else "",
            "resolved": v.when(o.resolved_at) if o.resolved_at else "", "note": o.note or "", "open": o.status.value != "resolved"}


def _causes(v: View, o: WorkOrder) -> str:
    """The order's cause in words; an open order of several cameras down for different reasons
    says each with its count (as its alert did: ``端口关闭 1 台；无视频画面 2 台``), not one for all
    (when this process watches them all: a replica serving another's cameras says the order's own)."""
    if o.status is not OrderStatus.RESOLVED and len(o.camera_ids) > 1:
        slots = camwatch(v.request).scheduler.slots
        counts: dict[Cause, int] = {}
        if not all(cid in slots for cid in o.camera_ids):  # (a replica's shards: not all its cameras here)
            return v.cause(o.cause) if o.cause else ""
        for cid in o.camera_ids:
            slot = slots[cid]
            if slot.status.state is State.OFFLINE and slot.status.cause is not None:
                counts[slot.status.cause] = counts.get(slot.status.cause, 0) + 1
        if len(counts) > 1:
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].value))
            if v.lang == "en":
                return "; ".join(f"{v.cause(c)}: {n} camera{'s' if n != 1 else ''}" for c, n in ranked)
            return "；".join(f"{v.cause(c)} {n} 台" for c, n in ranked)
    return v.cause(o.cause) if o.cause else ""


def urgent_first(orders: list[WorkOrder]) -> list[WorkOrder]:
    """What to fix first: the open orders by deadline (the overdue ones first, then the nearest),
    then the done ones as the store lists them (newest first)."""
    live = sorted((o for o in orders if o.status is not OrderStatus.RESOLVED), key=lambda o: (o.deadline, o.id))
    return live + [o for o in orders if o.status is OrderStatus.RESOLVED]


def form_context(v: View) -> dict[str, Any]:
    p = v.principal
    return {"csrf": form_token(v),
            "can_ack": p is not None and p.can(Action.ACK_WORKORDER),
            "can_close": p is not None and p.can(Action.CLOSE_WORKORDER)}


async def workorders_page(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    regions = await regions_of(request)
    want = request.query.get("color") or None
    want = want if want in {c.value for c in Color} else None
    open_only = request.query.get("open", "true") != "false"
    slots = app.scheduler.slots
    orders = urgent_first([o for o in await store.list_work_orders(app.engine, open_only=open_only)
                           if can_order(v.principal, o, slots, regions) and (want is None or color(o, v.now).value == want)])
    names = {cid: s.cam.name for cid, s in slots.items()}
    page = paginate(orders, request)
    checks = await order_checks(app.engine, page.items, v.lang)
    page = dataclasses.replace(page, items=[order_item(v, o, regions, names, checks) for o in page.items])
    return render(v, "workorders.html", {"page": page, "want": want, "open_only": open_only,
                                         "colours": [c.value for c in Color], **form_context(v),
                                         # the full list (done ones too): when each was done
                                         "resolved_col": None if open_only else RESOLVED_AT[v.lang == "en"]})


async def incident_page(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    key = request.match_info["id"]
    async with app.engine.connect() as conn:
        inc = (await conn.execute(select(Incident).where(Incident.id == key))).first()
    if inc is None:
        return not_found_page(v)
    slots = app.scheduler.slots
    regions = await regions_of(request)
    members = []
    for m in inc.members:
        cid = int(str(m.get("camera")))
        slot = slots.get(cid)
        if v.principal is not None and (slot is None or not can_camera(v.principal, slot)):
            continue
        members.append({"id": cid, "name": slot.cam.name if slot else f"#{cid}", "cause": v.cause(str(m.get("cause") or "")),
                        "checks": v.checks(store.member_checks(m)), "start": v.when(_dt(m.get("start"))),
                        "up_at": v.when(_dt(m.get("up_at"))) if m.get("up_at") else "",
                        "state": slot.shown.value if slot else "unknown",
                        "state_words": v.state(slot.shown.value, slot.failed_checks()) if slot else v.state("unknown")})
    village_ok = inc.village_code is not None and v.principal is not None and \
        v.principal.role.value != "contractor" and v.principal.in_regions(regions.path(inc.village_code))
    if v.principal is not None and not members and not village_ok:
        return not_found_page(v)
    # (as on the list: a contractor's when one of its cameras is the contractor's, as a member here is)
    orders = [o for o in await stored_orders(app.engine, WorkOrderRow.incident_key == key)
              if can_order(v.principal, o, slots, regions)]
    town = regions.by_code[inc.village_code].parent if inc.village_code in regions.by_code else None
    names = {cid: s.cam.name for cid, s in slots.items()}
    # a suspected uplink failure (what the alert and the work order said): named as such, with the
    # device, even when the members' last probes read "timeout" (the incident's own cause)
    uplink = inc.cause == UPLINK or any(o.cause == UPLINK for o in orders)
    device = await _device_name(app.engine, inc.device_id)
    where = regions.name(inc.village_code) if inc.village_code in regions.by_code else device
    return render(v, "incident.html", {
        "heading": incident_heading(v, inc, where, names),
        "down_words": v.state("degraded", store.incident_checks(inc.members)) if inc.kind == "picture" else v.state("offline"),
        "inc": inc, "village": regions.name(inc.village_code), "village_code": inc.village_code,
        "township_code": town, "township": regions.name(town),
        "cause": v.cause(UPLINK if uplink else inc.cause), "uplink": uplink,
        "device": device,
        "members": members, "orders": [order_item(v, o, regions, names, {key: store.incident_checks(inc.members)}) for o in orders],
        **form_context(v)})


def incident_heading(v: View, inc: Any, where: str, names: dict[int, str]) -> str:
    """What an incident page is called (*inc*: its ``incidents`` row): where, what, since when
    (local), e.g. "小下营2 · 5 台摄像机离线 · 12-05 14:34"; the page shows the raw id under it, small."""
    cams = [int(str(m.get("camera"))) for m in inc.members]
    if inc.kind == "picture" and cams:  # (its camera's clock alone: a clock offset, not a bad picture)
        clock = clock_only(store.incident_checks(inc.members))
        what = v.t("incident_clock" if clock else "incident_picture", camera=names.get(cams[0], f"#{cams[0]}"))
    else:
        n = max(inc.down, len(cams))
        what = v.t("incident_outage_one") if n == 1 else v.t("incident_outage", n=n)
    start = inc.start.astimezone(v.tz).strftime("%m-%d %H:%M")
    return " · ".join(x for x in (where, what, start) if x)


async def _device_name(engine: AsyncEngine, device_id: int | None) -> str:
    """The incident's upstream device (the cameras' shared 4G router, switch or NVR), "" when none."""
    if device_id is None:
        return ""
    async with engine.connect() as conn:
        return str((await conn.execute(select(Device.name).where(Device.id == device_id))).scalar_one_or_none() or "")


def _dt(value: object) -> dt.datetime | None:
    """An incident member's ISO time (stored as JSON)."""
    return dt.datetime.fromisoformat(str(value)) if value else None


def _back(request: web.Request, fallback: str) -> str:
    target = request.query.get("next") or fallback
    return target if target.startswith("/") and not target.startswith("//") else fallback


async def _order_in_scope(request: web.Request, oid: int) -> WorkOrder | None:
    """The order *oid*, None when unknown or out of the reader's scope."""
    app = camwatch(request)
    v = view(request)
    orders = await stored_orders(app.engine, WorkOrderRow.id == oid, limit=1)
    regions = await regions_of(request)
    return orders[0] if orders and can_order(v.principal, orders[0], app.scheduler.slots, regions) else None


async def _transition(request: web.Request, action: Action, note: str | None) -> web.StreamResponse:
    require(request, action)
    v = view(request)
    app = camwatch(request)
    oid = path_id(request)
    if oid is None:
        return not_found_page(v)
    order = await _order_in_scope(request, oid)
    if order is None:
        return not_found_page(v)
    if not can_act(v.principal, order, app.scheduler.slots):  # read, but another contractor's cameras too
        return render(v, "message.html", {"title": v.t("forbidden"), "text": SHARED_ORDER_WORDS[v.lang == "en"],
                                          "back": _back(request, "/workorders")}, status=403)
    try:
        if note is None:
            await store.acknowledge_order(app.engine, oid, app.clock(), v.principal.name if v.principal else None)
        else:
            await store.close_order(app.engine, oid, app.clock(), note)
    except store.NotFound:
        return not_found_page(v)
    except WorkOrderError as exc:
        return render(v, "message.html", {"title": v.t("error"), "text": str(exc), "back": _back(request, "/workorders")},
                      status=409)
    raise redirect(_back(request, "/workorders"))


async def ack_post(request: web.Request) -> web.StreamResponse:
    return await _transition(request, Action.ACK_WORKORDER, None)


async def close_post(request: web.Request) -> web.StreamResponse:
    require(request, Action.CLOSE_WORKORDER)  # the role first: one that may not close is told so, whatever the note
    try:
        body = await form_body(request, CloseWorkOrder, tz=camwatch(request).settings.accounting.timezone)
    except InvalidBody as exc:
        v = view(request)
        return render(v, "message.html", {"title": v.t("error"), "text": form_error(v, exc),
                                          "back": _back(request, "/workorders")}, status=400)
    return await _transition(request, Action.CLOSE_WORKORDER, body.note[:MAX_NOTE])
