"""``/api/v1/exclusions``: list, add (camera xor region, start, end, reason, approver), end or remove.

Each has a status (:class:`inventory.models.ExclusionStatus`): one added here is approved at once
(the writer holds ``approve_exclusion``); a contractor's proposal (:mod:`collector.web.proposals`)
waits for approval and counts only once approved.

``DELETE`` follows the rule of ``camwatch exclusion end|remove`` and of the console's "end"
(:func:`collector.reports.exclusion_end.end_exclusion`): one in force ends now (200, the row as it
is now: ``ended``, its elapsed part still excluded); one to come, a proposal or a rejected one is
removed (204); one already over and counted is kept (409, saying why) unless ``force=true`` (204),
and never removed while a month it touches is closed (409 naming the months). The auth middleware
audits each change, with what was done (:func:`describe`: the exclusion's id, camera or region,
period and reason; for ``DELETE``, what became of the row).

One added over a month already closed (``report close``) is kept, and the answer says so in a
``warning`` (:func:`closed_warning`): the month's signed figures do not change until it is reopened.

The same rows as ``camwatch exclusion add|list|end``. After a write the collector reloads at
once, so the cameras concerned are shown as excluded (or no longer) without waiting for the
periodic reload.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select

from collector.reports.exclusion_end import Step, closed_months, end_exclusion, kept_words
from collector.web.audit import AUDIT_DETAIL
from collector.web.bodies import Exclusion as ExclusionBody
from collector.web.bodies import ExclusionPage
from collector.web.common import ApiError, bad_param, camwatch, iso, json_response, not_found
from collector.web.inputs import MAX_ID, NewExclusion, json_body
from collector.web.params import choice, flag, page, path_int, text_param
from collector.web.scope import exclusion_clause, reader, region_paths, tied_visible, visibility
from inventory.models import Camera, Exclusion, ExclusionStatus, Region, utcnow

log = logging.getLogger("camwatch.web")


def exclusion_json(row: Any) -> ExclusionBody:
    return {"id": row.id, "camera_id": row.camera_id, "region_code": row.region_code, "start": iso(row.start) or "",
            "end": iso(row.end) or "", "reason": row.reason, "approver": row.approver, "created_at": iso(row.created_at),
            "status": row.status, "proposer": row.proposer, "decider": row.decider, "decided_at": iso(row.decided_at),
            "decision_note": row.decision_note}


def describe(x: Any, done: str | None = None) -> str:
    """An audit row's words for exclusion *x*: ``exclusion #12 proposed: camera 5, <start> .. <end>;
    reason: …`` (*done*: what was done, default its status)."""
    scope = f"camera {x.camera_id}" if x.camera_id is not None else f"region {x.region_code}"
    said = f"exclusion #{x.id} {done or x.status}: {scope}, {x.start.isoformat()} .. {x.end.isoformat()}; reason: {x.reason}"
    return said + (f"; approver: {x.approver}" if x.approver else "")


def closed_warning(xid: int, months: tuple[str, ...], lang: str) -> str:
    """What adding exclusion *xid* over the closed *months* did not change, in *lang*."""
    m = months[0] if months else ""
    if lang == "en":
        return (f"exclusion #{xid} was added, but {', '.join(months)} is closed (report close): its signed figures "
                f"do not change until the month is reopened (camwatch report reopen --month {m} --reason \"…\", "
                f"audited) and closed again")
    return (f"报备 #{xid} 已添加，但 {'、'.join(months)} 已结算（report close）：该月已签字的数字不会因此改变，"
            f"须先重新打开该月（camwatch report reopen --month {m} --reason \"…\"，记入审计日志）再重新结算")


async def _reload(request: web.Request) -> None:
    try:
        await camwatch(request).reload()
    except Exception as exc:  # noqa: BLE001 - the periodic reload will pick the change up
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.warning("reload after an exclusion change failed: %s", first)


async def list_exclusions(request: web.Request) -> web.Response:
    app = camwatch(request)
    paging = page(request)
    q = select(Exclusion)
    cid = text_param(request, "camera_id")
    if cid is not None:
        try:
            wanted = int(cid)
        except ValueError:
            raise bad_param("camera_id", f"not an integer: {cid!r}") from None
        if not 1 <= wanted <= MAX_ID:
            raise bad_param("camera_id", f"must be between 1 and {MAX_ID} (got {cid})")
        q = q.where(Exclusion.camera_id == wanted)
    region = text_param(request, "region_code")
    if region is not None:
        q = q.where(Exclusion.region_code == region)
    active = flag(request, "active")
    if active is not None:
        now = app.clock()
        in_force = (Exclusion.start <= now) & (Exclusion.end > now) & Exclusion.counted()
        q = q.where(in_force if active else ~in_force)
    status = choice(request, "status", ExclusionStatus)
    if status is not None:
        q = q.where(Exclusion.status == status.value)
    p = reader(request)
    if p is not None:  # the principal's scope: its cameras, its regions (the console's pages read the same)
        q = q.where(exclusion_clause(p, app.scheduler.slots, await region_paths(app.engine)))
    async with app.engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
        rows = (await conn.execute(q.order_by(Exclusion.start, Exclusion.id).limit(paging.limit).offset(paging.offset))).all()
    body: ExclusionPage = {"items": [exclusion_json(r) for r in rows], "total": total,
                           "limit": paging.limit, "offset": paging.offset}
    return json_response(body)


async def add_exclusion(request: web.Request) -> web.Response:
    app = camwatch(request)
    new = await json_body(request, NewExclusion, tz=app.settings.accounting.timezone)
    p, slots, paths = await visibility(request)
    if not tied_visible(p, slots, paths, new.camera_id, new.region_code):  # out of scope: as if unknown
        field = "camera_id" if new.camera_id is not None else "region_code"
        raise ApiError(400, "unknown_reference", f"no {field.replace('_', ' ')} {new.camera_id or new.region_code!r}",
                       param=field)
    async with app.engine.begin() as conn:
        if new.camera_id is not None:
            found = (await conn.execute(select(Camera.id).where(Camera.id == new.camera_id))).first() is not None
            field, what = "camera_id", f"no camera with id {new.camera_id}"
        else:
            found = (await conn.execute(select(Region.code).where(Region.code == new.region_code))).first() is not None
            field, what = "region_code", f"no region with code {new.region_code!r}"
        if not found:
            raise ApiError(400, "unknown_reference", what, param=field)
        res = await conn.execute(insert(Exclusion).values(
            camera_id=new.camera_id, region_code=new.region_code, start=new.start, end=new.end,
            reason=new.reason, approver=new.approver, created_at=utcnow(), status=ExclusionStatus.APPROVED.value))
        new_id = int(res.inserted_primary_key[0])  # type: ignore[index]
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == new_id))).one()
        closed = await closed_months(conn, row.start, row.end, app.settings.accounting.timezone)
    request[AUDIT_DETAIL] = describe(row, "added") + (f"; closed months: {', '.join(closed)}" if closed else "")
    log.info("exclusion #%d added over the API by %s", new_id, new.approver)
    await _reload(request)
    item = exclusion_json(row)
    if closed:  # kept, but the signed figures of those months stay as they were
        item["warning"] = {"code": "closed_month", "months": list(closed),
                           "en": closed_warning(new_id, closed, "en"), "zh": closed_warning(new_id, closed, "zh")}
    return json_response(item, status=201, headers={"Location": f"/api/v1/exclusions/{new_id}"})


async def delete_exclusion(request: web.Request) -> web.Response:
    """End one in force now (200, the row), remove one to come or never counted (204); one over is
    kept (409) unless ``force=true`` (204), and even forced while a month it touches is closed."""
    app = camwatch(request)
    xid = path_int(request, "id")
    force = bool(flag(request, "force"))
    tz = app.settings.accounting.timezone
    p, slots, paths = await visibility(request)
    async with app.engine.begin() as conn:
        row = (await conn.execute(select(Exclusion.camera_id, Exclusion.region_code).where(Exclusion.id == xid))).first()
        if row is None or not tied_visible(p, slots, paths, row.camera_id, row.region_code):
            raise not_found(f"no exclusion #{xid}")
        ending = await end_exclusion(conn, xid, app.clock(), tz, force=force)  # (audited by the auth middleware)
        if ending is None:
            raise not_found(f"no exclusion #{xid}")
        if not ending.done:
            raise ApiError(409, "conflict", kept_words(ending, "en", tz))
        after = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).first()
    request[AUDIT_DETAIL] = f"{ending.detail()}; exclusion #{xid} {'ended' if ending.step is Step.END else 'removed'}"
    log.info("exclusion #%d %s over the API", xid, "ended" if ending.step is Step.END else "removed")
    await _reload(request)
    if ending.step is Step.END and after is not None:
        return json_response(exclusion_json(after))
    return web.Response(status=204)
