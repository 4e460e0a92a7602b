"""The time of cameras inside their exclusion windows, summed by the database.

A camera's time with exclusions applied is its raw time minus the online / degraded / offline
time that falls inside its exclusion windows (the union of the exclusions that apply to it,
clipped to the accounted window). Those windows are short, so the database reads only the
spans inside them, plus the one in force at each window's start (the pure timeline's rule: a
span is cut at the next one's start). The windows go in as one JSON parameter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.accounting import from_us
from collector.accounting.sql.span_sums import bound, sqlite_us

_PG = """
WITH w AS (
    SELECT x.k, x.camera_id, CAST(x.s AS timestamptz) AS ws, CAST(x.e AS timestamptz) AS we
    FROM json_to_recordset(CAST(:w AS json)) AS x(k int, camera_id int, s text, e text)
),
rel AS (
    SELECT w.k, w.ws, w.we, i.id, i.state, i.start, i."end" FROM w
    JOIN state_intervals i ON i.camera_id = w.camera_id AND i.start >= w.ws AND i.start < w.we
    UNION ALL
    SELECT w.k, w.ws, w.we, p.id, p.state, p.start, p."end" FROM w CROSS JOIN LATERAL (
        SELECT b.id, b.state, b.start, b."end" FROM state_intervals b
        WHERE b.camera_id = w.camera_id AND b.start < w.ws ORDER BY b.start DESC, b.id DESC LIMIT 1) p
    WHERE p."end" IS NULL OR p."end" > w.ws
),
seg AS (
    SELECT k, ws, we, state, start, "end", LEAD(start) OVER (PARTITION BY k ORDER BY start, id) AS n FROM rel
),
cut AS (
    SELECT k, state, LEAST("end", n, we) - GREATEST(start, ws) AS d FROM seg
    WHERE state IN ('online', 'degraded', 'offline')
)
SELECT k,
       COALESCE(CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'online' THEN d END)) * 1000000 AS BIGINT), 0),
       COALESCE(CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'degraded' THEN d END)) * 1000000 AS BIGINT), 0),
       COALESCE(CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN state = 'offline' THEN d END)) * 1000000 AS BIGINT), 0)
FROM cut WHERE d > INTERVAL '0' GROUP BY k"""

_SQLITE = f"""
WITH w AS (
    SELECT json_extract(value, '$.k') AS k, json_extract(value, '$.camera_id') AS camera_id,
           json_extract(value, '$.s') AS ws, json_extract(value, '$.e') AS we,
           json_extract(value, '$.s_us') AS ws_us, json_extract(value, '$.e_us') AS we_us
    FROM json_each(:w)
),
rel AS (
    SELECT w.k, w.ws_us, w.we_us, i.id, i.state, i.start, i."end" FROM w
    JOIN state_intervals i ON i.camera_id = w.camera_id AND i.start >= w.ws AND i.start < w.we
    UNION ALL
    SELECT w.k, w.ws_us, w.we_us, b.id, b.state, b.start, b."end" FROM w
    JOIN state_intervals b ON b.id = (
        SELECT b2.id FROM state_intervals b2 WHERE b2.camera_id = w.camera_id AND b2.start < w.ws
        ORDER BY b2.start DESC, b2.id DESC LIMIT 1)
    WHERE b."end" IS NULL OR b."end" > w.ws
),
seg AS (
    SELECT k, ws_us, we_us, state, {sqlite_us("start")} AS s, {sqlite_us('"end"')} AS e,
           {sqlite_us("LEAD(start) OVER (PARTITION BY k ORDER BY start, id)")} AS n
    FROM rel
),
cut AS (
    SELECT k, state, min(COALESCE(e, we_us), COALESCE(n, we_us), we_us) - max(s, ws_us) AS d FROM seg
    WHERE state IN ('online', 'degraded', 'offline')
)
SELECT k,
       SUM(CASE WHEN state = 'online' THEN d ELSE 0 END),
       SUM(CASE WHEN state = 'degraded' THEN d ELSE 0 END),
       SUM(CASE WHEN state = 'offline' THEN d ELSE 0 END)
FROM cut WHERE d > 0 GROUP BY k"""


async def inside_windows(conn: AsyncConnection, windows: Iterable[tuple[int, int, int]]) -> dict[int, tuple[int, int, int]]:
    """For (camera_id, start_us, end_us) windows (disjoint per camera): each camera's
    (intact, degraded, offline) microseconds inside its windows."""
    dialect = conn.dialect.name
    items = []
    cameras: list[int] = []
    for k, (cid, s, e) in enumerate(windows):
        item: dict[str, object] = {"k": k, "camera_id": cid, "s": str(bound(dialect, from_us(s))), "e": str(bound(dialect, from_us(e)))}
        if dialect == "sqlite":
            item["s_us"], item["e_us"] = s, e
        else:
            item["s"], item["e"] = from_us(s).isoformat(), from_us(e).isoformat()
        items.append(item)
        cameras.append(cid)
    if not items:
        return {}
    sql = _SQLITE if dialect == "sqlite" else _PG
    out: dict[int, tuple[int, int, int]] = {}
    for k, intact, degraded, down in (await conn.execute(text(sql), {"w": json.dumps(items)})).all():
        cid = cameras[int(k)]
        a, b, c = out.get(cid, (0, 0, 0))
        out[cid] = (a + int(intact), b + int(degraded), c + int(down))
    return out


__all__ = ["inside_windows"]
