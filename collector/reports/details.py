"""The detail sheets' rows from the database: faults per cause, work orders, exclusions.

A camera's fault time is the accounting's offline time of the period with exclusions applied
(:func:`collector.accounting.sql.camera_times.sql_camera_times`, the same number the rates
use); its split per cause reads the stored intervals with the same cutting rule (a span ends
where the camera's next one starts; :mod:`collector.accounting.sql.span_sums`), and, for a
camera touched by an exclusion or retired in the period, takes the exclusion windows and the time
after its retirement out of each cause's time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import CameraRef, CameraTimes, ExclusionIndex, Period, to_us
from collector.accounting.sql.span_sums import bound, relevant_spans, sqlite_us, stored_time, tune_for_sums
from collector.alerting.incident_store import picture_checks
from collector.alerting.workorders import OrderStatus, color
from collector.alerting.workorders import WorkOrder as PureOrder
from collector.reports.model import CauseTime, ExclusionRow, FaultRow, WorkOrderRow
from inventory.models import Camera, Exclusion, WorkOrder

NO_CAUSE = "unknown_cause"

# The spans that can add time to the window (each camera's last one before it and those starting
# in it, as the rates read them), with their cause; on PostgreSQL per camera id range
# (``{ids}``: of some cameras only, filled in with their ids)
_RELEVANT_WITH_CAUSE = relevant_spans("sqlite", ("cause",))
_RELEVANT_WITH_CAUSE_PG = relevant_spans("postgresql", ("cause",), camera_range=True)
_SOME_WITH_CAUSE = {d: relevant_spans(d, ("cause",), ids="{ids}") for d in ("sqlite", "postgresql")}


def _cause_sql(dialect: str) -> str:
    """Per (camera, cause): offline microseconds in [:lo, :hi), spans cut at the next one's start."""
    if dialect == "sqlite":
        s, e, n = sqlite_us("start"), sqlite_us('"end"'), sqlite_us("LEAD(start) OVER w")
        return f"""
WITH seg AS (
    SELECT camera_id, state, cause, {s} AS s, {e} AS e, {n} AS n FROM ({_RELEVANT_WITH_CAUSE}) r
    WINDOW w AS (PARTITION BY camera_id ORDER BY start, id)),
cut AS (
    SELECT camera_id, cause, min(COALESCE(e, :hi_us), COALESCE(n, :hi_us), :hi_us) - max(s, :lo_us) AS d
    FROM seg WHERE state = 'offline')
SELECT camera_id, cause, SUM(d), MIN(0) FROM cut WHERE d > 0 GROUP BY camera_id, cause"""
    return f"""
WITH seg AS (
    SELECT camera_id, state, cause, start, "end", LEAD(start) OVER (PARTITION BY camera_id ORDER BY start, id) AS n
    FROM ({_RELEVANT_WITH_CAUSE_PG}) r),
cut AS (
    SELECT camera_id, cause, LEAST("end", n, :hi) - GREATEST(start, :lo) AS d FROM seg WHERE state = 'offline')
SELECT camera_id, cause, CAST(EXTRACT(EPOCH FROM SUM(d)) * 1000000 AS BIGINT), MIN(0)
FROM cut WHERE d > INTERVAL '0' GROUP BY camera_id, cause"""


def _cause_sql_spans(dialect: str) -> str:
    """The offline pieces (camera, cause, start us, end us) of some cameras (``{ids}``), for the exclusion cut."""
    if dialect == "sqlite":
        s, e, n = sqlite_us("start"), sqlite_us('"end"'), sqlite_us("LEAD(start) OVER w")
        return f"""
WITH seg AS (
    SELECT camera_id, state, cause, {s} AS s, {e} AS e, {n} AS n FROM ({_SOME_WITH_CAUSE[dialect]}) r
    WINDOW w AS (PARTITION BY camera_id ORDER BY start, id))
SELECT camera_id, cause, max(s, :lo_us), min(COALESCE(e, :hi_us), COALESCE(n, :hi_us), :hi_us)
FROM seg WHERE state = 'offline'"""
    return f"""
WITH seg AS (
    SELECT camera_id, state, cause, start, "end", LEAD(start) OVER (PARTITION BY camera_id ORDER BY start, id) AS n
    FROM ({_SOME_WITH_CAUSE[dialect]}) r)
SELECT camera_id, cause, GREATEST(start, :lo), LEAST("end", n, :hi)
FROM seg WHERE state = 'offline'"""


def _us(value: int | str | dt.datetime) -> int:
    return value if isinstance(value, int) else to_us(stored_time(value))


async def cause_times(engine: AsyncEngine, period: Period, now: dt.datetime, cameras: Sequence[CameraRef],
                      index: ExclusionIndex) -> dict[int, dict[str, int]]:
    """Offline microseconds per cause of *cameras* in the period up to *now*, outside exclusions."""
    dialect = engine.dialect.name
    lo, hi = period.start, min(period.end, now)
    if hi <= lo or not cameras:
        return {}
    params: dict[str, object] = {"lo": bound(dialect, lo), "hi": bound(dialect, hi), "lo_us": to_us(lo), "hi_us": to_us(hi)}
    wanted = {c.camera_id: c for c in cameras}
    lo_us, hi_us = to_us(lo), to_us(hi)
    touched = [c for c in cameras if _windows(c, index, lo_us, hi_us)]
    out: dict[int, dict[str, int]] = defaultdict(dict)
    ids = sorted(wanted)
    params.update(c0=ids[0], c1=ids[-1] + 1)
    mid = ids[len(ids) // 2]
    parts = [(ids[0], mid), (mid, ids[-1] + 1)] if dialect == "postgresql" and mid > ids[0] else [(ids[0], ids[-1] + 1)]

    async def part(c0: int, c1: int) -> list[tuple[int, str | None, int]]:
        async with engine.connect() as conn:
            await tune_for_sums(conn)
            rows = (await conn.execute(text(_cause_sql(dialect)), {**params, "c0": c0, "c1": c1})).all()
            await conn.rollback()
        return [(cid, cause, int(us)) for cid, cause, us, _ in rows]

    for rows in await asyncio.gather(*(part(a, b) for a, b in parts)):
        for cid, cause, us in rows:
            if cid in wanted and us:
                out[cid][cause or NO_CAUSE] = out[cid].get(cause or NO_CAUSE, 0) + us
    async with engine.connect() as conn:
        for i in range(0, len(touched), 500):
            chunk = touched[i:i + 500]
            for c in chunk:
                out.pop(c.camera_id, None)
            id_list = ", ".join(str(int(c.camera_id)) for c in chunk)
            span_rows = (await conn.execute(text(_cause_sql_spans(dialect).format(ids=id_list)), params)).all()
            by_cam: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
            for cid, cause, s, e in span_rows:
                by_cam[cid].append((cause or NO_CAUSE, _us(s), _us(e)))
            for c in chunk:
                windows = _windows(c, index, lo_us, hi_us)
                for cause, s, e in by_cam.get(c.camera_id, ()):
                    d = max(0, e - s) - sum(max(0, min(e, we) - max(s, ws)) for ws, we in windows)
                    if d > 0:
                        out[c.camera_id][cause] = out[c.camera_id].get(cause, 0) + d
        await conn.rollback()
    return dict(out)


def _windows(camera: CameraRef, index: ExclusionIndex, lo_us: int, hi_us: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi) whose offline time is no fault of *camera*: its exclusions, and the
    time after its retirement (no part of its accounted time)."""
    until = max(lo_us, camera.accounted_until(hi_us))
    windows = index.for_camera(camera, lo_us, until)
    return [*windows, (until, hi_us)] if until < hi_us else windows


def fault_rows(cameras: Sequence[CameraRef], *, times: Mapping[int, CameraTimes], causes: Mapping[int, Mapping[str, int]],
               fault_hours: float, names: Mapping[str, str]) -> tuple[FaultRow, ...]:
    """The cameras whose offline time (exclusions applied) exceeds *fault_hours*, largest first,
    with their time per cause (*causes*: :func:`cause_times`). A camera retired since is listed
    too: its offline time was in service, and counts in the period's rates."""
    limit = fault_hours * 3600
    over = [c for c in cameras if c.camera_id in times and float(times[c.camera_id].with_exclusions.offline_s) > limit]
    rows = []
    for c in over:
        per = sorted(causes.get(c.camera_id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append(FaultRow(c.camera_id, names.get(f"camera:{c.camera_id}", ""), c.village, names.get(c.village, ""),
                             c.township, names.get(c.township, ""), float(times[c.camera_id].with_exclusions.offline_s),
                             tuple(CauseTime(k, v / 1e6) for k, v in per)))
    rows.sort(key=lambda r: (-r.fault_seconds, r.camera_id))
    return tuple(rows)


async def work_order_rows(engine: AsyncEngine, period: Period, now: dt.datetime, *, village_of: Mapping[int, str],
                          parents: Mapping[str, str], names: Mapping[str, str]) -> tuple[WorkOrderRow, ...]:
    """Work orders opened in the period, or opened before it and still open at its start.
    Colours are taken at the period's end (at *now* for a period not over). Each row keeps the
    stored (Chinese) title and what an English one is built from (*names*: ``camera:<id>`` too)."""
    at = min(period.end, now)
    w = WorkOrder
    async with engine.connect() as conn:
        rows = (await conn.execute(select(*WorkOrder.__table__.columns).where(w.opened_at < period.end, or_(
            w.opened_at >= period.start, w.resolved_at.is_(None), w.resolved_at >= period.start)).order_by(w.id))).all()
        checks = await picture_checks(conn, sorted({o.incident_key for o in rows if o.incident_key.startswith("p-")}))
    out = []
    for o in rows:
        resolved = o.resolved_at if o.resolved_at is not None and o.resolved_at <= at else None
        acked = o.acknowledged_at if o.acknowledged_at is not None and o.acknowledged_at <= at else None
        pure = PureOrder(o.id, o.incident_key, OrderStatus.RESOLVED if resolved else OrderStatus.OPEN, o.severity,
                         o.opened_at, o.deadline, resolved_at=resolved, acknowledged_at=acked)
        region = o.region_code or (village_of.get(o.camera_id, "") if o.camera_id is not None else "")
        out.append(WorkOrderRow(
            o.id, o.title or "", o.camera_id, region, names.get(region, ""), township_of(region, parents), o.cause,
            "resolved" if resolved else "acknowledged" if acked else "open",
            o.opened_at, o.deadline, acked, resolved, color(pure, at).value,
            None if acked is None else (acked - o.opened_at).total_seconds(),
            None if resolved is None else (resolved - o.opened_at).total_seconds(),
            severity=o.severity, incident_key=o.incident_key, cameras=o.cameras,
            camera_name=names.get(f"camera:{o.camera_id}", "") if o.camera_id is not None else "",
            parent_name=names.get(parents.get(region, ""), ""), checks=checks.get(o.incident_key, ())))
    return tuple(out)


async def exclusion_rows(engine: AsyncEngine, period: Period, *, village_of: Mapping[int, str],
                         parents: Mapping[str, str], names: Mapping[str, str]) -> tuple[ExclusionRow, ...]:
    """The counted (approved or ended) exclusions that overlap the period."""
    e = Exclusion
    async with engine.connect() as conn:
        rows = (await conn.execute(select(*Exclusion.__table__.columns, Camera.name.label("camera_name")).outerjoin(Camera, Camera.id == e.camera_id).where(
            and_(e.start < period.end, e.end > period.start, e.counted())).order_by(e.start, e.id))).all()
    out = []
    for x in rows:
        cam_name = x.camera_name
        if x.camera_id is not None:
            village = village_of.get(x.camera_id, "")
            out.append(ExclusionRow(x.id, "camera", x.camera_id, village, cam_name or "", parents.get(village, ""),
                                    x.start, x.end, x.reason, x.approver))
        else:
            code = x.region_code or ""
            out.append(ExclusionRow(x.id, "region", None, code, names.get(code, ""), township_of(code, parents),
                                    x.start, x.end, x.reason, x.approver))
    return tuple(out)


def township_of(code: str, parents: Mapping[str, str]) -> str:
    """The township a region lies in: itself for a township, its parent for a village, "" for a county."""
    parent = parents.get(code, "")
    if not parent:
        return ""  # a county (no parent)
    grand = parents.get(parent, "")
    return code if not grand else parent


__all__ = ["NO_CAUSE", "cause_times", "exclusion_rows", "fault_rows", "township_of", "work_order_rows"]
