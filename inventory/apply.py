"""Writing an import plan: one transaction, all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

from inventory.changes import LEVELS, CameraValues, Plan
from inventory.db import failure_reason
from inventory.models import Camera, Device, Lifecycle, Point, Region, utcnow
from inventory.record import PointValues

BATCH = 5000
Progress = Callable[[int], None]


class ApplyError(Exception):
    """The database refused the import; nothing was written."""


def _chunks(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def apply_plan(engine: AsyncEngine, plan: Plan, *, progress: Progress | None = None,
                     now: dt.datetime | None = None) -> list[int]:
    """Write *plan* (which must have no errors) in a single transaction.

    Returns the ids of the cameras added, in the order of ``plan.camera_new``."""
    if not plan.ok:
        raise ValueError("refusing to apply a plan with errors")
    now = now or utcnow()
    tick = progress or (lambda n: None)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await _write(session, plan, now, tick)
    except SQLAlchemyError as exc:
        raise ApplyError(failure_reason(exc)) from exc


_POINT_ATTRS = tuple(f.name for f in fields(PointValues))


def _point_columns(v: PointValues) -> dict[str, object]:
    return {a: getattr(v, a) for a in _POINT_ATTRS}


async def _batches(session: AsyncSession, stmt: Executable, rows: list[dict[str, Any]],
                   tick: Progress | None = None) -> None:
    """Execute *stmt* over *rows* in batches of :data:`BATCH` (executemany), counting progress."""
    for chunk in _chunks(rows):
        await session.execute(stmt, chunk)
        if tick is not None:
            tick(len(chunk))


async def _write(session: AsyncSession, plan: Plan, now: dt.datetime, tick: Progress) -> list[int]:
    # Regions, parents before children.
    for level in LEVELS:
        await _batches(session, insert(Region), [
            {"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
             "derived": r.derived, "created_at": now, "updated_at": now}
            for r in plan.region_new if r.level is level
        ])
    await _batches(session, update(Region), [
        {"code": r.code, "name": r.name, "parent_code": r.parent_code, "updated_at": now} for r in plan.region_changed
    ])

    # Devices.
    await _batches(session, insert(Device), [
        {"host": d.host, "name": d.name, "region_code": d.region_code, "created_at": now} for d in plan.device_new
    ])
    await _batches(session, update(Device), [{"id": d.id, "name": d.name} for d in plan.device_changed])
    device_ids = {h: i for i, h in (await session.execute(select(Device.id, Device.host))).all()}

    # Points.
    await _batches(session, insert(Point), [
        {"village_code": p.village_code, "name": p.name, **_point_columns(p.values), "retired": False,
         "created_at": now, "updated_at": now}
        for p in plan.point_new
    ], tick)
    await _batches(session, update(Point), [
        {"id": p.id, **_point_columns(p.values), "retired": False, "updated_at": now} for p in plan.point_changed
    ])
    await _batches(session, update(Point), [{"id": r.id, "retired": True, "updated_at": now} for r in plan.point_retired])
    point_ids = {(v, n): i for i, v, n in (await session.execute(select(Point.id, Point.village_code, Point.name))).all()}

    def cam_row(v: CameraValues, key: str, value: object) -> dict[str, Any]:
        row = v.record.columns()
        row["point_id"] = point_ids[v.point_key]
        row["parent_device_id"] = device_ids.get(v.parent_host) if v.parent_host else None
        row["credential_ref"] = v.credential_ref
        row["updated_at"] = now
        row["retired_at"] = now if v.record.lifecycle is Lifecycle.RETIRED else None
        row[key] = value
        return row

    # Cameras: changes first (an address may move from one camera to another), then new ones. A camera
    # retired before and still retired keeps its retirement time (the accounting cuts its time there).
    changed = [cam_row(c.values, "id", c.id) for c in plan.camera_changed]
    kept = [{k: v for k, v in row.items() if k != "retired_at"} for c, row in zip(plan.camera_changed, changed, strict=True)
            if c.values.record.lifecycle is Lifecycle.RETIRED and "lifecycle" not in c.fields]
    kept_ids = {row["id"] for row in kept}
    await _batches(session, update(Camera), [row for row in changed if row["id"] not in kept_ids], tick)
    await _batches(session, update(Camera), kept)
    await _batches(session, update(Camera), [
        {"id": r.id, "lifecycle": Lifecycle.RETIRED, "retired_at": now, "updated_at": now} for r in plan.camera_retired
    ])
    await _batches(session, insert(Camera), [cam_row(c.values, "created_at", now) for c in plan.camera_new], tick)
    if not plan.camera_new:
        return []
    # Their ids by address (unique), among the cameras created now. (RETURNING in parameter
    # order costs five times the insert on SQLite.)
    # GB28181-only cameras without an address by their GB ID (unique too).
    created = select(Camera.id, Camera.host, Camera.rtsp_port, Camera.rtsp_path, Camera.gb_id).where(Camera.created_at == now)
    ids: dict[object, int] = {}
    for i, h, port, path, gb in (await session.execute(created)).all():
        ids[(h, port, path) if h is not None else ("gb", gb)] = i
    return [ids[r.address if r.host is not None else ("gb", r.gb_id)]
            for r in (c.values.record for c in plan.camera_new)]


__all__ = ["ApplyError", "apply_plan"]
