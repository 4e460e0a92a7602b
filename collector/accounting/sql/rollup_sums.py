"""Per-camera time sums read from the daily rollups, equal to the sums over the intervals.

For the accounted window W = [lo, hi) the plan picks built midnights a (last at or before lo)
and b (last at or before hi). The rows are cumulative, so a camera's time is

    row(b) - row(a) - time[a, lo) + time[b, hi)

where the two edge times are summed from the intervals starting in [a, lo) and [b, hi) plus the
interval each row says was in force at its midnight (the pure timeline's rule applies: a span
is cut at the next one's start). The edges read only the hours between a midnight and the
window's ends, never a whole day. Cameras lacking either row are left to the caller
(:func:`missing_sql` names them), which sums them from their intervals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.accounting.sql.rollups import DAY
from collector.accounting.sql.span_sums import bound, sqlite_us, stored_time, ts_param, window_params

# Below this share of cameras with rows, the plain interval query is cheaper than the fallbacks.
MIN_COVERED_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class RollupPlan:
    """Which rollup rows answer W = [lo, hi): rows at midnights ``a`` <= lo and ``b`` <= hi, the
    edges [a, lo) (subtracted) and [b, hi) (added) from the intervals."""

    lo: dt.datetime
    hi: dt.datetime
    a: dt.datetime
    b: dt.datetime

    @property
    def head(self) -> bool:
        return self.a < self.lo

    @property
    def tail(self) -> bool:
        return self.b < self.hi

    def days(self) -> tuple[dt.datetime, dt.datetime]:
        """The midnights whose rows a camera needs."""
        return self.a, self.b

    def params(self, dialect: str) -> dict[str, object]:
        p: dict[str, object] = {"a": bound(dialect, self.a), "b": bound(dialect, self.b)}
        p.update(window_params(dialect, "a", "lo", self.a, self.lo))
        p.update(window_params(dialect, "b", "hi", self.b, self.hi))
        return p


async def built_days(conn: AsyncConnection) -> list[dt.datetime]:
    return [stored_time(day) for day in (await conn.execute(text("SELECT day FROM rollup_days ORDER BY day"))).scalars()]


def make_plan(days: list[dt.datetime], lo: dt.datetime, hi: dt.datetime) -> RollupPlan | None:
    """The plan for [lo, hi) from the built midnights, or None when the rows cannot help: no
    built midnight at or before lo, or the nearest one more than a day before it (a gap of
    unbuilt days: the edge would read more than the window)."""
    before_lo = [d for d in days if d <= lo]
    if not before_lo or lo - before_lo[-1] > DAY:
        return None
    before_hi = [d for d in days if d <= hi]
    return RollupPlan(lo, hi, before_lo[-1], before_hi[-1])


def _edge_rel(dialect: str, plan: RollupPlan, camera_range: bool) -> str:
    """The intervals starting in the edges, each with its window end (whi) and sign (-1 head, +1 tail)."""
    rng = " AND i.camera_id >= :c0 AND i.camera_id < :c1" if camera_range else ""
    selects = []
    for day, end, sign, used in (("a", "lo", -1, plan.head), ("b", "hi", 1, plan.tail)):
        if used:
            whi = f":{end}_us" if dialect == "sqlite" else ts_param(dialect, end)
            selects.append(f"""
    SELECT i.id, i.camera_id, i.state, i.start, i."end", i.start_uncertainty_us AS unc, {whi} AS whi, {sign} AS sgn
    FROM state_intervals i
    WHERE i.start >= :{day} AND i.start < :{end}{rng}""")
    return "\n    UNION ALL".join(selects)


def _edge_ctes(dialect: str, plan: RollupPlan, camera_range: bool) -> str:
    """CTEs ending in ``e(camera_id, intact, degraded, down, fh, ft, unc)``: per camera the signed
    sums of the intervals starting in the edges, each cut at the next one's start (the two edges
    are partitioned apart: they are the same rows when a == b), and the first start in the head
    (``fh``) and in the tail (``ft``), which end the span carried from the rows' midnights."""
    rel = _edge_rel(dialect, plan, camera_range)
    if dialect == "sqlite":
        s, e, n = sqlite_us("start"), sqlite_us('"end"'), sqlite_us("LEAD(start) OVER w")
        return f"""
e_rel AS ({rel}),
e_seg AS (
    SELECT camera_id, state, sgn, unc, s, min(COALESCE(e, whi), COALESCE(n, whi), whi) - s AS len
    FROM (SELECT camera_id, state, sgn, unc, whi, {s} AS s, {e} AS e, {n} AS n FROM e_rel
          WINDOW w AS (PARTITION BY camera_id, sgn ORDER BY start, id))
),
e AS (
    SELECT camera_id,
           SUM(CASE WHEN state = 'online' AND len > 0 THEN sgn * len ELSE 0 END) AS intact,
           SUM(CASE WHEN state = 'degraded' AND len > 0 THEN sgn * len ELSE 0 END) AS degraded,
           SUM(CASE WHEN state = 'offline' AND len > 0 THEN sgn * len ELSE 0 END) AS down,
           MIN(CASE WHEN sgn = -1 THEN s END) AS fh, MIN(CASE WHEN sgn = 1 THEN s END) AS ft,
           SUM(sgn * unc) AS unc
    FROM e_seg GROUP BY camera_id
)"""
    return f"""
e_rel AS ({rel}),
e_seg AS (
    SELECT camera_id, state, sgn, unc, start,
           LEAST("end", LEAD(start) OVER (PARTITION BY camera_id, sgn ORDER BY start, id), whi) - start AS len
    FROM e_rel
),
e AS (
    SELECT camera_id,
           SUM(CASE WHEN state = 'online' AND len > INTERVAL '0' THEN sgn * len END) AS intact,
           SUM(CASE WHEN state = 'degraded' AND len > INTERVAL '0' THEN sgn * len END) AS degraded,
           SUM(CASE WHEN state = 'offline' AND len > INTERVAL '0' THEN sgn * len END) AS down,
           MIN(CASE WHEN sgn = -1 THEN start END) AS fh, MIN(CASE WHEN sgn = 1 THEN start END) AS ft,
           SUM(sgn * unc) AS unc
    FROM e_seg GROUP BY camera_id
)"""


def _carried(dialect: str, row: str, day: str, end: str, first: str, state: str) -> str:
    """The part of [:day, :end) covered by the span carried in ``row`` when it has ``state``:
    it runs to its stored end, the first edge interval's start or the window's end."""
    if dialect == "sqlite":
        stop = f"min(COALESCE({sqlite_us(f'{row}.carry_end')}, :{end}_us), COALESCE(e.{first}, :{end}_us), :{end}_us)"
        return f"CASE WHEN {row}.carry_state = '{state}' THEN max({stop} - :{day}_us, 0) ELSE 0 END"
    stop = f"LEAST({row}.carry_end, e.{first}, {ts_param(dialect, end)})"
    return (f"CASE WHEN {row}.carry_state = '{state}' THEN GREATEST({stop} - {ts_param(dialect, day)}, INTERVAL '0')"
            " ELSE INTERVAL '0' END")


def per_camera_ctes(dialect: str, plan: RollupPlan, camera_range: bool = False) -> str:
    """CTEs ending in ``per_cam(camera_id, intact, degraded, down, unc)`` for the cameras with rows
    (``camera_range``: only camera ids in [:c0, :c1), so parts can run on several connections)."""
    rng = " AND camera_id >= :c0 AND camera_id < :c1" if camera_range else ""
    cols = "camera_id, intact_us, degraded_us, offline_us, unc_us, carry_state, carry_end"
    parts = [f"ra AS (SELECT {cols} FROM camera_rollups WHERE day = :a{rng})",
             f"rb AS (SELECT {cols} FROM camera_rollups WHERE day = :b{rng})"]
    joins = "JOIN ra ON ra.camera_id = rb.camera_id"
    sums = []
    edges = plan.head or plan.tail
    if edges:
        parts.append(_edge_ctes(dialect, plan, camera_range).strip())
        joins += " LEFT JOIN e ON e.camera_id = rb.camera_id"
    for name, state, column in (("intact", "online", "intact_us"), ("degraded", "degraded", "degraded_us"),
                                ("down", "offline", "offline_us")):
        expr = f"rb.{column} - ra.{column}"
        if edges:
            if dialect == "sqlite":
                edge = f"COALESCE(e.{name}, 0)"
                plus, minus = " + ", " - "
            else:
                edge = f"COALESCE(e.{name}, INTERVAL '0')"
                plus, minus = " + ", " - "
            if plan.head:
                edge += minus + _carried(dialect, "ra", "a", "lo", "fh", state)
            if plan.tail:
                edge += plus + _carried(dialect, "rb", "b", "hi", "ft", state)
            if dialect == "sqlite":
                expr += f" + ({edge})"
            else:  # one exact conversion of the edge interval per camera
                expr += f" + CAST(EXTRACT(EPOCH FROM {edge}) * 1000000 AS BIGINT)"
        sums.append(f"{expr} AS {name}")
    # the half probe gaps of the intervals starting in [lo, hi): [a, b) less the head, plus the tail
    sums.append("rb.unc_us - ra.unc_us" + (" + COALESCE(e.unc, 0)" if edges else "") + " AS unc")
    parts.append(f"per_cam AS (SELECT rb.camera_id, {', '.join(sums)} FROM rb {joins})")
    return ",\n".join(parts)


def per_camera_sql(dialect: str, plan: RollupPlan) -> str:
    return f"WITH {per_camera_ctes(dialect, plan)}\nSELECT camera_id, intact, degraded, down, unc FROM per_cam"


def missing_sql(plan: RollupPlan) -> str:
    """Ids of the cameras lacking a row the plan needs."""
    conds = " OR ".join(f"NOT EXISTS (SELECT 1 FROM camera_rollups r WHERE r.day = :{n} AND r.camera_id = c.id)"
                        for n in ("a", "b"))
    return f"SELECT c.id FROM cameras c WHERE {conds}"


__all__ = ["MIN_COVERED_SHARE", "RollupPlan", "built_days", "make_plan", "missing_sql",
           "per_camera_ctes", "per_camera_sql"]
