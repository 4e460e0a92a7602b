"""``/exclusions`` (报备): the list (with each one's status), the add form (approved at once) and "end now"
(one in force is ``ended`` at this moment, one to come removed; one already over is kept and the reader
told why: the rule of ``camwatch exclusion end``, :mod:`collector.reports.exclusion_end`). Proposals
and their decisions: :mod:`collector.web.pages.proposals_page`.

Adding validates the form with the API's own model (:class:`collector.web.inputs.NewExclusion`: camera
xor region, start before end, reason and approver required): a form that does not validate is shown
again with its values and the field named, in the reader's language (400). Both writes need the
``approve_exclusion`` action and the session's CSRF token (auth middleware), make the collector
reload at once, like the API, and leave an audit row saying what was done (the exclusion's id,
camera or region, period and reason: :func:`collector.web.exclusions.describe`).

Who reads which exclusion is the API's rule (:func:`collector.web.scope.exclusion_clause`): the
page and ``GET /api/v1/exclusions`` list the same ones. One added over a closed month is kept; the
page it leads to lists it first (whatever the filter) under a note naming the month, whose signed
figures do not change until it is reopened (:func:`collector.web.exclusions.closed_warning`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import Select, func, insert, select

from collector.reports.exclusion_end import Step, closed_months, end_exclusion, kept_words
from collector.web.audit import AUDIT_DETAIL
from collector.web.auth import require
from collector.web.common import camwatch
from collector.web.exclusions import closed_warning, describe
from collector.web.inputs import InvalidBody, NewExclusion, form_body
from collector.web.pages.derived import regions_of
from collector.web.pages.render import (
    PAGE_SIZE,
    Paged,
    View,
    form_token,
    not_found_page,
    path_id,
    redirect,
    render,
    view,
)
from collector.web.pages.scope import Regions, can_camera, load_regions
from collector.web.principal import Action
from collector.web.scope import exclusion_clause, tied_paths, tied_visible
from inventory.models import COUNTED_EXCLUSIONS, Camera, Exclusion, ExclusionStatus, Region, utcnow

log = logging.getLogger("camwatch.web")


def readable_exclusion(v: View, x: Any, regions: Regions) -> bool:
    """One exclusion the reader may see (the API's rule, :func:`collector.web.scope.tied_visible`;
    its own proposals too)."""
    p = v.principal
    if p is None or p.reads_all():
        return True
    slots = camwatch(v.request).scheduler.slots
    return x.proposer == p.name or tied_visible(p, slots, tied_paths(p, slots, regions.paths()), x.camera_id,
                                                x.region_code)


def scoped(v: View, regions: Regions, q: Select[Any]) -> Select[Any]:
    """*q* over exclusions cut to those the reader may see: the API's list's clause."""
    p = v.principal
    if p is None or p.reads_all():
        return q
    return q.where(exclusion_clause(p, camwatch(v.request).scheduler.slots, regions.paths()))


FIELDS = ("camera_id", "region_code", "start", "end", "reason", "approver")
LOCAL = "%Y-%m-%dT%H:%M"


async def _page(request: web.Request, *, values: dict[str, str] | None = None, error: str | None = None,
                status: int = 200) -> web.Response:
    """The list and the add form (*values*: what was typed, shown again with *error*)."""
    v = view(request)
    app = camwatch(request)
    regions = await regions_of(request)
    active = request.query.get("active", "true") != "false"
    q = scoped(v, regions, select(Exclusion))
    added, note = _added(request), None
    async with app.engine.connect() as conn:
        rows = (await conn.execute((q.where(Exclusion.end > v.now) if active else q)
                                   .order_by(Exclusion.start.desc(), Exclusion.id.desc()))).all()
        first = (await conn.execute(q.where(Exclusion.id == added))).first() if added is not None else None
        if first is not None:  # the one just added, first whatever the filter, the closed months said
            rows = [first, *(x for x in rows if x.id != first.id)]
            months = await closed_months(conn, first.start, first.end, app.settings.accounting.timezone)
            note = closed_warning(first.id, months, v.lang) if months else None
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(page, pages)
    slots = app.scheduler.slots
    items = [{"id": x.id, "camera_id": x.camera_id, "camera": slots[x.camera_id].cam.name if x.camera_id in slots else "",
              "region_code": x.region_code, "region": regions.name(x.region_code) if x.region_code else "",
              "start": v.when(x.start), "end": v.when(x.end), "reason": x.reason, "approver": x.approver,
              "live": x.start <= v.now < x.end and x.status in COUNTED_EXCLUSIONS, "future": x.start > v.now,
              "over": x.end <= v.now, "status": x.status, "proposer": x.proposer or "", "decider": x.decider or "",
              "endable": x.status == ExclusionStatus.APPROVED.value and x.end > v.now}
             for x in rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    p = v.principal
    can = p is not None and p.can(Action.APPROVE_EXCLUSION)
    waiting = sum(1 for x in rows if x.status == ExclusionStatus.PROPOSED.value)
    local = v.now.astimezone(v.tz)
    defaults = {"camera_id": "", "region_code": "", "start": local.strftime(LOCAL),
                "end": (local + dt.timedelta(hours=4)).strftime(LOCAL), "reason": "", "approver": p.name if p is not None else ""}
    return render(v, "exclusions.html", {
        "page": Paged(items, page, pages, len(rows)), "active": active, "can": can,
        "csrf": form_token(v), "values": {**defaults, **(values or {})},
        "error": error, "waiting": waiting, "note": note, "added": first.id if first is not None else None,
        "can_propose": p is not None and p.can(Action.PROPOSE_EXCLUSION)}, status=status)


async def exclusions_page(request: web.Request) -> web.Response:
    return await _page(request)


def _added(request: web.Request) -> int | None:
    """``?added=ID``: the exclusion the add form just stored."""
    text = request.query.get("added", "")
    return int(text) if text.isdigit() and len(text) <= 18 else None


def form_error(v: View, exc: InvalidBody, label: str | None = None) -> str:
    """``请检查：结束（应晚于开始时间）``: the field in the reader's words (*label*: the word's key,
    default the field's), and what is wrong with it in the reader's language."""
    what = exc.words(v.lang)
    named = v.t("form_error", field=v.t(label or exc.field))
    return f"{named} ({what})" if v.lang == "en" else f"{named}（{what}）"


async def _reload(app: Any) -> None:
    try:
        await app.reload()
    except Exception as exc:  # noqa: BLE001 - the periodic reload will pick the change up
        log.warning("reload after an exclusion change failed: %s", str(exc).splitlines()[0][:200] if str(exc) else exc)


async def add_post(request: web.Request) -> web.StreamResponse:
    p = require(request, Action.APPROVE_EXCLUSION)
    v = view(request)
    app = camwatch(request)
    form = await request.post()
    values = {k: str(form.get(k) or "") for k in FIELDS}

    async def again(exc: InvalidBody) -> web.Response:
        return await _page(request, values=values, error=form_error(v, exc), status=400)

    try:
        new = await form_body(request, NewExclusion, tz=app.settings.accounting.timezone, defaults={"approver": p.name})
    except InvalidBody as exc:
        return await again(exc)
    regions = await load_regions(app.engine)
    if new.camera_id is not None:
        slot = app.scheduler.slots.get(new.camera_id)
        if slot is None or not can_camera(p, slot):
            return await again(_no_camera(new.camera_id))
    elif new.region_code not in regions.by_code or not p.in_regions(regions.path(new.region_code)):
        return await again(_no_region(new.region_code))
    async with app.engine.begin() as conn:
        if new.camera_id is not None:
            found = (await conn.execute(select(func.count()).select_from(Camera).where(Camera.id == new.camera_id))).scalar_one()
        else:
            found = (await conn.execute(select(func.count()).select_from(Region).where(Region.code == new.region_code))).scalar_one()
        if found:
            res = await conn.execute(insert(Exclusion).values(
                camera_id=new.camera_id, region_code=new.region_code, start=new.start, end=new.end, reason=new.reason,
                approver=new.approver, created_at=utcnow(), status=ExclusionStatus.APPROVED.value))
            xid = int(res.inserted_primary_key[0])  # type: ignore[index]
            row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).one()
            closed = await closed_months(conn, row.start, row.end, app.settings.accounting.timezone)
    if not found:  # (the page is read again outside the transaction)
        return await again(_no_camera(new.camera_id) if new.camera_id is not None else _no_region(new.region_code))
    request[AUDIT_DETAIL] = describe(row, "added") + (f"; closed months: {', '.join(closed)}" if closed else "")
    log.info("exclusion #%d added on the console by %s", xid, p.name)
    await _reload(app)
    over = row.end <= app.clock()
    raise redirect(f"/exclusions?added={xid}" + ("&active=false" if over or closed else ""))


def _no_camera(camera_id: int) -> InvalidBody:
    return InvalidBody("camera_id", f"no camera with id {camera_id}", f"没有编号为 {camera_id} 的摄像机，或它不在您的范围内")


def _no_region(code: str | None) -> InvalidBody:
    return InvalidBody("region_code", f"no region with code {code!r}", f"没有区划代码为 {code} 的区域，或它不在您的范围内")


async def end_post(request: web.Request) -> web.StreamResponse:
    """End an exclusion now, as ``camwatch exclusion end`` (:func:`end_exclusion`): one in force ends at
    this moment, one to come is removed; one already over is part of the counted figures and is kept,
    the reader told so (409: the console offers no force)."""
    p = require(request, Action.APPROVE_EXCLUSION)
    v = view(request)
    app = camwatch(request)
    xid = path_id(request)
    if xid is None:
        return not_found_page(v)
    regions = await load_regions(app.engine)
    tz = app.settings.accounting.timezone
    async with app.engine.begin() as conn:
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).first()
        if row is None or not readable_exclusion(v, row, regions) or (row.region_code and not p.in_regions(regions.path(row.region_code))):
            return not_found_page(v)
        if row.status not in COUNTED_EXCLUSIONS:
            return not_found_page(v)  # a proposal is decided on /exclusions/proposals, a rejected one stays so
        ending = await end_exclusion(conn, xid, app.clock(), tz)  # (audited by the auth middleware)
    if ending is None:
        return not_found_page(v)
    if not ending.done:
        text = kept_words(ending, v.lang, tz, console=True)
        return render(v, "message.html", {"title": v.t("error"), "text": text, "back": "/exclusions"}, status=409)
    request[AUDIT_DETAIL] = f"{ending.detail()}; exclusion #{xid} {'ended' if ending.step is Step.END else 'removed'}"
    log.info("exclusion #%d %s on the console by %s", xid, "ended" if ending.step is Step.END else "removed", p.name)
    await _reload(app)
    raise redirect("/exclusions")
