"""The automatic month close of ``camwatch run`` (DESIGN §12): on ``reports.close_day`` of a month
(local to ``accounting.timezone``, default the 3rd) the previous month is closed (frozen as a
report snapshot), once, then its workbooks go to ``reports.recipients`` by e-mail
(:mod:`collector.runtime.report_delivery`).

:func:`month_due` is the pure rule; :class:`ReportCloser` is the job: it looks every
``every_s`` seconds (and at once on start). Closing is idempotent across restarts and across
collectors sharing one database: a month that has a snapshot is left alone, and of two
collectors closing at the same instant the database's unique (period, kind) lets one win; only
the one whose close stored the snapshot delivers. A month camwatch did not monitor at all (no
camera state recorded in it: camwatch was installed after it) is not closed automatically: its
frozen report would say nothing but a completeness of 0, and would still be e-mailed as signed
figures. ``camwatch report close --month`` closes it by hand when that is wanted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.sql.span_sums import bound, relevant_spans
from collector.reports.model import Kind, ReportPeriod
from collector.reports.periods import containing, due_to_close, previous
from collector.reports.snapshots import close_month, load_snapshot
from collector.runtime.report_delivery import Delivery, deliver_month
from collector.settings import Settings

log = logging.getLogger("camwatch.reports")
CHECK_S = 600.0  # how often the job looks whether a month is due


def month_due(now: dt.datetime, timezone: str, close_day: int) -> ReportPeriod | None:
    """The month to close at *now*: the previous local month once its next month has reached local
    day *close_day*; None before that day (a month is closed at most one month late: an earlier
    one left open is closed by hand, ``camwatch report close``)."""
    month = previous(containing(Kind.MONTHLY, now, timezone))
    return month if due_to_close(month, now, close_day) else None


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    month: str
    closed_here: bool  # False: already closed (earlier, by hand, or by another collector)
    content_hash: str  # "" when not closed (not monitored)
    deliveries: tuple[Delivery, ...] = ()
    not_monitored: bool = False  # no camera state recorded in the month: left open (see the module's docstring)


# One span is enough: any that starts in the month, else any camera's last span before it that
# reaches into it (:func:`relevant_spans`, the accounting's reading: an older span is cut by that
# one, so a stale open span left by a crash and cut before the month says nothing of it).
_ANY = {d: tuple(text(f"SELECT 1 FROM ({relevant_spans(d, parts=part)}) r LIMIT 1") for part in ("inside", "in_force"))
        for d in ("sqlite", "postgresql")}


async def monitored_in(engine: AsyncEngine, month: ReportPeriod) -> bool:
    """Whether any camera state was recorded in *month*: a span that adds time to it by the
    accounting's rule (each span cut at the start of its camera's next one)."""
    async with engine.connect() as conn:
        d = conn.dialect.name
        params = {"lo": bound(d, month.start), "hi": bound(d, month.end)}
        for q in _ANY[d]:
            if (await conn.execute(q, params)).first() is not None:
                return True
    return False


@dataclass
class ReportCloser:
    engine: AsyncEngine
    settings: Settings
    clock: Callable[[], dt.datetime]
    every_s: float = CHECK_S
    last: CloseOutcome | None = None
    error: str | None = None
    _done: set[str] = field(default_factory=set)

    async def tick(self) -> CloseOutcome | None:
        """Close the month due now (if any and not yet closed), then deliver it; None when nothing was due."""
        now = self.clock()
        month = month_due(now, self.settings.accounting.timezone, self.settings.reports.close_day)
        if month is None or month.label in self._done:
            return None
        stored = await load_snapshot(self.engine, month)
        if stored is not None:
            self._done.add(month.label)
            return CloseOutcome(month.label, False, stored.sha256)
        if not await monitored_in(self.engine, month):
            self._done.add(month.label)
            log.info("month %s not closed automatically: no camera state was recorded in it (camwatch did not monitor"
                     " it); `camwatch report close --month %s` closes it by hand", month.label, month.label)
            return CloseOutcome(month.label, False, "", not_monitored=True)
        closed = await close_month(self.engine, self.settings, month, now)
        self._done.add(month.label)
        if closed.created_at != now:  # another collector stored it first (the unique period, kind): that one stands
            log.info("month %s was closed by another collector", month.label)
            return CloseOutcome(month.label, False, closed.sha256)
        log.info("month %s closed automatically (report snapshot sha256 %s)", month.label, closed.sha256[:12])
        deliveries = await deliver_month(self.engine, self.settings, closed.report, closed.sha256, self.clock)
        return CloseOutcome(month.label, True, closed.sha256, tuple(deliveries))

    async def run(self) -> None:
        while True:
            try:
                out = await self.tick()
                if out is not None:
                    self.last = out
                self.error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be away: try again at the next look
                self.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                log.warning("month close not done: %s", self.error)
            await asyncio.sleep(self.every_s)


__all__ = ["CHECK_S", "CloseOutcome", "ReportCloser", "month_due", "monitored_in"]
