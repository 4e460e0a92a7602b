"""Exclusion proposals (报备申请): a contractor proposes, a county assessor (or an admin) decides.

A proposal is an exclusion row with status ``proposed`` (:class:`inventory.models.ExclusionStatus`):
listed, but kept out of every sum until approved (:meth:`inventory.models.Exclusion.counted`).
Proposing needs the ``propose_exclusion`` action and a scope the proposer reads whole
(:func:`collector.web.scope.may_propose`); approving or rejecting (with a note) needs
``approve_exclusion`` and the decider's scope (:func:`collector.web.scope.may_decide`); only a
proposal waiting for a decision can be decided (409 otherwise). The API routes here and the
console's forms (:mod:`collector.web.pages.proposals_page`) call the same :func:`propose` and
:func:`decide`; every write leaves an audit row saying what was done.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select, update

from collector.web.audit import AUDIT_DETAIL
from collector.web.common import ApiError, camwatch, json_response, not_found
from collector.web.exclusions import describe, exclusion_json
from collector.web.inputs import MAX_TEXT, Decision, NewProposal, Rejection, json_body
from collector.web.params import path_int
from collector.web.principal import Principal, principal_of
from collector.web.scope import may_decide, may_propose, region_paths
from inventory.models import Camera, Exclusion, ExclusionStatus, Region, utcnow

log = logging.getLogger("camwatch.web")


class ProposalError(Exception):
    """*kind*: ``unknown`` (no such camera or region in the proposer's scope), ``not_found`` (no
    such exclusion the decider may see) or ``conflict`` (already decided)."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


async def propose(app: Any, p: Principal, new: NewProposal) -> Any:
    """Store *new* as a proposal of *p*; the stored row."""
    slots, paths = app.scheduler.slots, await region_paths(app.engine)
    field = "camera_id" if new.camera_id is not None else "region_code"
    if not may_propose(p, slots, paths, new.camera_id, new.region_code):
        raise ProposalError("unknown", f"no camera or region {new.camera_id or new.region_code!r} in your scope", field)
    async with app.engine.begin() as conn:
        table, key = (Camera.id, new.camera_id) if new.camera_id is not None else (Region.code, new.region_code)
        if not (await conn.execute(select(func.count()).where(table == key))).scalar_one():
            raise ProposalError("unknown", f"no camera or region {key!r}", field)
        res = await conn.execute(insert(Exclusion).values(
            camera_id=new.camera_id, region_code=new.region_code, start=new.start, end=new.end, reason=new.reason,
            approver="", created_at=utcnow(), status=ExclusionStatus.PROPOSED.value, proposer=p.name))
        xid = int(res.inserted_primary_key[0])
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).one()
    log.info("exclusion #%d proposed by %s", xid, p.name)
    return row


async def decide(app: Any, p: Principal, xid: int, approve: bool, note: str, now: dt.datetime) -> Any:
    """Approve or reject the proposal *xid*; the updated row. Approving makes the collector reload
    at once (the cameras concerned are shown as excluded)."""
    slots, paths = app.scheduler.slots, await region_paths(app.engine)
    async with app.engine.begin() as conn:
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).first()
        if row is None or not may_decide(p, slots, paths, row.camera_id, row.region_code):
            raise ProposalError("not_found", f"no exclusion #{xid}")
        status = ExclusionStatus.APPROVED if approve else ExclusionStatus.REJECTED
        done = (await conn.execute(
            update(Exclusion).where(Exclusion.id == xid, Exclusion.status == ExclusionStatus.PROPOSED.value)
            .values(status=status.value, decider=p.name, decided_at=now, decision_note=note[:MAX_TEXT] or None,
                    approver=p.name if approve else ""))).rowcount
        if not done:
            raise ProposalError("conflict", f"exclusion #{xid} is {row.status}, not waiting for a decision")
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).one()
    log.info("exclusion #%d %s by %s", xid, status.value, p.name)
    if approve:
        try:
            await app.reload()
        except Exception as exc:  # noqa: BLE001 - the periodic reload will pick the change up
            log.warning("reload after approving exclusion #%d failed: %s", xid, str(exc).splitlines()[0][:200])
    return row


def _api_error(exc: ProposalError) -> ApiError:
    if exc.kind == "unknown":
        return ApiError(400, "unknown_reference", str(exc), param=exc.field)
    if exc.kind == "conflict":
        return ApiError(409, "conflict", str(exc))
    return not_found(str(exc))


def _principal(request: web.Request) -> Principal:
    p = principal_of(request)
    if p is None:  # the auth middleware lets no anonymous write through
        raise ApiError(401, "unauthorized", "a login or a token is needed")
    return p


async def add_proposal(request: web.Request) -> web.Response:
    app = camwatch(request)
    new = await json_body(request, NewProposal, tz=app.settings.accounting.timezone)
    try:
        row = await propose(app, _principal(request), new)
    except ProposalError as exc:
        raise _api_error(exc) from None
    request[AUDIT_DETAIL] = describe(row)
    return json_response(exclusion_json(row), status=201, headers={"Location": f"/api/v1/exclusions/{row.id}"})


async def _decide(request: web.Request, approve: bool) -> web.Response:
    app = camwatch(request)
    xid = path_int(request, "id")
    body: Decision | Rejection
    if approve:
        body = await json_body(request, Decision, tz=app.settings.accounting.timezone)
    else:
        body = await json_body(request, Rejection, tz=app.settings.accounting.timezone)
    try:
        row = await decide(app, _principal(request), xid, approve, body.note, app.clock())
    except ProposalError as exc:
        raise _api_error(exc) from None
    request[AUDIT_DETAIL] = describe(row) + (f"; note: {row.decision_note}" if row.decision_note else "")
    return json_response(exclusion_json(row))


async def approve_proposal(request: web.Request) -> web.Response:
    return await _decide(request, True)


async def reject_proposal(request: web.Request) -> web.Response:
    return await _decide(request, False)


__all__ = ["ProposalError", "add_proposal", "approve_proposal", "decide", "describe", "propose", "reject_proposal"]
