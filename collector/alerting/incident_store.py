"""Persistence of incidents, work orders and silences (SQLite and PostgreSQL); exclusions read for the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from collector.alerting.audience import Acknowledged
from collector.alerting.model import (
    Action,
    CameraInfo,
    Exclusion,
    Incident,
    IncidentChanged,
    IncidentKind,
    Inventory,
    Member,
    OpenWorkOrder,
    ResolveWorkOrder,
    Severity,
    Silence,
    UpdateWorkOrder,
)
from collector.alerting.workorders import (
    OrderStatus,
    Resolution,
    WorkOrder,
    WorkOrderError,
    acknowledge,
    auto_resolve,
    close,
)
from inventory import models as m
from probes.causes import Cause


class NotFound(LookupError):
    pass


# ---- inventory snapshot -----------------------------------------------------------------------

async def load_inventory(engine: AsyncEngine) -> Inventory:
    """Non-retired cameras with region names, point names and parent devices: the engine's denominators."""
    async with AsyncSession(engine) as s:
        regions = {r.code: r for r in (await s.execute(select(m.Region.code, m.Region.name, m.Region.parent_code))).all()}
        points = {p.id: p for p in (await s.execute(select(m.Point.id, m.Point.name, m.Point.village_code))).all()}
        devices = {d.id: d.name for d in (await s.execute(select(m.Device.id, m.Device.name))).all()}
        cams = (await s.execute(select(m.Camera.id, m.Camera.name, m.Camera.point_id, m.Camera.parent_device_id)
                                .where(m.Camera.lifecycle != m.Lifecycle.RETIRED))).all()
    out = []
    for c in cams:
        p = points.get(c.point_id)
        v = regions.get(p.village_code) if p else None
        t = regions.get(v.parent_code) if v is not None and v.parent_code else None
        k = regions.get(t.parent_code) if t is not None and t.parent_code else None
        out.append(CameraInfo(c.id, c.name, v.code if v else "", v.name if v else "", t.code if t else "",
                              t.name if t else "", k.code if k else "", k.name if k else "", p.name if p else "",
                              c.parent_device_id, devices.get(c.parent_device_id, "") if c.parent_device_id else ""))
    return Inventory.of(out)


async def list_exclusions(engine: AsyncEngine, now: dt.datetime) -> tuple[Exclusion, ...]:
    """Exclusions in force at *now* or to come (the engine sees each one start and end by itself)."""
    async with AsyncSession(engine) as s:
        rows = (await s.execute(select(m.Exclusion.id, m.Exclusion.start, m.Exclusion.end, m.Exclusion.camera_id,
                                       m.Exclusion.region_code).where(m.Exclusion.end > now, m.Exclusion.counted()))).all()
    return tuple(Exclusion(r.id, r.start, r.end, r.camera_id, r.region_code) for r in rows)


# ---- engine actions ---------------------------------------------------------------------------

def _member_json(x: Member) -> dict[str, object]:
    return {"camera": x.camera_id, "cause": str(x.cause) if x.cause else None, "start": x.start.isoformat(),
            "up_at": x.up_at.isoformat() if x.up_at else None, "checks": list(x.checks), "upstream_up": x.upstream_up}


def _member(d: dict[str, object]) -> Member:
    up = d.get("up_at")
    checks = d.get("checks") or ()
    assert isinstance(checks, list | tuple)
    answered = d.get("upstream_up")  # absent from members stored before: not known
    return Member(int(str(d["camera"])), Cause(str(d["cause"])) if d.get("cause") else None,
                  dt.datetime.fromisoformat(str(d["start"])), dt.datetime.fromisoformat(str(up)) if up else None,
                  tuple(str(c) for c in checks), answered if isinstance(answered, bool) else None)


def _listed(value: object) -> list[object]:
    """A stored JSON array as a list; anything else (absent, null, not an array) as an empty one."""
    return list(value) if isinstance(value, list | tuple) else []


def member_checks(member: object) -> tuple[str, ...]:
    """One stored member's failed checks (a member of an ``incidents`` row's JSON), in order;
    none when it has none or is not an object."""
    return tuple(str(c) for c in _listed(member.get("checks"))) if isinstance(member, dict) else ()


def incident_checks(members: object) -> tuple[str, ...]:
    """An ``incidents`` row's failed checks, each once in the order first met (its members as
    stored, JSON): what a picture incident's English title names."""
    return tuple(dict.fromkeys(c for x in _listed(members) for c in member_checks(x)))


async def picture_checks(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The failed checks (:func:`incident_checks`) of the incidents *keys*, by id; an id not stored
    is left out. Read 500 ids at a time."""
    out: dict[str, tuple[str, ...]] = {}
    for i in range(0, len(keys), 500):
        for key, members in (await conn.execute(select(m.Incident.id, m.Incident.members)
                                                .where(m.Incident.id.in_(keys[i:i + 500])))).all():
            out[key] = incident_checks(members)
    return out


async def load_open_incidents(engine: AsyncEngine) -> tuple[Incident, ...]:
    """Unresolved incidents, for :meth:`AlertEngine.restore` after a restart."""
    async with AsyncSession(engine) as s:
        rows = (await s.execute(select(m.Incident).where(m.Incident.resolved_at.is_(None)))).scalars().all()
    return tuple(
        Incident(r.id, IncidentKind(r.kind), Severity(r.severity), r.village_code or "", r.device_id, r.opened_at, r.start,
                 tuple(_member(x) for x in r.members), r.total, 0, sent=True, silenced=r.silenced, escalation=r.escalation)
        for r in rows
    )


async def openings_sent(engine: AsyncEngine) -> set[str]:
    """The unresolved incidents whose open message reached a channel (an ``alert_log`` row of kind
    ``open``, result ``sent``, as the notifier logs it): one query for them all, for
    :func:`collector.alerting.untold.untold_openings` at a restart."""
    unresolved = select(m.Incident.id).where(m.Incident.resolved_at.is_(None))
    q = (select(m.AlertLog.incident_key).distinct()
         .where(m.AlertLog.kind == "open", m.AlertLog.result == "sent", m.AlertLog.incident_key.in_(unresolved)))
    async with AsyncSession(engine) as s:
        return {str(k) for k in (await s.execute(q)).scalars()}


def _incident_row(inc: Incident, now: dt.datetime) -> m.Incident:
    return m.Incident(
        id=inc.id, kind=str(inc.kind), severity=str(inc.severity), village_code=inc.village or None, device_id=inc.device_id,
        cause=str(inc.cause) if inc.cause else None, start=inc.start, opened_at=inc.opened_at, resolved_at=inc.resolved_at,
        members=[_member_json(x) for x in inc.members], down=len(inc.down), total=inc.village_total, silenced=inc.silenced,
        escalation=inc.escalation, updated_at=now,
    )


async def apply_actions(engine: AsyncEngine, actions: Iterable[Action], now: dt.datetime) -> None:
    """Persist what the alert engine decided (messages are the notify side's business)."""
    todo = [a for a in actions if isinstance(a, IncidentChanged | OpenWorkOrder | UpdateWorkOrder | ResolveWorkOrder)]
    if not todo:
        return
    async with AsyncSession(engine) as s, s.begin():
        await apply_in(s, todo, now)


async def apply_in(s: AsyncSession, actions: Iterable[Action], now: dt.datetime) -> None:
    """:func:`apply_actions` in the session's transaction (the replicas' leader stores its cursor with them)."""
    todo = [a for a in actions if isinstance(a, IncidentChanged | OpenWorkOrder | UpdateWorkOrder | ResolveWorkOrder)]
    for a in todo:
        if isinstance(a, IncidentChanged):
            await s.merge(_incident_row(a.incident, now))
        elif isinstance(a, OpenWorkOrder):
            exists = (await s.execute(select(m.WorkOrder.id).where(m.WorkOrder.incident_key == a.incident_id))).first()
            if exists is None:
                s.add(m.WorkOrder(incident_key=a.incident_id, camera_id=a.camera_id, region_code=a.region_code,
                                  device_id=a.device_id, cause=str(a.cause) if a.cause else None, severity=str(a.severity),
                                  status=OrderStatus.OPEN.value, opened_at=a.opened_at, deadline=a.deadline,
                                  title=a.title[:255], cameras=a.cameras))
                await s.flush()
        elif isinstance(a, UpdateWorkOrder):
            for row in (await s.execute(select(m.WorkOrder).where(m.WorkOrder.incident_key == a.incident_id,
                                                                  m.WorkOrder.status != OrderStatus.RESOLVED.value))).scalars():
                row.severity = str(a.severity)
                row.cameras = a.cameras
                if a.title:
                    row.title = a.title[:255]
                row.deadline = min(row.deadline, a.deadline)
        else:
            for row in (await s.execute(select(m.WorkOrder).where(m.WorkOrder.incident_key == a.incident_id))).scalars():
                _store(row, auto_resolve(_order(row), a.at))


# ---- work orders ------------------------------------------------------------------------------

def _order(r: m.WorkOrder, members: object = None) -> WorkOrder:
    """An order as a pure value; with its incident's *members* (stored JSON), its cameras too."""
    return WorkOrder(r.id, r.incident_key, OrderStatus(r.status), r.severity, r.opened_at, r.deadline, r.cause, r.title,
                     r.camera_id, r.region_code, r.device_id, r.cameras, r.acknowledged_at, r.resolved_at,
                     Resolution(r.resolution) if r.resolution else None, r.note, order_cameras(r.camera_id, members),
                     r.acknowledged_by)


def order_cameras(camera_id: int | None, members: object) -> tuple[int, ...]:
    """An order's cameras: its own camera (a camera order's), then its incident's members (stored
    JSON), each once; a member without a camera id is left out."""
    ids = [] if camera_id is None else [camera_id]
    for x in _listed(members):
        cam = x.get("camera") if isinstance(x, dict) else None
        if isinstance(cam, int) or (isinstance(cam, str) and cam.isdigit()):
            ids.append(int(cam))
    return tuple(dict.fromkeys(ids))


def _store(row: m.WorkOrder, o: WorkOrder) -> None:
    row.status = o.status.value
    row.acknowledged_at = o.acknowledged_at
    row.acknowledged_by = o.acknowledged_by
    row.resolved_at = o.resolved_at
    row.resolution = o.resolution.value if o.resolution else None
    row.note = o.note


NEWEST_FIRST = (m.WorkOrder.opened_at.desc(), m.WorkOrder.id.desc())


async def list_work_orders(engine: AsyncEngine, *, since: dt.datetime | None = None, open_only: bool = False,
                           cameras: bool = True) -> list[WorkOrder]:
    """Orders, newest first: all unresolved ones plus those resolved at or after *since* (all when
    None); *cameras*: each with its incident's cameras (``camera_ids``: who may see and act on it)."""
    q = select(m.WorkOrder).order_by(*NEWEST_FIRST)
    if open_only:
        q = q.where(m.WorkOrder.status != OrderStatus.RESOLVED.value)
    elif since is not None:
        q = q.where(or_(m.WorkOrder.status != OrderStatus.RESOLVED.value, m.WorkOrder.resolved_at >= since))
    if not cameras:
        async with AsyncSession(engine) as s:
            return [_order(r) for r in (await s.execute(q)).scalars()]
    return await _with_cameras(engine, q)


async def find_orders(engine: AsyncEngine, where: ColumnElement[bool], limit: int = 50) -> list[WorkOrder]:
    """The orders matching *where*, newest first (at most *limit*), each with its incident's cameras."""
    return await _with_cameras(engine, select(m.WorkOrder).where(where).order_by(*NEWEST_FIRST).limit(limit))


async def _with_cameras(engine: AsyncEngine, q: Select[m.WorkOrder]) -> list[WorkOrder]:
    """*q*'s orders with their incidents' members: one query (the incidents joined), not one per order."""
    joined = q.add_columns(m.Incident.members).outerjoin(m.Incident, m.Incident.id == m.WorkOrder.incident_key)
    async with AsyncSession(engine) as s:
        return [_order(r, members) for r, members in (await s.execute(joined)).all()]


async def _transition(engine: AsyncEngine, order_id: int, fn: Callable[[WorkOrder], WorkOrder]) -> WorkOrder:
    async with AsyncSession(engine) as s, s.begin():
        row = (await s.execute(select(m.WorkOrder).where(m.WorkOrder.id == order_id))).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no work order {order_id}")
        new = fn(_order(row))
        _store(row, new)
        return new


async def acknowledged_orders(engine: AsyncEngine) -> tuple[Acknowledged, ...]:
    """The unresolved work orders someone acknowledged (处理中): the engine holds their escalation."""
    q = select(m.WorkOrder.incident_key, m.WorkOrder.acknowledged_at, m.WorkOrder.deadline, m.WorkOrder.acknowledged_by).where(
        m.WorkOrder.status == OrderStatus.ACKNOWLEDGED.value, m.WorkOrder.acknowledged_at.is_not(None))
    async with engine.connect() as conn:
        return tuple(Acknowledged(k, a, d, b or "") for k, a, d, b in (await conn.execute(q)).all() if a is not None)


async def acknowledge_order(engine: AsyncEngine, order_id: int, at: dt.datetime, by: str | None = None) -> WorkOrder:
    """*by*: who takes it (an account's name, ``cli:USER``, ``api``): an overdue escalation names them."""
    return await _transition(engine, order_id, lambda o: acknowledge(o, at, by))


async def close_order(engine: AsyncEngine, order_id: int, at: dt.datetime, note: str) -> WorkOrder:
    return await _transition(engine, order_id, lambda o: close(o, at, note))


# ---- silences ---------------------------------------------------------------------------------

async def add_silence(engine: AsyncEngine, *, until: dt.datetime, camera_id: int | None = None, region_code: str | None = None,
                      reason: str = "", created_by: str | None = None, now: dt.datetime) -> int:
    """A new silence; NotFound for an unknown camera or region, ValueError for a bad scope or a past end."""
    if (camera_id is None) == (region_code is None):
        raise ValueError("give exactly one of camera_id and region_code")
    if until <= now:
        raise ValueError("a silence must end in the future")
    async with AsyncSession(engine) as s, s.begin():
        if camera_id is not None:
            found = (await s.execute(select(m.Camera.id).where(m.Camera.id == camera_id))).first() is not None
        else:
            found = (await s.execute(select(m.Region.code).where(m.Region.code == region_code))).first() is not None
        if not found:
            raise NotFound(f"no camera {camera_id}" if camera_id is not None else f"no region {region_code}")
        row = m.Silence(camera_id=camera_id, region_code=region_code, until=until, reason=reason or None,
                        created_by=created_by, created_at=now)
        s.add(row)
        await s.flush()
        return int(row.id)


async def list_silences(engine: AsyncEngine, now: dt.datetime, *, include_expired: bool = False) -> tuple[Silence, ...]:
    q = select(m.Silence).order_by(m.Silence.until)
    if not include_expired:
        q = q.where(m.Silence.until > now)
    async with AsyncSession(engine) as s:
        rows = (await s.execute(q)).scalars()
        return tuple(Silence(r.id, r.until, r.camera_id, r.region_code, r.reason or "") for r in rows)


async def remove_silence(engine: AsyncEngine, silence_id: int) -> bool:
    async with engine.begin() as conn:
        return (await conn.execute(delete(m.Silence).where(m.Silence.id == silence_id))).rowcount > 0


async def end_silence(engine: AsyncEngine, silence_id: int, now: dt.datetime) -> bool:
    """End a silence now (kept for the record, its ``until`` now; one that already ended keeps its
    end). False when there is no such silence. What it withheld and is still open is told at the
    alert engine's next look at the silences (:mod:`collector.alerting.withheld`)."""
    async with engine.begin() as conn:
        if (await conn.execute(update(m.Silence).where(m.Silence.id == silence_id, m.Silence.until > now)
                               .values(until=now))).rowcount > 0:
            return True
        return (await conn.execute(select(m.Silence.id).where(m.Silence.id == silence_id))).first() is not None


__all__ = [
    "NotFound", "WorkOrderError", "incident_checks", "member_checks", "picture_checks", "load_inventory", "list_exclusions", "load_open_incidents", "openings_sent", "apply_actions", "apply_in", "find_orders", "list_work_orders", "order_cameras", "acknowledge_order", "acknowledged_orders", "close_order",
    "add_silence", "list_silences", "remove_silence", "end_silence",
]
