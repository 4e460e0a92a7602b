"""What ``/reports`` shows: the reader's choices (monthly or quarterly, the period, the region in
their scope) and the report itself — a closed month from its frozen snapshot, anything else
computed now from the intervals (未结) and kept a minute, so the page, its printable version and
the workbook download of one choice are one computation.

Scope (DESIGN §10): a report is region figures, so it is offered for the county and for each
township the reader reads wholly (a township leader: their township's; a contractor or a
village-scoped account: none); any other region asked for is "not found".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import select

from collector.reports.model import Kind, Report, ReportPeriod
from collector.reports.periods import PeriodError, containing, is_future, is_open, parse_label, previous
from collector.reports.scope import restrict
from collector.reports.snapshots import live_report, load_snapshot
from collector.web.common import camwatch
from collector.web.pages.i18n import request_lang
from collector.web.pages.report_words import rw
from collector.web.pages.scope import Regions
from collector.web.principal import Principal
from collector.web.reports import LEVELS, readable_report_regions
from inventory.models import ReportSnapshot, StateInterval

LIVE_TTL_S = 60.0  # a report computed now is reused this long (page, print, download of one choice)
MAX_LIVE = 16
MONTHS_BACK = 12
QUARTERS_BACK = 4


@dataclass(frozen=True, slots=True)
class Shown:
    """A report as shown: restricted to the chosen region, and whether it is closed."""

    report: Report
    closed: bool
    content_hash: str | None  # the closed month's snapshot hash (of the whole county's figures)
    closed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    closed: bool
    current: bool  # the period holding now (to date)


@dataclass(frozen=True, slots=True)
class Choice:
    kind: Kind
    period: ReportPeriod
    region: str  # a county or township code
    options: tuple[Option, ...]
    regions: tuple[tuple[str, str, str], ...]  # (code, name, level) the reader may choose


def report_regions(p: Principal | None, regions: Regions) -> list[tuple[str, str, str]]:
    """(code, name, level) of the counties and townships *p* reads wholly, county first."""
    rows = [(r.code, r.level, regions.path(r.code)) for lv in LEVELS for r in regions.of_level(lv)]
    return [(code, regions.name(code), regions.by_code[code].level) for code in readable_report_regions(p, rows)]


def period_options(kind: Kind, now: dt.datetime, tz: str, closed: set[str], since: dt.datetime | None = None) -> list[Option]:
    """The current period (to date) and the ones before it, newest first; closed ones marked.
    *since*: when monitoring began (:func:`first_watched`): no period before it is offered (its
    report would be empty); None: as far back as the list goes."""
    at = containing(kind, now, tz)
    out: list[Option] = []
    for _ in range(MONTHS_BACK + 1 if kind is Kind.MONTHLY else QUARTERS_BACK + 1):
        if since is None or at.end > since or at.label in closed or not out:  # (a closed one is always offered)
            out.append(Option(at.label, at.label in closed, is_open(at, now)))
        at = previous(at)
    return out


async def first_watched(request: web.Request, now: dt.datetime) -> dt.datetime:
    """When monitoring began: the start of the first state interval written (by id: the primary
    key's index, whatever the table's length); *now* when none was."""
    async with camwatch(request).engine.connect() as conn:
        start = (await conn.execute(select(StateInterval.start).order_by(StateInterval.id).limit(1))).scalar()
    return now if start is None else start


def default_label(kind: Kind, now: dt.datetime, tz: str, closed: set[str]) -> str:
    """The latest closed period; else the current one (to date, 未结)."""
    current = containing(kind, now, tz)
    latest = sorted((c for c in closed if _kind_of(c) is kind), reverse=True)
    return latest[0] if latest else current.label


def _kind_of(label: str) -> Kind:
    return Kind.QUARTERLY if "Q" in label.upper() else Kind.MONTHLY


async def closed_labels(request: web.Request) -> set[str]:
    async with camwatch(request).engine.connect() as conn:
        return set((await conn.execute(select(ReportSnapshot.period))).scalars().all())


def choose(request: web.Request, p: Principal | None, regions: Regions, now: dt.datetime, tz: str,
           closed: set[str], since: dt.datetime | None = None) -> Choice | None:
    """The reader's choice from ``?kind=&period=&region=`` with defaults; None when no region may be
    read. Raises :class:`PeriodError` for a period that cannot be read or lies in the future,
    :class:`LookupError` for a region out of scope."""
    q = request.query
    kind = Kind.QUARTERLY if q.get("kind") == Kind.QUARTERLY.value else Kind.MONTHLY
    label = (q.get("period") or "").strip() or default_label(kind, now, tz, closed)
    # an error names the form's field in the reader's words (期间 / period), not the CLI's option
    lang, _ = request_lang(request, camwatch(request).settings.language)
    option = "period" if lang == "en" else rw("period", lang)
    period = parse_label(kind if _kind_of(label) is kind else _kind_of(label), label, tz, option=option)
    if is_future(period, now):
        raise PeriodError(option, label, "该期间尚未开始", "the period has not begun yet")
    allowed = report_regions(p, regions)
    if not allowed:
        return None
    region = (q.get("region") or "").strip() or allowed[0][0]
    if region not in {c for c, _, _ in allowed}:
        raise LookupError(region)
    options = period_options(period.kind, now, tz, closed, since)
    if period.label not in {o.label for o in options}:  # (asked for by its label: before monitoring began, or long ago)
        options.append(Option(period.label, period.label in closed, is_open(period, now)))
        options.sort(key=lambda o: parse_label(period.kind, o.label, tz).start, reverse=True)
    return Choice(period.kind, period, region, tuple(options), tuple(allowed))


@dataclass
class LiveReports:
    """Reports computed now, per period, for :data:`LIVE_TTL_S` (one computation at a time per period)."""

    ttl_s: float = LIVE_TTL_S
    clock: Callable[[], float] = time.monotonic
    _items: dict[str, tuple[float, asyncio.Future[Report]]] = field(default_factory=dict)

    async def get(self, key: str, make: Callable[[], Awaitable[Report]]) -> Report:
        now = self.clock()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now and not (hit[1].done() and hit[1].exception() is not None):
            return await asyncio.shield(hit[1])
        if len(self._items) >= MAX_LIVE:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
        fut: asyncio.Future[Report] = asyncio.ensure_future(make())
        self._items[key] = (now + self.ttl_s, fut)
        return await asyncio.shield(fut)


LIVE_KEY: web.AppKey[LiveReports] = web.AppKey("camwatch_console_reports", LiveReports)


async def shown(request: web.Request, choice: Choice, regions: Regions) -> Shown:
    """The chosen report: from the month's snapshot when closed, else computed now; restricted to
    the chosen township (the county's report whole)."""
    app = camwatch(request)
    stored = await load_snapshot(app.engine, choice.period)
    if stored is not None:
        whole, closed, digest, at = stored.report, True, stored.sha256, stored.created_at
    else:
        whole = await request.app[LIVE_KEY].get(
            choice.period.label, lambda: live_report(app.engine, app.settings, choice.period, app.clock()))
        closed, digest, at = False, None, None
    return Shown(restrict(whole, choice.region), closed, digest, at)


__all__ = ["LIVE_KEY", "Choice", "LiveReports", "Option", "Shown", "choose", "closed_labels", "first_watched", "period_options",
           "report_regions", "shown"]
