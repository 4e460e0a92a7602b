"""Daily rollups: each camera's accounted time up to every UTC midnight, kept exact.

A row (day, camera) holds the camera's intact / degraded / offline microseconds from its first
state interval up to ``day`` (cumulative), the half probe gaps of its intervals starting before
``day`` (``unc_us``, cumulative: a rate's uncertainty), and the state and stored end of the
interval in force at ``day``. The time of [a, b) is then row(b) - row(a): a month's rates read two rows per
camera instead of sorting every interval of the month. The edges of a period that does not start
or end at midnight are summed from the intervals starting after the nearest earlier midnight plus
the carried interval (:mod:`collector.accounting.sql.rollup_sums`).

The carried interval's end is the one stored when the row was built. That stays exact because
state intervals change only through :mod:`collector.runtime.interval_writer`: an open interval is closed at the
start of its successor, inserted in the same transaction (so the successor's start cuts the
carried span where its new end would), and any write into the past deletes the rows after it.

Rows are a cache of what the intervals say, never a second truth:

* :func:`build_rollups` adds missing rows, day by day, from the previous day's row and that
  day's intervals (a camera without a previous row is summed from all its intervals); a day is
  built only once it is ``lag`` in the past, so normal writes (transitions confirmed within
  seconds) never land behind it.
* writes that change the past delete the rows after the change (:func:`invalidate_sql`), in the
  writer's transaction: a late batch (the database was away), the restart recovery's unknown gap.
* readers fall back to the intervals for every camera whose rows are missing.

Building and invalidating exclude each other: on PostgreSQL through a transaction-level
advisory lock (any process), on SQLite through its single writer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounting.sql.span_sums import bound, stored_time, sums_ctes, ts_param, tune_for_sums, window_params
from collector.accounting.sql.statistics import refresh_statistics

log = logging.getLogger("camwatch.rollups")

DAY = dt.timedelta(days=1)
DEFAULT_LAG = dt.timedelta(hours=1)
ADVISORY_KEY = 0x63616D77  # 'camw': rollup builds and invalidations on PostgreSQL, per schema


def midnight(when: dt.datetime) -> dt.datetime:
    """The UTC midnight at or before ``when``."""
    utc = when.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, utc.day, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class RollupReport:
    days_checked: int
    days_built: int
    rows: int
    seconds: float
    last_day: dt.datetime | None


async def lock_for_write(conn: AsyncConnection) -> None:
    """Inside a transaction: wait for any rollup build or invalidation of another process."""
    if conn.dialect.name == "postgresql":
        # keyed by the schema too: deployments (or test runs) in other schemas of the database never wait
        await conn.execute(text("SELECT pg_advisory_xact_lock(CAST(:k AS integer), hashtext(current_schema()))"),
                           {"k": ADVISORY_KEY})


async def invalidate(conn: AsyncConnection, changes: dict[int, dt.datetime] | None = None,
                     *, everything_from: dt.datetime | None = None) -> None:
    """Delete the rollup rows a write changes: camera c's rows at days >= ``changes[c]`` (the
    earliest time the write changes for it), or every camera's from ``everything_from``.

    Call it in the writing transaction. Only changes before the last midnight can meet a row.
    """
    dialect = conn.dialect.name
    if everything_from is not None:
        await lock_for_write(conn)
        at = bound(dialect, everything_from)
        await conn.execute(text("DELETE FROM camera_rollups WHERE day >= :at"), {"at": at})
        await conn.execute(text("DELETE FROM rollup_days WHERE day >= :at"), {"at": at})
        return
    if not changes:
        return
    await lock_for_write(conn)
    await conn.execute(text("DELETE FROM camera_rollups WHERE camera_id = :cid AND day >= :at"),
                       [{"cid": cid, "at": bound(dialect, at)} for cid, at in changes.items()])
    await conn.execute(text("DELETE FROM rollup_days WHERE day >= :at"), {"at": bound(dialect, min(changes.values()))})


def _step_sql(dialect: str) -> tuple[str, str]:
    """(incremental, from scratch) INSERTs of the rows at :d1."""
    day = ts_param(dialect, "d1")
    in_force = 'l."end" IS NULL OR l."end" > :d1'
    carry = f'CASE WHEN {in_force} THEN l.state END, CASE WHEN {in_force} THEN l."end" END'
    incremental_rel = f"""
        SELECT 0 AS id, p.camera_id, p.carry_state AS state, {ts_param(dialect, "d0")} AS start, p.carry_end AS "end"
        FROM prev p WHERE p.carry_state IS NOT NULL
        UNION ALL
        SELECT i.id, i.camera_id, i.state, i.start, i."end" FROM prev p JOIN state_intervals i ON i.camera_id = p.camera_id
        WHERE i.start >= :d0 AND i.start < :d1"""
    incremental = f"""
INSERT INTO camera_rollups (day, camera_id, intact_us, degraded_us, offline_us, unc_us, carry_state, carry_end)
WITH prev AS (
    SELECT r.camera_id, r.intact_us, r.degraded_us, r.offline_us, r.unc_us, r.carry_state, r.carry_end FROM camera_rollups r
    WHERE r.day = :d0 AND NOT EXISTS (SELECT 1 FROM camera_rollups x WHERE x.day = :d1 AND x.camera_id = r.camera_id)
),{sums_ctes(dialect, "s", incremental_rel, "d0", "d1")},
last AS (
    SELECT camera_id, id, state, "end", ROW_NUMBER() OVER (PARTITION BY camera_id ORDER BY start DESC, id DESC) AS rn
    FROM s_rel
),
u AS (
    SELECT i.camera_id, SUM(i.start_uncertainty_us) AS unc FROM prev p JOIN state_intervals i ON i.camera_id = p.camera_id
    WHERE i.start >= :d0 AND i.start < :d1 GROUP BY i.camera_id
)
SELECT {day}, p.camera_id, p.intact_us + COALESCE(s.intact, 0), p.degraded_us + COALESCE(s.degraded, 0),
       p.offline_us + COALESCE(s.down, 0), p.unc_us + COALESCE(u.unc, 0), {carry}
FROM prev p LEFT JOIN s ON s.camera_id = p.camera_id LEFT JOIN last l ON l.camera_id = p.camera_id AND l.rn = 1
LEFT JOIN u ON u.camera_id = p.camera_id"""
    scratch_rel = """
        SELECT i.id, i.camera_id, i.state, i.start, i."end" FROM todo t JOIN state_intervals i ON i.camera_id = t.id
        WHERE i.start < :d1"""
    scratch = f"""
INSERT INTO camera_rollups (day, camera_id, intact_us, degraded_us, offline_us, unc_us, carry_state, carry_end)
WITH todo AS (
    SELECT c.id FROM cameras c
    WHERE NOT EXISTS (SELECT 1 FROM camera_rollups x WHERE x.day = :d1 AND x.camera_id = c.id)
),{sums_ctes(dialect, "s", scratch_rel, "first", "d1")},
last AS (
    SELECT camera_id, id, state, "end", ROW_NUMBER() OVER (PARTITION BY camera_id ORDER BY start DESC, id DESC) AS rn
    FROM s_rel
),
u AS (
    SELECT i.camera_id, SUM(i.start_uncertainty_us) AS unc FROM todo t JOIN state_intervals i ON i.camera_id = t.id
    WHERE i.start < :d1 GROUP BY i.camera_id
)
SELECT {day}, t.id, COALESCE(s.intact, 0), COALESCE(s.degraded, 0), COALESCE(s.down, 0), COALESCE(u.unc, 0), {carry}
FROM todo t LEFT JOIN s ON s.camera_id = t.id LEFT JOIN last l ON l.camera_id = t.id AND l.rn = 1
LEFT JOIN u ON u.camera_id = t.id"""
    return incremental, scratch


async def _first_start(conn: AsyncConnection) -> dt.datetime | None:
    return stored_time((await conn.execute(text("SELECT min(start) FROM state_intervals"))).scalar())


async def _marks(conn: AsyncConnection) -> dict[dt.datetime, int]:
    rows = (await conn.execute(text("SELECT day, cameras FROM rollup_days"))).all()
    return {stored_time(day): int(cameras) for day, cameras in rows}


async def build_rollups(engine: AsyncEngine, now: dt.datetime, *, lag: dt.timedelta = DEFAULT_LAG,
                        progress: Callable[[dt.datetime, int], None] | None = None) -> RollupReport:
    """Add the missing rows of every midnight from the first interval's to ``now - lag``.

    A day whose mark says it was built for as many cameras as there are now is skipped; any
    other is (re)built for the cameras that lack a row there. Each day is one transaction.
    ``progress(day, rows)`` is called after each day built.
    """
    t0 = time.perf_counter()
    dialect = engine.dialect.name
    incremental, scratch = _step_sql(dialect)
    await refresh_statistics(engine)  # (PostgreSQL: plans without statistics take minutes)
    async with engine.connect() as conn:
        first_start = await _first_start(conn)
        n_cameras = int((await conn.execute(text("SELECT count(*) FROM cameras"))).scalar() or 0)
        marks = await _marks(conn)
    if first_start is None:
        return RollupReport(0, 0, 0, time.perf_counter() - t0, None)
    first = midnight(first_start)
    last = midnight(now - lag)
    day = first + DAY
    checked = built = rows = 0
    while day <= last:
        checked += 1
        if marks.get(day) != n_cameras:
            params: dict[str, object] = {"d0": bound(dialect, day - DAY), "d1": bound(dialect, day)}
            params.update(window_params(dialect, "d0", "d1", day - DAY, day))
            params.update(window_params(dialect, "first", "d1", first, day))
            async with engine.begin() as conn:
                await lock_for_write(conn)
                await tune_for_sums(conn)
                n = (await conn.execute(text(incremental), params)).rowcount or 0
                n += (await conn.execute(text(scratch), params)).rowcount or 0
                await conn.execute(text("DELETE FROM rollup_days WHERE day = :d1"), params)
                await conn.execute(text("INSERT INTO rollup_days (day, cameras, built_at) VALUES "
                                        f"({ts_param(dialect, 'd1')}, :n, {ts_param(dialect, 'at')})"),
                                   {"d1": params["d1"], "n": n_cameras, "at": bound(dialect, now)})
            built += 1
            rows += n
            if progress is not None:
                progress(day, n)
        day += DAY
    if built and dialect == "postgresql":  # fresh statistics, or the readers' plans guess 1 % of the rows
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE camera_rollups")
    return RollupReport(checked, built, rows, time.perf_counter() - t0, last if last > first else None)


class RollupTask:
    """Keeps the rollups built in the collector: at start, then every ``every_s`` seconds."""

    def __init__(self, engine: AsyncEngine, *, every_s: float = 600.0,
                 lag: dt.timedelta = DEFAULT_LAG, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.engine = engine
        self.every_s = every_s
        self.lag = lag
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.last: RollupReport | None = None
        self.last_run_at: dt.datetime | None = None
        self.built_until: dt.datetime | None = None  # the last midnight built (rates read the rows up to it)
        self.error: str | None = None

    async def run(self) -> None:
        while True:
            try:
                report = await build_rollups(self.engine, self.clock(), lag=self.lag,
                                             progress=self._progress)
                self.last = report
                self.last_run_at = self.clock()
                self.built_until = report.last_day
                self.error = None
                if report.days_built:
                    log.info("rollups: %d day(s) built, %d row(s), %.1f s", report.days_built, report.rows, report.seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be away: rates fall back to intervals
                self.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                log.warning("rollups not built: %s", self.error)
            await asyncio.sleep(self.every_s)

    @staticmethod
    def _progress(day: dt.datetime, rows: int) -> None:
        log.debug("rollups: %s built (%d rows)", day.date().isoformat(), rows)


__all__ = ["DAY", "DEFAULT_LAG", "RollupReport", "RollupTask", "build_rollups", "invalidate", "lock_for_write", "midnight"]
