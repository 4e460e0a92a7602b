"""When cameras entered monitoring, for the loaders' :class:`CameraRef` (``monitored_from``).

The pure rule (:meth:`CameraRef.accounted_from`) leaves a camera's time before it entered
monitoring out of its time, as its time after its retirement (:mod:`collector.accounting.sql.
retirements`). It entered monitoring at the start of its first stored state interval: the
collector writes one at the first verdict of its first probe (online, or offline with the cause:
a camera added dead is offline from then on), so that is when camwatch began to watch it. Why not
the other times the data model has: ``cameras.created_at`` is when a row was written, not when the
camera was watched (an import or re-import writes it, and a history older than the row would be
cut: the test counties, like a migrated database, are imported after their history); ``installed_on``
is a date an installer may give or not, often years before camwatch. A camera with no interval at
all is not cut: all its time stays unknown (camwatch never watched it, and the known share says so).

No online / degraded / offline time and no transition lies before a camera's first interval, so
the database sums of its states (intervals or daily rollups, unchanged) need no cut: only its
window (the unknown rest) and its exclusions start there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.accounting import CameraRef
from collector.accounting.sql.span_sums import bound, stored_time

CHUNK = 900  # camera ids per query

# each camera's first interval through the (camera_id, start) index: one probe a camera
_FIRST = """SELECT id, first_start FROM (
    SELECT c.id, (SELECT MIN(i.start) FROM state_intervals i WHERE i.camera_id = c.id) AS first_start
    FROM cameras c{where}) f
WHERE first_start > :since"""
_ALL = text(_FIRST.format(where=""))
_SOME = text(_FIRST.format(where=" WHERE c.id IN :ids")).bindparams(bindparam("ids", expanding=True, type_=Integer))
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def monitoring_starts(conn: AsyncConnection, since: dt.datetime | None,
                            ids: Iterable[int] | None = None) -> dict[int, dt.datetime]:
    """camera id -> the start of its first state interval, for every camera (or those of *ids*)
    whose first interval starts after ``since`` (None: any). The others are in monitoring for any
    window starting at or after ``since``: their refs need no ``monitored_from``."""
    params = {"since": bound(conn.dialect.name, since or _EPOCH)}
    if ids is None:
        rows = (await conn.execute(_ALL, params)).all()
    else:
        id_list = sorted(set(ids))
        rows = []
        for i in range(0, len(id_list), CHUNK):
            rows.extend((await conn.execute(_SOME, {**params, "ids": id_list[i:i + CHUNK]})).all())
    return {int(cid): stored_time(first) for cid, first in rows}


def late_us(cam: CameraRef, lo_us: int, hi_us: int) -> int:
    """How much of the window [lo, hi) lies before *cam*'s part of it (:meth:`CameraRef.
    accounted_from`), its part after a retirement left to :mod:`~collector.accounting.sql.
    retirements`: the window less this less that is the camera's accounted time."""
    until = max(lo_us, min(hi_us, cam.accounted_until(hi_us)))
    return min(cam.accounted_from(lo_us), until) - lo_us


__all__ = ["late_us", "monitoring_starts"]
