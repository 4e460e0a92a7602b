"""Snapshot rates (抽查在线率) of townships and counties for a report, equal to
``camwatch rates --method snapshot`` (:func:`collector.accounting.snapshot_rates_by`).

The pure rule reads each camera's state at every check instant: a camera's spans (those that
can add time to the period: starting in it, and the last one before it when that reaches in, as
:func:`collector.accounting.sql.load.load_accounting` reads them) sorted by (start, id), each cut
at the next one's start; up (online, degraded) or down (offline) counts
as eligible, anything else (unknown, excluded, no span, inside an exclusion) is left out; a day's
rate is the mean of its instants' online/eligible, the period's the mean of its days'.

On PostgreSQL the per-instant counts of the cameras without exclusions are summed in the
database (each cut span spread over the instants it covers with ``width_bucket``, grouped per
township and instant); the cameras touched by an exclusion, and those retired by the last instant
(out of the counts from their retirement on), are read by the pure rule from their own spans. On SQLite (small counties) every camera goes through the pure rule.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import (
    CameraRef,
    CheckInstant,
    ExclusionIndex,
    Period,
    StateSpan,
    check_instants,
    round_ratio,
    to_us,
)
from collector.accounting.snapshots import OUT, camera_codes_at
from collector.accounting.sql.camera_times import load_spans
from collector.accounting.sql.span_sums import RELEVANT_PG, bound, tune_for_sums
from collector.accounting.timeline import as_grouped

Counts = tuple[list[int], list[int]]  # (online, eligible) per instant

_PG = f"""
WITH seg AS (
    SELECT camera_id, state, start, LEAST(COALESCE("end", 'infinity'), COALESCE(n, 'infinity')) AS e FROM (
        SELECT camera_id, state, start, "end", LEAD(start) OVER (PARTITION BY camera_id ORDER BY start, id) AS n
        FROM ({RELEVANT_PG}) r) s
),
cov AS (
    SELECT camera_id, state,
           generate_series(width_bucket(start - INTERVAL '1 microsecond', CAST(:inst AS TIMESTAMPTZ[])) + 1,
                           width_bucket(e - INTERVAL '1 microsecond', CAST(:inst AS TIMESTAMPTZ[]))) AS k
    FROM seg WHERE state IN ('online', 'degraded', 'offline') AND e > start
)
SELECT v.parent_code, cov.k, SUM(CASE WHEN cov.state = 'offline' THEN 0 ELSE 1 END), COUNT(*)
FROM cov
JOIN cameras c ON c.id = cov.camera_id
LEFT JOIN points p ON p.id = c.point_id
LEFT JOIN regions v ON v.code = p.village_code
WHERE NOT (cov.camera_id = ANY(CAST(:skip AS INTEGER[])))
GROUP BY v.parent_code, cov.k"""


def ratio_of(instants: Sequence[CheckInstant], online: Sequence[int], eligible: Sequence[int]) -> Decimal | None:
    """The period's snapshot rate from per-instant counts, as :func:`snapshot_rates_by` takes it."""
    days: dict[dt.date, list[Fraction]] = {}
    for c, up, elig in zip(instants, online, eligible, strict=True):
        day = days.setdefault(c.day, [])
        if elig:
            day.append(Fraction(up, elig))
    means = [sum(v, Fraction(0)) / len(v) for v in days.values() if v]
    return round_ratio(sum(means, Fraction(0)) / len(means)) if means else None


async def _spans_of(engine: AsyncEngine, ids: Sequence[int], period: Period) -> list[StateSpan]:
    """The spans of some cameras that can add time to the period (as ``load_accounting`` reads them)."""
    d = engine.dialect.name
    async with engine.connect() as conn:
        return await load_spans(conn, ids, bound(d, period.start), bound(d, period.end))


def _add_pure(counts: dict[str, Counts], cameras: Sequence[CameraRef], spans: Sequence[StateSpan], index: ExclusionIndex,
              inst_us: Sequence[int], now_us: int) -> None:
    grouped = as_grouped(spans)
    n = len(inst_us)
    for cam in cameras:
        up, elig = counts.setdefault(cam.township, ([0] * n, [0] * n))
        for k, code in enumerate(camera_codes_at(grouped.get(cam.camera_id, ()), index, cam, inst_us, now_us)):
            if code != OUT:
                elig[k] += 1
                up[k] += code


async def _pg_part(engine: AsyncEngine, params: dict[str, object], c0: int, c1: int) -> list[tuple[str | None, int, int, int]]:
    async with engine.connect() as conn:
        await tune_for_sums(conn)
        rows = (await conn.execute(text(_PG), {**params, "c0": c0, "c1": c1})).all()
        await conn.rollback()
    return [(t, int(k), int(a), int(b)) for t, k, a, b in rows]


async def township_counts(engine: AsyncEngine, cameras: Sequence[CameraRef], index: ExclusionIndex, period: Period,
                          now: dt.datetime, instants: Sequence[CheckInstant]) -> dict[str, Counts]:
    """Per township (``""``: cameras without one) the online and eligible cameras at each instant."""
    n = len(instants)
    counts: dict[str, Counts] = {}
    if not n or not cameras:
        return counts
    inst_us = [to_us(c.at) for c in instants]
    now_us = to_us(now)
    if engine.dialect.name != "postgresql":
        _add_pure(counts, cameras, await _spans_of(engine, [c.camera_id for c in cameras], period), index,
                  inst_us, now_us)
        return counts
    # touched by an exclusion, or retired by the last instant: by the pure rule
    touched = [c for c in cameras if index.for_camera(c, inst_us[0], inst_us[-1] + 1)
               or c.accounted_until(inst_us[-1] + 1) <= inst_us[-1]]
    ids = sorted(c.camera_id for c in cameras)
    mid = ids[len(ids) // 2]
    params: dict[str, object] = {"lo": period.start, "hi": period.end, "inst": [c.at for c in instants],
                                 "skip": [c.camera_id for c in touched]}
    parts = [(ids[0], mid), (mid, ids[-1] + 1)] if mid > ids[0] else [(ids[0], ids[-1] + 1)]
    results = await asyncio.gather(*(_pg_part(engine, params, a, b) for a, b in parts))
    for part in results:
        for town, k, up, elig in part:
            if 1 <= k <= n:
                a, b = counts.setdefault(town or "", ([0] * n, [0] * n))
                a[k - 1] += up
                b[k - 1] += elig
    if touched:
        _add_pure(counts, touched, await _spans_of(engine, [c.camera_id for c in touched], period), index,
                  inst_us, now_us)
    return counts


async def snapshot_ratios(engine: AsyncEngine, cameras: Sequence[CameraRef], index: ExclusionIndex, period: Period,
                          now: dt.datetime, *, check_times: Sequence[dt.time], tz: str,
                          parents: Mapping[str, str]) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
    """(township -> snapshot rate, county -> snapshot rate), exclusions applied."""
    instants = check_instants(period, now, check_times=check_times, tz=tz)
    towns = await township_counts(engine, cameras, index, period, now, instants)
    counties: dict[str, Counts] = {}
    n = len(instants)
    for town, (up, elig) in towns.items():
        a, b = counties.setdefault(parents.get(town, "") if town else "", ([0] * n, [0] * n))
        for k in range(n):
            a[k] += up[k]
            b[k] += elig[k]
    return ({t: ratio_of(instants, *c) for t, c in towns.items()},
            {t: ratio_of(instants, *c) for t, c in counties.items()})


__all__ = ["ratio_of", "snapshot_ratios", "township_counts"]
