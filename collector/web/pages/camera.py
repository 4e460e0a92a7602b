"""``/cameras/{id}``: identity, current state and cause in words, the last probe ladder, failed
checks, 24 h / 7 d / 30 d timelines and availability, clock offset, the work orders that concern
the camera (its own and its village's: a village outage, a suspected uplink; scoped by the API's
rule, with the acknowledge and close forms the reader's role allows), and its exclusions with their
status (a proposal waiting for approval is listed but not applied).

Never a password: the camera's credentials are not read here, and every free-text probe detail
goes through :func:`probes.detail_words.safe_detail` with the camera's password (one that holds it
is not shown at all: no ``***`` at the password's place).
"""

from __future__ import annotations

import asyncio
import re
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, and_, or_, select

from collector.accounting import CameraRef
from collector.runtime.scheduler import CameraSlot
from collector.web.common import camwatch
from collector.web.pages.camera_history import WINDOWS, availability, camera_history, pieces, timelines
from collector.web.pages.orders import form_context, order_checks, order_item, stored_orders
from collector.web.pages.overview import unwatched_words
from collector.web.pages.render import View, duration_words, not_found_page, path_id, render, view
from collector.web.pages.scope import RegionInfo, Regions, camera_path, can_camera
from collector.web.principal import Action
from collector.web.scope import order_visible
from inventory.models import COUNTED_EXCLUSIONS, Camera, Device, Exclusion, WorkOrder
from probes.causes import Cause
from probes.detail_words import safe_detail

MAX_ORDERS = 20


def _stages(slot: CameraSlot, v: View, *, video: bool = False) -> list[dict[str, Any]]:
    last = slot.video_last if video else slot.last
    if last is None:
        return []
    pw = slot.cam.target.password
    return [{"stage": r.stage.value, "name": v.stage(r.stage.value), "ok": r.ok, "ms": round(r.duration_s * 1000.0, 1),
             "cause": v.cause(r.cause) if r.cause is not None else "",
             "detail": v.detail(_unrepeated(safe_detail(r.detail, (pw,)), r.cause)) if r.detail else ""}
            for r in last.stages]


def _unrepeated(detail: str, cause: Cause | None) -> str:
    """*detail* without a head that repeats the cause shown before it: "timeout: RTSP set-up not
    finished within 10 s" after 无响应（超时） reads "RTSP 会话建立 10 秒内未完成", not "超时：..."."""
    if cause is None:
        return detail
    if detail == cause.value:
        return ""
    head, sep, rest = detail.partition(": ")
    return rest if sep and head == cause.value and rest else detail


WARNING = re.compile(r"(reach|rtsp|onvif|frame) (\w+)(?:: (.*))?")  # probes.ladder.conclude's "<stage> <cause>: <detail>"


def _warning(text: str, v: View) -> str:
    """A ladder warning ("onvif onvif_error: timed out") in the page's words ("ONVIF 设备接口异常：超时")."""
    m = WARNING.fullmatch(text)
    if m is None:
        return v.detail(text)
    sep = ": " if v.lang == "en" else "："
    return f"{v.stage(m[1])} {v.cause(m[2])}" + (f"{sep}{v.detail(m[3])}" if m[3] else "")


async def _identity(request: web.Request, cid: int) -> Any:
    async with camwatch(request).engine.connect() as conn:
        return (await conn.execute(
            select(Camera.gb_id, Camera.vendor, Camera.model, Camera.firmware, Camera.contractor, Camera.lifecycle,
                   Device.name.label("device"))
            .outerjoin(Device, Camera.parent_device_id == Device.id).where(Camera.id == cid))).first()


def concerns(cid: int, path: tuple[str, ...]) -> ColumnElement[bool]:
    """SQL: work orders of the camera itself, and those of its village (or township, county): a
    village outage, a suspected uplink (device) failure."""
    return or_(WorkOrder.camera_id == cid, and_(WorkOrder.camera_id.is_(None), WorkOrder.region_code.in_(path)))


async def _orders_and_exclusions(request: web.Request, cid: int, path: tuple[str, ...]) -> tuple[list[Any], list[Any]]:
    async with camwatch(request).engine.connect() as conn:
        excl = (await conn.execute(select(Exclusion).where(or_(Exclusion.camera_id == cid, Exclusion.region_code.in_(path)))
                                   .order_by(Exclusion.start.desc()).limit(MAX_ORDERS))).all()
    return await stored_orders(camwatch(request).engine, concerns(cid, path), MAX_ORDERS), list(excl)


def region_names(slot: CameraSlot) -> dict[str, str]:
    lb = slot.cam.labels
    return {lb.county: lb.county_name, lb.township: lb.township_name, lb.village: lb.village_name}


def _order_rows(v: View, orders: list[Any], slot: CameraSlot, path: tuple[str, ...],
                checks: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """The orders the principal may read (a region-wide one by the API's rule: a contractor's when
    one of its cameras is the contractor's), as the order table shows them, each saying what it
    concerns (and, one the reader sees but may not act on, why)."""
    paths = {code: path[:i + 1] for i, code in enumerate(path)}
    slots = camwatch(v.request).scheduler.slots
    names = region_names(slot)
    lb = slot.cam.labels  # the camera's own places: what its orders' titles name
    places = Regions((RegionInfo(lb.village, lb.village_name, "village", lb.township),
                      RegionInfo(lb.township, lb.township_name, "township", None)))
    out = []
    for o in orders:
        if not order_visible(v.principal, slots, paths, o.camera_id, o.region_code, o.camera_ids):
            continue
        item = order_item(v, o, places, {slot.cam.id: slot.cam.name}, checks)
        item["region"] = names.get(o.region_code or "", o.region_code or "")
        item["concerns"] = v.t("this_camera") if o.camera_id is not None else v.t("whole_region", name=item["region"])
        out.append(item)
    return out


def camera_ref(slot: CameraSlot) -> CameraRef:
    lb = slot.cam.labels
    return CameraRef(slot.cam.id, slot.cam.point_id, lb.village, lb.township, lb.county, slot.cam.contractor)


async def camera_page(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    cid = path_id(request)
    if cid is None:
        return not_found_page(v)
    slot = app.scheduler.slots.get(cid)
    if slot is None or not can_camera(v.principal, slot):
        return not_found_page(v)
    ident = await _identity(request, cid)
    frames = app.frames
    frame_at = None if frames is None else await asyncio.to_thread(frames.taken_at, cid)
    now = v.now
    # the spans that can add time to the last 30 days, each cut at the camera's next span
    spans = await camera_history(app.engine, cid, now - WINDOWS[-1][1])
    orders, excl = await _orders_and_exclusions(request, cid, camera_path(slot))
    checks = await order_checks(app.engine, orders, v.lang)  # (an English title names a picture order's)
    lb = slot.cam.labels
    last = slot.last
    st = slot.status
    gap = app.since_bridge.of(slot.cam.id, st)
    since = st.since if gap is None else gap.since
    bars = timelines(pieces(spans, cid, now), now, v.tz, v.t, v.state_any)  # (a past span's checks are not kept)
    avail = availability(camera_ref(slot), spans, excl, now)
    watched = avail.pop("watched")
    return render(v, "camera.html", {
        "cam": slot.cam, "lb": lb, "ident": ident, "state": slot.shown.value, "probed": st.state.value,
        "state_words": v.state(slot.shown.value, slot.failed_checks()), "probed_words": v.state(st.state.value, slot.failed_checks()),
        "cause": v.cause(st.cause) if st.cause is not None else "", "since": v.when(since), "ago": v.lasting(since),
        "gap": "" if gap is None else unwatched_words(v, gap),
        "flapping": st.flapping, "checks": v.checks(slot.failed_checks()) if st.video_failed else "",
        "last_at": v.when(slot.last_at, seconds=True), "stages": _stages(slot, v),
        "video_stages": _stages(slot, v, video=True),
        "video_at": v.when(slot.video_last.at, seconds=True) if slot.video_last is not None else "",
        "clock_offset": None if last is None or last.clock_offset_s is None else v.seconds(last.clock_offset_s),
        "warnings": [_warning(safe_detail(w, (slot.cam.target.password,)), v) for w in last.warnings] if last is not None else [],
        "timelines": bars, "availability": avail,
        "watched": None if watched is None else v.t("watched", d=duration_words(watched, v.lang)),
        "video_off": not app.settings.collector.video,
        "orders": _order_rows(v, orders, slot, camera_path(slot), checks), "back": request.path_qs,
        "region_names": region_names(slot),
        "exclusions": [(x, x.start <= now < x.end and x.status in COUNTED_EXCLUSIONS) for x in excl],
        "can_propose": v.principal is not None and v.principal.can(Action.PROPOSE_EXCLUSION), **form_context(v),
        "frame_at": None if frame_at is None else v.when(frame_at, seconds=True),
    })


async def frame_jpeg(request: web.Request) -> web.Response:
    """``/cameras/{id}/frame.jpg``: the camera's last video-tier picture (:mod:`collector.runtime.frames`),
    scoped as its page is: a camera the reader may not see, or one without a picture, is 404."""
    v = view(request)
    app = camwatch(request)
    cid = path_id(request)
    slot = None if cid is None else app.scheduler.slots.get(cid)
    if cid is None or slot is None or not can_camera(v.principal, slot) or app.frames is None:
        return not_found_page(v)
    kept = await asyncio.to_thread(app.frames.read, cid)
    if kept is None:
        return not_found_page(v)
    return web.Response(body=kept.jpeg, content_type="image/jpeg", headers={
        "Cache-Control": "private, max-age=60", "Last-Modified": format_datetime(kept.at, usegmt=True)})


