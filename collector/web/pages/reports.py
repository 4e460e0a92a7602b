"""``/reports`` 报表: the monthly or quarterly report of a period and region in the reader's scope,
its workbook (``/reports/workbook``, .xlsx) and its printable page (``/reports/print``, A4
landscape: the browser's Print gives the PDF offices file).

The choice is ``?kind=monthly|quarterly&period=2026-11|2026Q4&region=CODE``; by default the
latest closed month (else the current month to date, 未结) of the first region the reader may
read (the county; a township leader's township). A closed month is shown from its snapshot, with
its hash; see :mod:`collector.web.pages.report_view` for the rest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from collector.reports import words as report_words
from collector.reports.model import Kind, RegionRow, Report
from collector.reports.order_words import order_words, subject_words
from collector.reports.periods import PeriodError
from collector.reports.score import score_note, unmonitored
from collector.reports.sheets import exclusion_hours
from collector.reports.workbook import Seal, workbook_bytes
from collector.runtime.report_delivery import workbook_name
from collector.web.common import camwatch
from collector.web.pages.derived import regions_of
from collector.web.pages.overview import figures_every
from collector.web.pages.render import View, not_found_page, rate_colour, render, view
from collector.web.pages.report_view import Choice, Shown, choose, closed_labels, first_watched, shown
from collector.web.pages.report_words import hours, quantity, rule_words, rw

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ranked(rows: tuple[RegionRow, ...]) -> list[RegionRow]:
    """Townships by rank (those without a rank last, by code)."""
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.code))


def by_rule(rep: Report) -> list[tuple[str, int, float]]:
    """(rule, deductions, points) of the score, in the order the rules first appear."""
    out: dict[str, list[float]] = {}
    for d in rep.score.deductions:
        out.setdefault(d.rule, []).append(d.points)
    return [(rule, len(p), round(sum(p), 2)) for rule, p in out.items()]


def score_gap(rep: Report, lang: str) -> str | None:
    """The workbook's warning when the period was not watched enough for the score to mean much."""
    return score_note(rep.completeness, lang)


def title(s: Shown, lang: str) -> str:
    """The workbook's title in its words, without its state (the page shows it as a badge)."""
    rep = s.report
    kind = report_words.word("monthly" if rep.period.kind is Kind.MONTHLY else "quarterly", lang)
    region = rep.region_name or (rep.counties[0].name if len(rep.counties) == 1 else "")
    return report_words.word("title", lang, region=region, label=rep.period.label, kind=kind).strip()


def period_span(s: Shown, tz: ZoneInfo) -> str:
    p = s.report.period
    last = (p.end.astimezone(tz) - dt.timedelta(days=1)).date()
    return f"{p.start.astimezone(tz).date().isoformat()} – {last.isoformat()}"


def _query(c: Choice, lang: str) -> str:
    return f"kind={c.kind.value}&period={quote(c.period.label)}&region={quote(c.region)}&lang={lang}"


async def _chosen(request: web.Request) -> tuple[View, Choice | None, web.Response | None]:
    v = view(request)
    regions = await regions_of(request)
    try:
        c = choose(request, v.principal, regions, v.now, str(v.tz), await closed_labels(request),
                   await first_watched(request, v.now))
    except PeriodError as exc:
        return v, None, render(v, "message.html", {"title": v.t("error"), "text": exc.words(v.lang), "back": "/reports"},
                               status=400)
    except LookupError:
        return v, None, not_found_page(v)
    return v, c, None


def _context(v: View, c: Choice, s: Shown) -> dict[str, Any]:
    return {"w": lambda key, **kw: rw(key, v.lang, **kw), "choice": c, "shown": s, "title": title(s, v.lang),
            "period_span": period_span(s, v.tz), "ranked": ranked(s.report.townships),
            "colour": rate_colour, "hours": lambda sec: hours(sec, v.lang),
            "excl_hours": lambda e: exclusion_hours(s.report, e),  # (all, 其中本期) as the workbook's
            "cause": lambda code: report_words.cause(code, v.lang),
            "rule_words": lambda rule, fh: rule_words(rule, v.lang, fh),
            "quantity": lambda d: quantity(d.rule, d.quantity, v.lang), "by_rule": by_rule(s.report),
            # a work order's title in the page's language (the stored one is Chinese), as the workbook's
            "order_title": lambda o: order_words(o, v.lang), "deduction_subject": lambda d: subject_words(s.report, d, v.lang),
            "score_gap": score_gap(s.report, v.lang), "unscored": unmonitored(s.report.completeness),
            "xlsx_url": f"/reports/workbook?{_query(c, v.lang)}", "print_url": f"/reports/print?{_query(c, v.lang)}",
            "back_url": f"/reports?{_query(c, v.lang)}", "figures_differ": figures_differ(v, s)}


def figures_differ(v: View, s: Shown) -> str | None:
    """For a report to date: that the overview's month rates are summed to another time (said
    to the second, as this page's), so that a reader seeing two numbers knows why; else None."""
    app = camwatch(v.request)
    at = app.figures.computed_at
    p = s.report.period
    if s.closed or at is None or not p.start <= at < p.end:
        return None
    return rw("figures_differ", v.lang, every=figures_every(app), at=v.when(at, seconds=True))


async def reports_page(request: web.Request) -> web.Response:
    v, c, answered = await _chosen(request)
    if answered is not None:
        return answered
    if c is None:
        return render(v, "reports.html", {"w": lambda key, **kw: rw(key, v.lang, **kw), "choice": None, "ranked": []})
    s = await shown(request, c, await regions_of(request))
    return render(v, "reports.html", _context(v, c, s))


async def print_page(request: web.Request) -> web.Response:
    v, c, answered = await _chosen(request)
    if answered is not None:
        return answered
    if c is None:
        return not_found_page(v)
    s = await shown(request, c, await regions_of(request))
    return render(v, "report_print.html", _context(v, c, s))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 / RFC 5987)."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def workbook_download(request: web.Request) -> web.Response:
    v, c, answered = await _chosen(request)
    if answered is not None:
        return answered
    if c is None:
        return not_found_page(v)
    s = await shown(request, c, await regions_of(request))
    seal = Seal(s.content_hash, s.closed_at) if s.closed and s.closed_at is not None else None  # (the page's)
    body = await asyncio.to_thread(workbook_bytes, s.report, v.lang, seal)
    return web.Response(body=body, content_type=XLSX, headers={
        "Content-Disposition": content_disposition(workbook_name(s.report, v.lang)),
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


__all__ = ["content_disposition", "print_page", "ranked", "reports_page", "title", "workbook_download"]
