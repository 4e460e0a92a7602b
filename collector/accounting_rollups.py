"""Per-camera time sums read from the daily rollups, equal to the sums over the intervals.

For the accounted window W = [lo, hi) the plan picks built midnights d1 (first at or after lo)
and d2 (last at or before hi): a camera's time is row(d2) - row(d1) (the rows are cumulative),
plus the head [lo, d1) and the tail [d2, hi) summed from the intervals that start after the
midnight before each edge and the interval each row says was in force at that midnight (the
pure timeline's rule applies: a span is cut at the next one's start). Cameras lacking any of
the rows are left to the caller (:func:`missing_sql` names them), which sums them from their
intervals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.rollups import DAY
from collector.sql_sums import bound, carried_relevant, sums_ctes, window_params
from inventory.models import UTCDateTime

# Below this share of cameras with rows, the plain interval query is cheaper than the fallbacks.
MIN_COVERED_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class RollupPlan:
    """Which rollup rows answer W = [lo, hi): middle [d1, d2) from rows, edges from intervals."""

    lo: dt.datetime
    hi: dt.datetime
    d1: dt.datetime
    d2: dt.datetime

    @property
    def head(self) -> bool:
        return self.lo < self.d1

    @property
    def tail(self) -> bool:
        return self.d2 < self.hi

    @property
    def d0(self) -> dt.datetime:
        return self.d1 - DAY

    def days(self) -> tuple[dt.datetime, ...]:
        """The midnights whose rows a camera needs."""
        return ((self.d0,) if self.head else ()) + (self.d1, self.d2)

    def params(self, dialect: str) -> dict[str, object]:
        p: dict[str, object] = {"d0": bound(dialect, self.d0), "d1": bound(dialect, self.d1), "d2": bound(dialect, self.d2)}
        p.update(window_params(dialect, "lo", "d1", self.lo, self.d1))
        p.update(window_params(dialect, "d2", "hi", self.d2, self.hi))
        return p


async def built_days(conn: AsyncConnection) -> list[dt.datetime]:
    conv = UTCDateTime().process_result_value
    out = []
    for (day,) in (await conn.execute(text("SELECT day FROM rollup_days ORDER BY day"))).all():
        if isinstance(day, str):  # SQLite through text()
            day = dt.datetime.fromisoformat(day)
        out.append(conv(day, None))
    return out  # type: ignore[return-value]


def make_plan(days: list[dt.datetime], lo: dt.datetime, hi: dt.datetime) -> RollupPlan | None:
    """The plan for [lo, hi) from the built midnights, or None when the rows cannot help (no
    built midnight inside the window, or none a day before the first one used)."""
    built = set(days)
    inside = [d for d in days if lo <= d <= hi]
    if not inside:
        return None
    d1, d2 = inside[0], inside[-1]
    if lo < d1 and (d1 - lo > DAY or d1 - DAY not in built):
        return None
    return RollupPlan(lo, hi, d1, d2)


def per_camera_ctes(dialect: str, plan: RollupPlan, camera_range: bool = False) -> str:
    """CTEs ending in ``per_cam(camera_id, intact, degraded, down)`` for the cameras with rows
    (``camera_range``: only camera ids in [:c0, :c1), so parts can run on several connections)."""
    rng = " AND camera_id >= :c0 AND camera_id < :c1" if camera_range else ""
    parts = [f"r1 AS (SELECT camera_id, intact_us, degraded_us, offline_us FROM camera_rollups WHERE day = :d1{rng})",
             f"r2 AS (SELECT camera_id, intact_us, degraded_us, offline_us FROM camera_rollups WHERE day = :d2{rng})"]
    joins = ["JOIN r1 ON r1.camera_id = r2.camera_id"]
    sums = {"intact": "r2.intact_us - r1.intact_us", "degraded": "r2.degraded_us - r1.degraded_us",
            "down": "r2.offline_us - r1.offline_us"}
    if plan.head:
        parts.append(f"r0 AS (SELECT camera_id FROM camera_rollups WHERE day = :d0{rng})")
        parts.append(sums_ctes(dialect, "h", carried_relevant(dialect, "d0", "d1", camera_range), "lo", "d1").strip())
        joins += ["JOIN r0 ON r0.camera_id = r2.camera_id", "LEFT JOIN h ON h.camera_id = r2.camera_id"]
        sums = {k: f"{v} + COALESCE(h.{k}, 0)" for k, v in sums.items()}
    if plan.tail:
        parts.append(sums_ctes(dialect, "t", carried_relevant(dialect, "d2", "hi", camera_range), "d2", "hi").strip())
        joins.append("LEFT JOIN t ON t.camera_id = r2.camera_id")
        sums = {k: f"{v} + COALESCE(t.{k}, 0)" for k, v in sums.items()}
    cols = ", ".join(f"{v} AS {k}" for k, v in sums.items())
    parts.append(f"per_cam AS (SELECT r2.camera_id, {cols} FROM r2 {' '.join(joins)})")
    return ",\n".join(parts)


def per_camera_sql(dialect: str, plan: RollupPlan) -> str:
    return f"WITH {per_camera_ctes(dialect, plan)}\nSELECT camera_id, intact, degraded, down FROM per_cam"


def missing_sql(plan: RollupPlan) -> str:
    """Ids of the cameras lacking a row the plan needs."""
    names = {"d0": plan.d0, "d1": plan.d1, "d2": plan.d2}
    conds = " OR ".join(
        f"NOT EXISTS (SELECT 1 FROM camera_rollups r WHERE r.day = :{n} AND r.camera_id = c.id)"
        for n in ("d0", "d1", "d2") if names[n] in plan.days())
    return f"SELECT c.id FROM cameras c WHERE {conds}"


__all__ = ["MIN_COVERED_SHARE", "RollupPlan", "built_days", "make_plan", "missing_sql",
           "per_camera_ctes", "per_camera_sql"]
