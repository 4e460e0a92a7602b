"""Per-camera time sums pushed into the database, equal to the pure :func:`camera_times`.

One aggregate query over ``state_intervals`` clips each interval to the accounted window
W = [period.start, min(period.end, now)) and sums integer microseconds per camera and state
class (intact = ``online``, ``degraded``, ``offline``); the rest of W is unknown. The query keeps
the pure timeline's rule that a span is cut at the start of the camera's next span (ordered by
start, then id: of two spans with one start, the later stored wins), so overlapping or stale
open intervals count exactly as :func:`collector.accounting.timeline.segments` counts them.

Only spans that can add time are read: the last span starting before W (when it reaches into
W; every earlier one is cut before W by a later one) and the spans starting inside W.

Cameras touched by an exclusion inside W are computed by the pure path from their own spans,
so the result equals ``camera_times(cameras, all_spans, exclusions, period, now)`` for every
camera.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounting import (
    CameraRef,
    CameraTime,
    CameraTimes,
    ExclusionIndex,
    ExclusionSpan,
    Period,
    StateSpan,
    camera_times,
    index_exclusions,
    to_us,
)
from inventory.models import Lifecycle, UTCDateTime

CHUNK = 900  # camera ids per query when loading the spans of excluded cameras

# The spans that can add time to W, with their stored id for the tie order.
_RELEVANT = """
    SELECT i.id, i.camera_id, i.state, i.start, i."end" FROM state_intervals i
    WHERE i.start >= :lo AND i.start < :hi {filter_i}
    UNION ALL
    SELECT a.id, a.camera_id, a.state, a.start, a."end" FROM state_intervals a
    WHERE a.start < :lo AND (a."end" IS NULL OR a."end" > :lo) {filter_a}
      AND NOT EXISTS (
        SELECT 1 FROM state_intervals b
        WHERE b.camera_id = a.camera_id AND b.start < :lo
          AND (b.start > a.start OR (b.start = a.start AND b.id > a.id)))
"""

# PostgreSQL: the last span before W found per camera through the (camera_id, start) index, and
# a camera id range so that parts of the fleet can be summed on several connections at once.
_RELEVANT_PG = """
    SELECT i.id, i.camera_id, i.state, i.start, i."end" FROM state_intervals i
    WHERE i.start >= :lo AND i.start < :hi AND i.camera_id >= :c0 AND i.camera_id < :c1
    UNION ALL
    SELECT p.id, p.camera_id, p.state, p.start, p."end" FROM cameras c CROSS JOIN LATERAL (
        SELECT b.id, b.camera_id, b.state, b.start, b."end" FROM state_intervals b
        WHERE b.camera_id = c.id AND b.start < :lo ORDER BY b.start DESC, b.id DESC LIMIT 1) p
    WHERE c.id >= :c0 AND c.id < :c1 AND (p."end" IS NULL OR p."end" > :lo)
"""

_SUMS = """
WITH rel AS ({relevant}),
seg AS (
    SELECT camera_id, state, {us_start} AS s, {us_end} AS e,
           {us_next} AS n
    FROM rel
    WINDOW w AS (PARTITION BY camera_id ORDER BY start, id)
),
cut AS (
    SELECT camera_id, state,
           {least}(COALESCE(e, :hi_us), COALESCE(n, :hi_us), :hi_us) - {greatest}(s, :lo_us) AS d
    FROM seg
    WHERE state IN ('online', 'degraded', 'offline')
)
SELECT camera_id,
       SUM(CASE WHEN state = 'online' THEN d ELSE 0 END) AS intact,
       SUM(CASE WHEN state = 'degraded' THEN d ELSE 0 END) AS degraded,
       SUM(CASE WHEN state = 'offline' THEN d ELSE 0 END) AS down
FROM cut
WHERE d > 0
GROUP BY camera_id
"""


def _sqlite_us(expr: str) -> str:
    # Stored text 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC): whole seconds + the fraction digits.
    return (f"(CAST(strftime('%s', substr({expr}, 1, 19)) AS INTEGER) * 1000000"
            f" + CAST(substr({expr}, 21, 6) AS INTEGER))")


# SQLite: integer microseconds per row, summed.
_SUMS_SQLITE = _SUMS.format(
    relevant=_RELEVANT.format(filter_i="", filter_a=""), us_start=_sqlite_us("start"),
    us_end=_sqlite_us('"end"'), us_next=_sqlite_us("LEAD(start) OVER w"), least="min", greatest="max")

# PostgreSQL: clipped lengths as intervals (exact microseconds, and far cheaper per row than
# numeric epochs), summed per camera, turned into integer microseconds once per camera.
_SUMS_PG = """
WITH rel AS ({relevant}),
seg AS (
    SELECT camera_id, state, start, "end", LEAD(start) OVER (PARTITION BY camera_id ORDER BY start, id) AS n
    FROM rel
),
cut AS (
    SELECT camera_id, state, LEAST("end", n, :hi) - GREATEST(start, :lo) AS d
    FROM seg
    WHERE state IN ('online', 'degraded', 'offline')
)
SELECT camera_id,
       CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'online' THEN d END)) * 1000000 AS BIGINT) AS intact,
       CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'degraded' THEN d END)) * 1000000 AS BIGINT) AS degraded,
       CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'offline' THEN d END)) * 1000000 AS BIGINT) AS down
FROM cut
WHERE d > INTERVAL '0'
GROUP BY camera_id
""".format(relevant=_RELEVANT_PG)

# One big sort and window per query: no JIT (it compiles for ~1 s), sort in memory.
_PG_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '512MB'", "SET LOCAL max_parallel_workers_per_gather = 0")
PG_PARTS = 2  # camera id ranges summed at once on their own connections (one per core here)


def _bound(dialect: str, when: dt.datetime) -> dt.datetime | str:
    """A period bound as the column stores it (SQLite: naive-UTC text, so text comparison works)."""
    utc = when.astimezone(dt.UTC)
    if dialect == "sqlite":
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return utc


def _sec(us: int) -> Decimal:
    return Decimal(us).scaleb(-6)


def _time(window: int, intact: int, degraded: int, down: int) -> CameraTime:
    up = intact + degraded
    return CameraTime(online_s=_sec(up), intact_s=_sec(intact), eligible_s=_sec(up + down),
                      excluded_s=_sec(0), unknown_s=_sec(window - up - down), offline_s=_sec(down))


async def load_camera_refs(conn: AsyncConnection) -> tuple[CameraRef, ...]:
    """Every camera with its village, township and county (as :func:`load_accounting` builds them)."""
    rows = (await conn.execute(text("""
        SELECT c.id, c.point_id, p.village_code, t.code, t.parent_code, c.contractor, c.lifecycle
        FROM cameras c
        LEFT JOIN points p ON p.id = c.point_id
        LEFT JOIN regions v ON v.code = p.village_code
        LEFT JOIN regions t ON t.code = v.parent_code"""))).all()
    retired = Lifecycle.RETIRED.value
    return tuple(CameraRef(cid, pid, village or "", township or "", county or "", contractor, lifecycle == retired)
                 for cid, pid, village, township, county, contractor, lifecycle in rows)


def _excluded_cameras(cameras: Iterable[CameraRef], index: ExclusionIndex, lo: int, hi: int) -> list[CameraRef]:
    """Cameras with any exclusion inside [lo, hi) (only those the index names are checked)."""
    if not (index.everywhere or index.by_camera or index.by_region):
        return []
    everywhere = bool(index.everywhere)
    by_camera, by_region = index.by_camera, index.by_region
    out = []
    for cam in cameras:
        if (everywhere or cam.camera_id in by_camera or cam.village in by_region or cam.township in by_region
                or cam.county in by_region) and index.for_camera(cam, lo, hi):
            out.append(cam)
    return out


async def _load_spans(conn: AsyncConnection, ids: Sequence[int],
                      lo: dt.datetime | str, hi: dt.datetime | str) -> list[StateSpan]:
    """The relevant spans of some cameras, ordered by id (the pure timeline's tie order)."""
    relevant = _RELEVANT.format(filter_i="AND i.camera_id IN :ids", filter_a="AND a.camera_id IN :ids")
    sql = text(f'SELECT camera_id, state, start, "end" FROM ({relevant}) r ORDER BY id')
    sql = sql.bindparams(bindparam("ids", expanding=True))
    conv = UTCDateTime().process_result_value
    spans: list[StateSpan] = []
    for i in range(0, len(ids), CHUNK):
        rows = (await conn.execute(sql, {"ids": list(ids[i:i + CHUNK]), "lo": lo, "hi": hi})).all()
        for cid, state, start, end in rows:
            if isinstance(start, str):  # SQLite through text(): the stored text
                start = dt.datetime.fromisoformat(start)
                end = None if end is None else dt.datetime.fromisoformat(end)
            spans.append(StateSpan(cid, state, conv(start, None), conv(end, None)))  # type: ignore[arg-type]
    return spans


async def _pg_sums(engine: AsyncEngine, params: dict[str, object], c0: int, c1: int) -> list[tuple[int, int, int, int]]:
    async with engine.connect() as conn:
        for setting in _PG_SETTINGS:
            await conn.exec_driver_sql(setting)
        rows = (await conn.execute(text(_SUMS_PG), {**params, "c0": c0, "c1": c1})).all()
        await conn.rollback()
    return [(cid, a or 0, b or 0, c or 0) for cid, a, b, c in rows]


async def _sums(engine: AsyncEngine, cams: Sequence[CameraRef], lo: dt.datetime | str, hi: dt.datetime | str,
                lo_us: int, hi_us: int) -> list[tuple[int, int, int, int]]:
    """(camera_id, intact_us, degraded_us, offline_us) of every camera with any such time in W."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            rows = (await conn.execute(text(_SUMS_SQLITE), {"lo": lo, "hi": hi, "lo_us": lo_us, "hi_us": hi_us})).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]
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


async def sql_camera_times(engine: AsyncEngine, period: Period, now: dt.datetime, *,
                           exclusions: Iterable[ExclusionSpan] | ExclusionIndex,
                           cameras: Sequence[CameraRef] | None = None) -> dict[int, CameraTimes]:
    """Every camera's time with and without exclusions, equal to the pure ``camera_times``.

    ``cameras`` defaults to every camera in the database; pass the refs you already have to
    skip loading them. On PostgreSQL the sums run on ``PG_PARTS`` pooled connections at once.
    """
    index = index_exclusions(exclusions)
    now_us = to_us(now)
    lo_us = to_us(period.start)
    hi_us = min(to_us(period.end), now_us)
    dialect = engine.dialect.name
    lo_b, hi_b = _bound(dialect, period.start), _bound(dialect, min(period.end, now))
    if cameras is None:
        async with engine.connect() as conn:
            cams: Sequence[CameraRef] = await load_camera_refs(conn)
    else:
        cams = cameras
    if hi_us <= lo_us:
        return camera_times(cams, {}, index, period, now)
    excluded = _excluded_cameras(cams, index, lo_us, hi_us)
    rows = await _sums(engine, cams, lo_b, hi_b, lo_us, hi_us)
    spans: list[StateSpan] = []
    if excluded:
        async with engine.connect() as conn:
            spans = await _load_spans(conn, [c.camera_id for c in excluded], lo_b, hi_b)
    window = hi_us - lo_us
    empty = _time(window, 0, 0, 0)
    empty_times = CameraTimes(empty, empty)
    sums = {cid: (int(a), int(b), int(c)) for cid, a, b, c in rows}
    out: dict[int, CameraTimes] = {}
    for cam in cams:
        s = sums.get(cam.camera_id)
        if s is None:
            out[cam.camera_id] = empty_times
        else:
            t = _time(window, *s)
            out[cam.camera_id] = CameraTimes(t, t)
    if excluded:
        out.update(camera_times(excluded, spans, index, period, now))
    return out


__all__ = ["load_camera_refs", "sql_camera_times"]
