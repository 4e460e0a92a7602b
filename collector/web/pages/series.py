"""Each local day's time-weighted rate of every region, for the 30- and 90-day charts.

One :func:`~collector.accounting.sql.group_rates.sql_group_times` call per local day (summed by
the database from the daily rollups, exclusions applied, the same numbers as ``camwatch rates
--from D --to D``) gives that day's rate of every village, township and county at once. Closed
days are kept in memory (a day is taken again once, an hour after it ended, for late writes).
Today's bar is not summed here: it is the region figures' ``today`` (``App.figures``), summed at
the same instant as the month's rate the page shows beside it (``computed_at``, which the page
states), so the two agree whenever they cover the same time (a month, or a monitoring, that began
today); summed apart, minutes apart, they differed by points early in a run. When more than a
couple of days are missing (after a start) they are filled in the background, newest first, and
the page says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from collector.accounting import ExclusionSpan, Level, Period
from collector.accounting.sql.group_rates import sql_group_times
from collector.metrics.registry import RegionFigures
from collector.runtime.app import App
from inventory.models import Exclusion

log = logging.getLogger("camwatch.web")
MAX_DAYS = 90
SYNC_DAYS = 2  # missing days computed while the page waits; more go to the background
SETTLE = dt.timedelta(hours=1)  # a closed day is taken again once this long after its end
LEVELS = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY)
Rates = dict[tuple[str, str], float]


@dataclass(slots=True)
class _Day:
    rates: Rates
    computed_at: dt.datetime


def today_rates(figures: RegionFigures, today: dt.date, tz: ZoneInfo) -> Mapping[tuple[str, str], float]:
    """Today's rate of every region as the figures summed it (none before their first run, nor
    figures summed on another day: just after midnight, until the next run)."""
    at = figures.computed_at
    return figures.today if at is not None and at.astimezone(tz).date() == today else {}


@dataclass
class DailyRates:
    days: dict[dt.date, _Day] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    def _bounds(self, day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        lo = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
        hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
        return lo, hi

    def _stale(self, day: dt.date, tz: ZoneInfo, now: dt.datetime) -> bool:
        """A closed day not yet summed, or summed before it settled."""
        got = self.days.get(day)
        if got is None:
            return True
        _, hi = self._bounds(day, tz)
        return got.computed_at < hi + SETTLE <= now

    async def _compute(self, app: App, day: dt.date, tz: ZoneInfo) -> None:
        now = app.clock()
        lo, hi = self._bounds(day, tz)
        async with app.engine.connect() as conn:
            excl = (await conn.execute(select(Exclusion.start, Exclusion.end, Exclusion.camera_id, Exclusion.region_code)
                                       .where(Exclusion.start < hi, Exclusion.end > lo, Exclusion.counted()))).all()
        times = await sql_group_times(app.engine, Period(lo, min(hi, now)), now,
                                      exclusions=tuple(ExclusionSpan(s, e, c, r) for s, e, c, r in excl))
        rates: Rates = {}
        for level in LEVELS:
            for row in times.rows(level):
                if row.ratio is not None and row.key:
                    rates[(level.value, str(row.key))] = float(row.ratio)
        self.days[day] = _Day(rates, now)

    async def _fill(self, app: App, todo: list[dt.date], tz: ZoneInfo) -> None:
        for day in todo:  # newest first
            try:
                await self._compute(app, day, tz)
            except Exception as exc:  # noqa: BLE001 - the database may be away: the chart shows a gap
                log.warning("daily rates of %s not computed: %s", day, str(exc).splitlines()[0][:200] if str(exc) else exc)
                return

    async def series(self, app: App, level: str, code: str, n_days: int) -> tuple[list[tuple[dt.date, float | None]], bool]:
        """The last *n_days* local days (today last: :func:`today_rates`) and whether some are
        still being computed."""
        tz = ZoneInfo(app.settings.accounting.timezone)
        now = app.clock()
        today = now.astimezone(tz).date()
        wanted = [today - dt.timedelta(days=k) for k in range(min(n_days, MAX_DAYS))]
        stale = [d for d in wanted if d != today and self._stale(d, tz, now)]
        running = self.task is not None and not self.task.done()
        if stale and not running:
            sync, rest = stale[:SYNC_DAYS], stale[SYNC_DAYS:]
            await self._fill(app, sync, tz)
            if rest:
                self.task = asyncio.create_task(self._fill(app, rest, tz), name="console-daily-rates")
                running = True
        keep = set(wanted) | {today - dt.timedelta(days=k) for k in range(MAX_DAYS)}
        for d in [d for d in self.days if d not in keep]:
            del self.days[d]
        now_rates = today_rates(app.figures, today, tz)
        out = [(d, now_rates.get((level, code)) if d == today else
                self.days[d].rates.get((level, code)) if d in self.days else None) for d in reversed(wanted)]
        pending = running and any(d not in self.days for d in wanted if d != today)
        return out, pending

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
