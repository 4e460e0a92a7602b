"""The transitions' uncertainty summed in the database, equal to the pure
:func:`collector.accounting.rates.transitions_us`: per camera (or per village, township, county
and contractor group) the half probe gaps of the intervals starting in the window [lo, hi).

Read straight from ``state_intervals`` through the start index (only intervals with an
uncertainty) when the intervals answer; with the daily rollups the grouped sums carry it
(``camera_rollups.unc_us``, :mod:`collector.accounting.sql.rollup_sums`) and only the cameras
lacking rows are read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.sql.span_sums import bound

GroupKey = tuple[str, str, str, str | None]
CHUNK = 900  # camera ids per query

_PER_CAMERA = """
SELECT camera_id, SUM(start_uncertainty_us) AS u FROM state_intervals
WHERE start >= :lo AND start < :hi AND start_uncertainty_us > 0
GROUP BY camera_id"""

_PER_GROUP = f"""
WITH pu AS ({_PER_CAMERA})
SELECT p.village_code, t.code, t.parent_code, c.contractor, SUM(pu.u)
FROM pu
JOIN cameras c ON c.id = pu.camera_id
LEFT JOIN points p ON p.id = c.point_id
LEFT JOIN regions v ON v.code = p.village_code
LEFT JOIN regions t ON t.code = v.parent_code
GROUP BY p.village_code, t.code, t.parent_code, c.contractor"""


def _params(engine: AsyncEngine, lo: dt.datetime, hi: dt.datetime) -> dict[str, object]:
    d = engine.dialect.name
    return {"lo": bound(d, lo), "hi": bound(d, hi)}


async def camera_uncertainty(engine: AsyncEngine, lo: dt.datetime, hi: dt.datetime, *,
                             ids: Sequence[int] | None = None) -> dict[int, int]:
    """camera id -> microseconds (cameras without any left out); *ids*: only these cameras."""
    if hi <= lo or (ids is not None and not ids):
        return {}
    params = _params(engine, lo, hi)
    async with engine.connect() as conn:
        if ids is None:
            rows = list((await conn.execute(text(_PER_CAMERA), params)).all())
        else:
            sql = text(_PER_CAMERA.replace("GROUP BY", "AND camera_id IN :ids\nGROUP BY")).bindparams(
                bindparam("ids", expanding=True, type_=Integer))
            rows = []
            for k in range(0, len(ids), CHUNK):
                rows.extend((await conn.execute(sql, {**params, "ids": list(ids[k:k + CHUNK])})).all())
    return {int(cid): int(u) for cid, u in rows}


async def group_uncertainty(engine: AsyncEngine, lo: dt.datetime, hi: dt.datetime) -> dict[GroupKey, int]:
    """(village, township, county, contractor) -> microseconds (groups without any left out)."""
    if hi <= lo:
        return {}
    async with engine.connect() as conn:
        rows = (await conn.execute(text(_PER_GROUP), _params(engine, lo, hi))).all()
    return {(village or "", township or "", county or "", contractor): int(u)
            for village, township, county, contractor, u in rows}


__all__ = ["camera_uncertainty", "group_uncertainty"]
