"""``/exclusions/proposals`` (报备申请): the proposals waiting for a decision (``?status=all``: with the
decided ones), the approve and reject forms for an assessor or admin, and the propose form for a
contractor (or admin).

The forms POST to ``/exclusions/proposals``, ``/exclusions/{id}/approve`` and
``/exclusions/{id}/reject``: the same :func:`collector.web.proposals.propose` and
:func:`~collector.web.proposals.decide` as the API, the bodies validated by the API's models
(:mod:`collector.web.inputs`); a form that does not validate is shown again with its values and
the field named (400). Each write needs its role's action and the session's CSRF token (auth
middleware) and leaves an audit row saying what was done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import select

from collector.web.audit import AUDIT_DETAIL
from collector.web.auth import require
from collector.web.common import camwatch
from collector.web.inputs import Decision, InvalidBody, NewProposal, Rejection, form_body
from collector.web.pages.derived import regions_of
from collector.web.pages.exclusions_page import form_error, scoped
from collector.web.pages.render import View, form_token, not_found_page, paginate, path_id, redirect, render, view
from collector.web.pages.scope import Regions
from collector.web.principal import Action
from collector.web.proposals import ProposalError, decide, describe, propose
from collector.web.scope import may_decide
from inventory.models import Exclusion, ExclusionStatus

FIELDS = ("camera_id", "region_code", "start", "end", "reason")
LOCAL = "%Y-%m-%dT%H:%M"


def _item(v: View, x: Any, regions: Regions, can_decide: bool) -> dict[str, Any]:
    slots = camwatch(v.request).scheduler.slots
    return {"id": x.id, "camera_id": x.camera_id, "camera": slots[x.camera_id].cam.name if x.camera_id in slots else "",
            "region_code": x.region_code, "region": regions.name(x.region_code) if x.region_code else "",
            "start": v.when(x.start), "end": v.when(x.end), "reason": x.reason, "status": x.status,
            "proposer": x.proposer or "", "proposed": v.when(x.created_at), "decider": x.decider or "",
            "decided": v.when(x.decided_at) if x.decided_at else "", "note": x.decision_note or "",
            "can_decide": can_decide and x.status == ExclusionStatus.PROPOSED.value}


async def _page(request: web.Request, *, values: dict[str, str] | None = None, error: str | None = None,
                status: int = 200) -> web.Response:
    v = view(request)
    app = camwatch(request)
    regions = await regions_of(request)
    show_all = request.query.get("status") == "all"
    q = scoped(v, regions, select(Exclusion).where(Exclusion.proposer.is_not(None)))  # the API's rule; its own too
    if not show_all:
        q = q.where(Exclusion.status == ExclusionStatus.PROPOSED.value)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q.order_by(Exclusion.created_at.desc(), Exclusion.id.desc()))).all()
    p = v.principal
    deciding = p is not None and p.can(Action.APPROVE_EXCLUSION)
    paths = {code: regions.path(code) for code in regions.by_code} if deciding else {}

    def shape(chosen: list[Any]) -> list[dict[str, Any]]:
        return [_item(v, x, regions, deciding and p is not None and
                      may_decide(p, app.scheduler.slots, paths, x.camera_id, x.region_code)) for x in chosen]

    start = v.now.astimezone(v.tz)
    defaults = {"camera_id": request.query.get("camera_id", ""), "region_code": request.query.get("region_code", ""),
                "start": start.strftime(LOCAL), "end": (start + dt.timedelta(hours=4)).strftime(LOCAL), "reason": ""}
    return render(v, "proposals.html", {
        "page": paginate(rows, request, shape=shape), "show_all": show_all, "csrf": form_token(v),
        "can_propose": p is not None and p.can(Action.PROPOSE_EXCLUSION), "values": {**defaults, **(values or {})},
        "error": error}, status=status)


async def proposals_page(request: web.Request) -> web.Response:
    return await _page(request)


async def propose_post(request: web.Request) -> web.StreamResponse:
    p = require(request, Action.PROPOSE_EXCLUSION)
    app = camwatch(request)
    form = await request.post()
    values = {k: str(form.get(k) or "") for k in FIELDS}
    v = view(request)
    try:
        new = await form_body(request, NewProposal, tz=app.settings.accounting.timezone)
        row = await propose(app, p, new)
    except InvalidBody as exc:
        return await _page(request, values=values, error=form_error(v, exc), status=400)
    except ProposalError as exc:
        return await _page(request, values=values, error=form_error(v, _said(exc)), status=400)
    request[AUDIT_DETAIL] = describe(row)
    raise redirect("/exclusions/proposals")


async def _decide_post(request: web.Request, approve: bool) -> web.StreamResponse:
    p = require(request, Action.APPROVE_EXCLUSION)
    v = view(request)
    app = camwatch(request)
    xid = path_id(request)
    if xid is None:
        return not_found_page(v)
    back = "/exclusions/proposals"
    try:
        tz = app.settings.accounting.timezone
        body: Decision | Rejection = await (form_body(request, Decision, tz=tz) if approve
                                            else form_body(request, Rejection, tz=tz))
        row = await decide(app, p, xid, approve, body.note, app.clock())
    except InvalidBody as exc:
        text = form_error(v, exc, "decision_note" if exc.field == "note" else None)
        return render(v, "message.html", {"title": v.t("error"), "text": text, "back": back}, status=400)
    except ProposalError as exc:
        if exc.kind == "not_found":
            return not_found_page(v)
        return render(v, "message.html", {"title": v.t("error"), "text": _said(exc).words(v.lang), "back": back},
                      status=409)
    request[AUDIT_DETAIL] = describe(row) + (f"; note: {row.decision_note}" if row.decision_note else "")
    raise redirect(back)


def _said(exc: ProposalError) -> InvalidBody:
    """A refused proposal or decision as a form's error, in both languages."""
    zh = {"unknown": "您的范围内没有这个摄像机或区域", "conflict": "这条申请已经处理过，不再等待审批"}.get(exc.kind)
    return InvalidBody(exc.field or "body", str(exc), zh)


async def approve_post(request: web.Request) -> web.StreamResponse:
    return await _decide_post(request, True)


async def reject_post(request: web.Request) -> web.StreamResponse:
    return await _decide_post(request, False)


__all__ = ["approve_post", "proposals_page", "propose_post", "reject_post"]
