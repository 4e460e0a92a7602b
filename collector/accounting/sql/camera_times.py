"""Per-camera time sums pushed into the database, equal to the pure :func:`camera_times`.

One aggregate query over ``state_intervals`` clips each interval to the accounted window
W = [period.start, min(period.end, now)) and sums integer microseconds per camera and state
class (intact = ``online``, ``degraded``, ``offline``); the rest of W is unknown. The query keeps
the pure timeline's rule that a span is cut at the start of the camera's next span (ordered by
start, then id: of two spans with one start, the later stored wins), so overlapping or stale
open intervals count exactly as :func:`collector.accounting.timeline.segments` counts them.

Only spans that can add time are read: the last span starting before W (when it reaches into
W; every earlier one is cut before W by a later one) and the spans starting inside W.

When the daily rollups (:mod:`collector.accounting.sql.rollups`) are built for W, they answer instead: two
rows per camera and the edges of W (:mod:`collector.accounting.sql.rollup_sums`).

Cameras touched by an exclusion inside W, cameras retired before W ends (their window ends at
the retirement) and cameras without rollup rows are computed by the pure path from their own
spans, so the result equals ``camera_times(cameras, all_spans, exclusions, period, now)`` for
every camera. A camera that entered monitoring inside W (:mod:`collector.accounting.sql.entries`)
keeps its sums (none of its states lies before that) over a window starting there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import Integer, String, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounting import (
    CameraRef,
    CameraTimes,
    ExclusionIndex,
    Exclusions,
    Period,
    StateSpan,
    camera_times,
    index_exclusions,
    time_from_us,
    to_us,
    us_seconds,
)
from collector.accounting.sql.entries import monitoring_starts
from collector.accounting.sql.retirements import RETIREMENT_COLUMNS, cut_cameras, retirement_time, uncertainty_after
from collector.accounting.sql.rollup_sums import (
    MIN_COVERED_SHARE,
    RollupPlan,
    built_days,
    make_plan,
    missing_sql,
    per_camera_sql,
)
from collector.accounting.sql.span_sums import RELEVANT, bound, stored_time, tune_for_sums, window_sums_ctes
from collector.accounting.sql.uncertainty_sums import camera_uncertainty
from inventory.models import Lifecycle

CHUNK = 900  # camera ids per query when loading the spans of excluded cameras

# SQLite: one query over every camera; PostgreSQL: one query per camera id range.
_SUMS_SQLITE = "WITH " + window_sums_ctes("sqlite") + "\nSELECT camera_id, intact, degraded, down FROM s"
_SUMS_PG = "WITH " + window_sums_ctes("postgresql") + "\nSELECT camera_id, intact, degraded, down FROM s"

PG_PARTS = 2  # camera id ranges summed at once on their own connections (one per core here)


_REFS = f"""
    SELECT c.id, c.point_id, p.village_code, t.code, t.parent_code, c.contractor, {RETIREMENT_COLUMNS}
    FROM cameras c
    LEFT JOIN points p ON p.id = c.point_id
    LEFT JOIN regions v ON v.code = p.village_code
    LEFT JOIN regions t ON t.code = v.parent_code"""


async def load_camera_refs(conn: AsyncConnection, *, ids: Iterable[int] | None = None,
                           regions: Iterable[str] | None = None, retired: bool = False,
                           since: dt.datetime | None = None) -> tuple[CameraRef, ...]:
    """Cameras with their village, township, county, retirement time and when they entered
    monitoring (as :func:`collector.accounting.sql.load.load_accounting` builds them): every
    camera, or (given ``ids`` and/or ``regions``) those with one of the ids or in one of the
    regions (village, township or county code), or (``retired``) the retired ones. ``since``:
    the refs serve windows starting then or later (only the cameras that entered monitoring after
    it, their first state interval, get ``monitored_from``: :mod:`collector.accounting.sql.entries`);
    None: any window."""
    if retired:
        rows = (await conn.execute(text(_REFS + "\n    WHERE c.lifecycle = :retired"),
                                   {"retired": Lifecycle.RETIRED.value})).all()
    elif ids is None and regions is None:
        rows = (await conn.execute(text(_REFS))).all()
    else:
        # two indexed selects (by id; by village under the codes), not one OR that scans every camera
        sql = text(_REFS + """
    WHERE c.id IN :ids
    UNION ALL""" + _REFS + """
    WHERE p.village_code IN (
        SELECT rv.code FROM regions rv LEFT JOIN regions rt ON rt.code = rv.parent_code
        WHERE rv.code IN :codes OR rv.parent_code IN :codes OR rt.parent_code IN :codes)""")
        sql = sql.bindparams(bindparam("ids", expanding=True, type_=Integer), bindparam("codes", expanding=True, type_=String))
        id_list, codes = sorted(set(ids or ())), sorted(set(regions or ()))
        rows = []
        for i in range(0, max(len(id_list), 1), CHUNK):
            rows.extend((await conn.execute(sql, {"ids": id_list[i:i + CHUNK], "codes": codes if i == 0 else []})).all())
    gone = Lifecycle.RETIRED.value
    every = ids is None and regions is None and not retired
    starts = await monitoring_starts(conn, since, None if every else [r[0] for r in rows])
    refs = {cid: CameraRef(cid, pid, village or "", township or "", county or "", contractor, lifecycle == gone,
                           retirement_time(lifecycle, retired_at, updated_at) if lifecycle == gone else None,
                           starts.get(cid))
            for cid, pid, village, township, county, contractor, lifecycle, retired_at, updated_at in rows}
    return tuple(refs.values())


def excluded_cameras(cameras: Iterable[CameraRef], index: ExclusionIndex, lo: int, hi: int) -> list[CameraRef]:
    """Cameras with any exclusion inside [lo, hi), each camera's cut where it entered monitoring
    and at its retirement (only those the index names are checked)."""
    if index.empty:
        return []
    everywhere = bool(index.everywhere)
    by_camera, by_region = index.by_camera, index.by_region
    out = []
    for cam in cameras:
        if (everywhere or cam.camera_id in by_camera or cam.village in by_region or cam.township in by_region
                or cam.county in by_region) and index.for_camera(cam, cam.accounted_from(lo), cam.accounted_until(hi)):
            out.append(cam)
    return out


async def load_spans(conn: AsyncConnection, ids: Sequence[int],
                      lo: dt.datetime | str, hi: dt.datetime | str) -> list[StateSpan]:
    """The relevant spans of some cameras, ordered by id (the pure timeline's tie order)."""
    relevant = RELEVANT.format(filter_i="AND i.camera_id IN :ids", filter_a="AND a.camera_id IN :ids")
    sql = text(f'SELECT camera_id, state, start, "end" FROM ({relevant}) r ORDER BY id')
    sql = sql.bindparams(bindparam("ids", expanding=True))
    spans: list[StateSpan] = []
    for i in range(0, len(ids), CHUNK):
        rows = (await conn.execute(sql, {"ids": list(ids[i:i + CHUNK]), "lo": lo, "hi": hi})).all()
        spans.extend(StateSpan(cid, state, stored_time(start), stored_time(end)) for cid, state, start, end in rows)
    return spans


async def _pg_sums(engine: AsyncEngine, params: dict[str, object], c0: int, c1: int) -> list[tuple[int, int, int, int]]:
    async with engine.connect() as conn:
        await tune_for_sums(conn)
        rows = (await conn.execute(text(_SUMS_PG), {**params, "c0": c0, "c1": c1})).all()
        await conn.rollback()
    return [(cid, a or 0, b or 0, c or 0) for cid, a, b, c in rows]


async def _sums(engine: AsyncEngine, cams: Sequence[CameraRef], lo: dt.datetime | str, hi: dt.datetime | str,
                lo_us: int, hi_us: int) -> list[tuple[int, int, int, int]]:
    """(camera_id, intact_us, degraded_us, offline_us) of every camera with any such time in W."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            rows = (await conn.execute(text(_SUMS_SQLITE), {"lo": lo, "hi": hi, "lo_us": lo_us, "hi_us": hi_us})).all()
        return [(cid, a, b, c) for cid, a, b, c in rows]
    if engine.dialect.name != "postgresql":
        raise ValueError(f"no accounting SQL for {engine.dialect.name!r}")
    ids = sorted(c.camera_id for c in cams)
    if not ids:
        return []
    # split at camera ids so each part has about as many cameras
    cuts = [ids[len(ids) * k // PG_PARTS] for k in range(PG_PARTS)] + [ids[-1] + 1]
    parts = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]
    params: dict[str, object] = {"lo": lo, "hi": hi}
    results = await asyncio.gather(*(_pg_sums(engine, params, a, b) for a, b in parts))
    return [row for part in results for row in part]


async def rollup_sums(engine: AsyncEngine, lo: dt.datetime, hi: dt.datetime, n_cameras: int
                      ) -> tuple[RollupPlan, list[tuple[int, int, int, int, int]], list[int]] | None:
    """Per-camera sums of [lo, hi) from the rollups (intact, degraded, down, uncertainty µs) and
    the ids of the cameras lacking rows, or None when the rollups cannot answer (then the
    interval query is the way)."""
    dialect = engine.dialect.name
    async with engine.connect() as conn:
        plan = make_plan(await built_days(conn), lo, hi)
        if plan is None:
            return None
        params = plan.params(dialect)
        missing = list((await conn.execute(text(missing_sql(plan)), params)).scalars())
        if n_cameras and (n_cameras - len(missing)) / n_cameras < MIN_COVERED_SHARE:
            return None
        await tune_for_sums(conn)
        rows = [(cid, int(a), int(b), int(c), int(u)) for cid, a, b, c, u in
                (await conn.execute(text(per_camera_sql(dialect, plan)), params)).all()]
        await conn.rollback()
    return plan, rows, missing


async def sql_camera_times(engine: AsyncEngine, period: Period, now: dt.datetime, *,
                           exclusions: Exclusions,
                           cameras: Sequence[CameraRef] | None = None) -> dict[int, CameraTimes]:
    """Every camera's time with and without exclusions, equal to the pure ``camera_times``.

    ``cameras`` defaults to every camera in the database; pass the refs you already have to
    skip loading them. The daily rollups answer when they are built for the window; else one
    interval query (on PostgreSQL on ``PG_PARTS`` pooled connections at once). The transitions'
    uncertainty comes with the rollups' sums, else from its own query (run meanwhile).
    """
    index = index_exclusions(exclusions)
    now_us = to_us(now)
    lo_us = to_us(period.start)
    hi_us = min(to_us(period.end), now_us)
    dialect = engine.dialect.name
    hi_dt = min(period.end, now)
    lo_b, hi_b = bound(dialect, period.start), bound(dialect, hi_dt)
    if cameras is None:
        async with engine.connect() as conn:
            cams: Sequence[CameraRef] = await load_camera_refs(conn, since=period.start)
    else:
        cams = cameras
    if hi_us <= lo_us:
        return camera_times(cams, {}, index, period, now)
    pure = {c.camera_id: c for c in excluded_cameras(cams, index, lo_us, hi_us)}
    cut = {c.camera_id: max(lo_us, c.accounted_until(hi_us)) for c in cut_cameras(cams, hi_us)}
    pure.update((c.camera_id, c) for c in cams if c.camera_id in cut)  # (retired: their window ends early)
    from_rollups = await rollup_sums(engine, period.start, hi_dt, len(cams))
    if from_rollups is not None:
        _, rows, missing = from_rollups
        wanted = set(missing)
        pure.update((c.camera_id, c) for c in cams if c.camera_id in wanted)
        unc = {cid: u for cid, _, _, _, u in rows if u}
        unc.update(await camera_uncertainty(engine, period.start, hi_dt, ids=sorted(wanted)))
    else:
        unc_task = asyncio.ensure_future(camera_uncertainty(engine, period.start, hi_dt))  # while the sums run
        try:
            rows = [(cid, a, b, c, 0) for cid, a, b, c in await _sums(engine, cams, lo_b, hi_b, lo_us, hi_us)]
            unc = await unc_task
        finally:
            if not unc_task.done():
                unc_task.cancel()
                await asyncio.gather(unc_task, return_exceptions=True)
    spans: list[StateSpan] = []
    if pure:
        async with engine.connect() as conn:
            spans = await load_spans(conn, list(pure), lo_b, hi_b)
            for cid, u_us in (await uncertainty_after(conn, cut, hi_us)).items():
                unc[cid] = unc.get(cid, 0) - u_us  # (the transitions after a retirement are no part of the camera's ±)
    window = hi_us - lo_us
    empty = time_from_us(window, 0, 0, 0)
    empty_times = CameraTimes(empty, empty)
    sums = {cid: (int(a), int(b), int(c)) for cid, a, b, c, _ in rows}
    out: dict[int, CameraTimes] = {}
    for cam in cams:
        s = sums.get(cam.camera_id)
        # a camera that entered monitoring inside W: its window starts there (its states never before)
        w = window if cam.monitored_from is None else max(0, hi_us - cam.accounted_from(lo_us))
        if s is None:
            out[cam.camera_id] = empty_times if w == window else CameraTimes(*(time_from_us(w, 0, 0, 0),) * 2)
        else:
            t = time_from_us(w, *s)
            out[cam.camera_id] = CameraTimes(t, t)
    if pure:
        out.update(camera_times(pure.values(), spans, index, period, now))
    for cid, u_us in unc.items():  # the transitions' ± (the spans read above carry none)
        ct = out.get(cid)
        if ct is not None:
            u = us_seconds(u_us)
            out[cid] = CameraTimes(replace(ct.with_exclusions, uncertainty_s=u), replace(ct.without_exclusions, uncertainty_s=u))
    return out


__all__ = ["excluded_cameras", "load_camera_refs", "load_spans", "rollup_sums", "sql_camera_times"]
