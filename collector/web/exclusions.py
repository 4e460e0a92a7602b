"""``/api/v1/exclusions``: list, add (camera xor region, start, end, reason, approver), remove.

The same rows as ``camwatch exclusion add|list|remove``. After a write the collector reloads at
once, so the cameras concerned are shown as excluded (or no longer) without waiting for the
periodic reload.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import delete, func, insert, or_, select

from collector.accounting.timeparse import FORMATS, TimeParseError, parse_time
from collector.web.bodies import Exclusion as ExclusionBody
from collector.web.bodies import ExclusionPage
from collector.web.common import ApiError, bad_param, camwatch, iso, json_response, not_found
from collector.web.params import flag, page, path_int, text_param
from collector.web.scope import camera_clause, reader, region_paths, tied_visible, visibility
from inventory.models import Camera, Exclusion, Region, utcnow

log = logging.getLogger("camwatch.web")
FIELDS = ("camera_id", "region_code", "start", "end", "reason", "approver")
MAX_BODY = 64 * 1024
MAX_REASON = 2000
MAX_APPROVER = 128


@dataclass(frozen=True, slots=True)
class NewExclusion:
    camera_id: int | None
    region_code: str | None
    start: dt.datetime
    end: dt.datetime
    reason: str
    approver: str


def exclusion_json(row: Any) -> ExclusionBody:
    return {"id": row.id, "camera_id": row.camera_id, "region_code": row.region_code, "start": iso(row.start) or "",
            "end": iso(row.end) or "", "reason": row.reason, "approver": row.approver, "created_at": iso(row.created_at)}


def _when(body: dict[str, Any], name: str, tz: str) -> dt.datetime:
    """A time as the CLI reads it (:mod:`collector.accounting.timeparse`); a day alone as ``end``
    is the end of that day."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise bad_param(name, f"required: {FORMATS[1]}")
    try:
        return parse_time(value, tz, option=name, end=name == "end")
    except TimeParseError as exc:
        raise bad_param(name, exc.detail("en")) from None


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_param(name, "required: a non-empty string")
    if len(value) > limit:
        raise bad_param(name, f"longer than {limit} characters")
    return value.strip()


def parse_new(body: object, tz: str) -> NewExclusion:
    """Validate a POST body; every error names the offending field."""
    if not isinstance(body, dict):
        raise bad_param("body", "a JSON object is expected")
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise bad_param(extra[0], f"unknown field (allowed: {', '.join(FIELDS)})")
    camera_id, region_code = body.get("camera_id"), body.get("region_code")
    if camera_id is not None and (isinstance(camera_id, bool) or not isinstance(camera_id, int)):
        raise bad_param("camera_id", "must be an integer")
    if region_code is not None and (not isinstance(region_code, str) or not region_code or len(region_code) > 32):
        raise bad_param("region_code", "must be a region code (a non-empty string of at most 32 characters)")
    if (camera_id is None) == (region_code is None):
        raise bad_param("camera_id", "give exactly one of camera_id and region_code")
    start, end = _when(body, "start", tz), _when(body, "end", tz)
    if end <= start:
        raise bad_param("end", "must be after start")
    return NewExclusion(camera_id, region_code, start, end, _text(body, "reason", MAX_REASON),
                        _text(body, "approver", MAX_APPROVER))


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
            q = q.where(Exclusion.camera_id == int(cid))
        except ValueError:
            raise bad_param("camera_id", f"not an integer: {cid!r}") from None
    region = text_param(request, "region_code")
    if region is not None:
        q = q.where(Exclusion.region_code == region)
    active = flag(request, "active")
    if active is not None:
        now = app.clock()
        in_force = (Exclusion.start <= now) & (Exclusion.end > now)
        q = q.where(in_force if active else ~in_force)
    p = reader(request)
    if p is not None:  # the principal's scope: its cameras, regions in, above or below it
        paths = await region_paths(app.engine)
        q = q.where(or_(Exclusion.camera_id.in_(select(Camera.id).where(camera_clause(p, paths))),
                        Exclusion.region_code.in_([c for c, path in paths.items() if p.can_read_region(path)])))
    async with app.engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
        rows = (await conn.execute(q.order_by(Exclusion.start, Exclusion.id).limit(paging.limit).offset(paging.offset))).all()
    body: ExclusionPage = {"items": [exclusion_json(r) for r in rows], "total": total,
                           "limit": paging.limit, "offset": paging.offset}
    return json_response(body)


async def add_exclusion(request: web.Request) -> web.Response:
    app = camwatch(request)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"request body larger than {MAX_BODY} bytes")
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise bad_param("body", "not valid JSON") from None
    new = parse_new(body, app.settings.accounting.timezone)
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
            reason=new.reason, approver=new.approver, created_at=utcnow()))
        new_id = int(res.inserted_primary_key[0])  # type: ignore[index]
        row = (await conn.execute(select(Exclusion).where(Exclusion.id == new_id))).one()
    log.info("exclusion #%d added over the API by %s", new_id, new.approver)
    await _reload(request)
    item = exclusion_json(row)
    return json_response(item, status=201, headers={"Location": f"/api/v1/exclusions/{new_id}"})


async def delete_exclusion(request: web.Request) -> web.Response:
    app = camwatch(request)
    xid = path_int(request, "id")
    p, slots, paths = await visibility(request)
    async with app.engine.begin() as conn:
        row = (await conn.execute(select(Exclusion.camera_id, Exclusion.region_code).where(Exclusion.id == xid))).first()
        if row is None or not tied_visible(p, slots, paths, row.camera_id, row.region_code):
            raise not_found(f"no exclusion #{xid}")
        gone = (await conn.execute(delete(Exclusion).where(Exclusion.id == xid))).rowcount
    if not gone:
        raise not_found(f"no exclusion #{xid}")
    log.info("exclusion #%d removed over the API", xid)
    await _reload(request)
    return web.Response(status=204)
