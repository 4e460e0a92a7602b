"""The eight sheets of a report workbook, each from the :class:`Report` alone (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Font
from openpyxl.workbook import Workbook

from collector.accounting.timeparse import show
from collector.reports import words as w
from collector.reports.model import ExclusionRow, RegionRow, Report
from collector.reports.order_words import order_words, subject_words
from collector.reports.score import score_note, unmonitored
from collector.reports.sheet_style import (
    COLOUR_FILLS,
    FONT,
    HOURS,
    INT,
    PCT,
    SIGNED,
    TEXT,
    WHEN,
    Column,
    Sheet,
    local,
    write_table,
    write_text,
)

H = 3600.0


def overlap_hours(start: dt.datetime, end: dt.datetime, lo: dt.datetime, hi: dt.datetime) -> float:
    """Hours of [start, end) inside [lo, hi): an exclusion's part in the period (up to the report's
    time for a period not over), the hours it takes out of this period's rates."""
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds()) / H


def exclusion_hours(report: Report, e: ExclusionRow) -> tuple[float, float]:
    """(hours in all, hours of it in the period: 其中本期) of one of the report's exclusions; the
    workbook's 报备 sheet and the console's printable page show both."""
    hi = min(report.period.end, report.generated_at)
    return (e.end - e.start).total_seconds() / H, overlap_hours(e.start, e.end, report.period.start, hi)


def _bad(r: RegionRow, *values: float | None) -> list[bool]:
    """Which of a region's rate cells lie below its target."""
    return [v is not None and v < r.target for v in values]


def summary(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("summary", lang))
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("code", TEXT), ("name", TEXT), ("level", TEXT), ("cameras", INT), ("rate", PCT), ("rate_raw", PCT),
        ("snapshot", PCT), ("intact", PCT), ("coverage", PCT), ("fully_covered", INT), ("villages", INT),
        ("target", PCT), ("met", TEXT), ("rank", INT), ("uncertainty", HOURS), ("uncertain", TEXT))]
    rows, bad = [], []
    for r in (*report.counties, *report.townships):
        rows.append([r.code, r.name, w.level(r.level, lang), r.cameras, r.rate, r.rate_without_exclusions, r.snapshot_rate,
                     r.intact_rate, r.coverage, r.fully_covered_villages, r.villages, r.target, w.yes_no(r.met, lang),
                     r.rank, r.uncertainty_pp, w.yes_no(r.verdict_uncertain, lang) if r.uncertainty_pp is not None else "—"])
        flags = [False] * 4 + _bad(r, r.rate, r.rate_without_exclusions, r.snapshot_rate, r.intact_rate) + [False] * 4
        flags += [r.met is False] + [False] * 3
        bad.append(flags)
    write_table(ws, sheet, cols, rows, bad=bad)
    for i in range(len(report.counties)):
        for j in range(len(cols)):
            ws.cell(row=i + 3, column=j + 1).font = Font(name=FONT, bold=True, color="9C0006" if bad[i][j] else None)
    if not report.closed:
        # the second its figures were summed, as the console's page says it (two downloads can differ)
        z = ZoneInfo(report.period.timezone)
        at = show(min(report.period.end, report.generated_at), z, seconds=True)
        ws.cell(row=1, column=6, value=w.word("month_to_date", lang, at=at)).font = Font(name=FONT, bold=True, color="C00000")
    elif sheet.seal:  # which closing these figures come from (close → reopen → close gives two)
        write_text(ws, 1, 6, sheet.seal).font = Font(name=FONT, bold=True)


def ranking(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("ranking", lang))
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("rank", INT), ("code", TEXT), ("township", TEXT), ("rate", PCT), ("target", PCT), ("met", TEXT),
        ("previous_rank", INT), ("rank_change", SIGNED), ("coverage", PCT), ("cameras", INT))]
    towns = sorted(report.townships, key=lambda r: (r.rank is None, r.rank or 0, r.code))
    rows = [[r.rank, r.code, r.name, r.rate, r.target, w.yes_no(r.met, lang), r.previous_rank, r.rank_change,
             r.coverage, r.cameras] for r in towns]
    bad = [[False, False, False, *_bad(r, r.rate), False, r.met is False, False, False, False, False] for r in towns]
    write_table(ws, sheet, cols, rows, bad=bad)
    if towns:
        chart = BarChart()
        chart.type = "bar"  # horizontal: township names read along the axis
        chart.title = w.word("rank_chart", lang)
        chart.y_axis.numFmt = "0%"
        chart.y_axis.majorGridlines = None
        chart.x_axis.scaling.orientation = "maxMin"  # rank 1 on top
        chart.legend = None
        chart.add_data(Reference(ws, min_col=4, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=3, min_row=3, max_row=len(rows) + 2))
        chart.dataLabels = DataLabelList()
        chart.dataLabels.showVal = True
        chart.dataLabels.numFmt = "0.00%"
        chart.dataLabels.showSerName = chart.dataLabels.showCatName = chart.dataLabels.showLegendKey = False
        chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 hides axes unless told
        chart.height = max(7.5, 0.6 * len(rows) + 2)
        chart.width = 18
        ws.add_chart(chart, "L3")


def villages(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("villages", lang))
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("township", TEXT), ("code", TEXT), ("village", TEXT), ("planned", INT), ("built", INT), ("online_points", INT),
        ("coverage", PCT), ("built_coverage", PCT), ("full", TEXT))]
    rows = [[v.township_name, v.code, v.name, v.planned_points, v.built_points, v.online_points, v.coverage,
             v.built_coverage, w.yes_no(v.fully_covered, lang)] for v in report.villages]
    bad = [[False] * 6 + [v.coverage is not None and v.coverage < 1, v.built_coverage < 1, v.fully_covered is False]
           for v in report.villages]
    write_table(ws, sheet, cols, rows, bad=bad)


def faults(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("faults", lang))
    causes = sorted({c.cause for f in report.faults for c in f.causes})
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("camera_id", INT), ("camera", TEXT), ("village", TEXT), ("township", TEXT), ("fault_hours", HOURS))]
    cols += [Column(w.cause(c, lang), HOURS) for c in causes]
    rows = []
    for f in report.faults:
        per = {c.cause: c.seconds / H for c in f.causes}
        rows.append([f.camera_id, f.camera_name, f.village_name, f.township_name, f.fault_seconds / H,
                     *(per.get(c) for c in causes)])
    write_table(ws, sheet, cols, rows)


def work_orders(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("work_orders", lang))
    tz = report.period.timezone
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("order_id", INT), ("order_title", TEXT), ("region", TEXT), ("cause", TEXT), ("status", TEXT), ("opened", WHEN),
        ("deadline", WHEN), ("acked", WHEN), ("resolved", WHEN), ("ack_hours", HOURS), ("fix_hours", HOURS),
        ("colour", TEXT))]
    rows = [[o.id, order_words(o, lang), o.region_name, w.cause(o.cause, lang) if o.cause else "—", w.status(o.status, lang),
             local(o.opened_at, tz), local(o.deadline, tz), local(o.acknowledged_at, tz), local(o.resolved_at, tz),
             None if o.acknowledge_seconds is None else o.acknowledge_seconds / H,
             None if o.fix_seconds is None else o.fix_seconds / H, w.word(o.colour, lang)] for o in report.work_orders]
    fills = {(i, 11): COLOUR_FILLS[o.colour] for i, o in enumerate(report.work_orders) if o.colour in COLOUR_FILLS}
    write_table(ws, sheet, cols, rows, fills=fills)


def exclusions(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("exclusions", lang))
    tz = report.period.timezone
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("excl_id", INT), ("scope", TEXT), ("object", TEXT), ("start", WHEN), ("end", WHEN), ("hours", HOURS),
        ("hours_in_period", HOURS), ("reason", TEXT), ("approver", TEXT))]
    rows = [[e.id, w.word("scope_camera" if e.scope == "camera" else "scope_region", lang), e.scope_name,
             local(e.start, tz), local(e.end, tz), *exclusion_hours(report, e), e.reason, e.approver]
            for e in report.exclusions]
    write_table(ws, sheet, cols, rows)


def completeness(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("completeness", lang))
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("code", TEXT), ("name", TEXT), ("level", TEXT), ("cameras", INT), ("window_hours", HOURS),
        ("known_hours", HOURS), ("unknown_hours", HOURS), ("known_share", PCT))]
    rows = [[c.code, c.name, w.level(c.level, lang), c.cameras, c.window_seconds / H, c.known_seconds / H,
             c.unknown_seconds / H, c.known_share] for c in report.completeness]
    write_table(ws, sheet, cols, rows)


def score(wb: Workbook, report: Report, sheet: Sheet, lang: str) -> None:
    ws = wb.create_sheet(w.sheet_name("score", lang))
    s = report.score
    cols = [Column(w.word(k, lang), f) for k, f in (
        ("item", TEXT), ("subject", TEXT), ("name", TEXT), ("quantity", TEXT), ("points", HOURS))]
    rows: list[list[object]] = [[w.word("score_start", lang), "", "", "", s.start]]
    for d in s.deductions:
        rows.append([w.word(d.rule, lang, h=f"{report.fault_hours:g}"), d.subject, subject_words(report, d, lang),
                     w.quantity(d.rule, d.quantity, lang), -d.points])
    none = unmonitored(report.completeness)  # (no score for a period nobody watched)
    rows.append([w.word("score_total", lang), "", "", w.word("score_floor", lang) + f" {s.floor:g}", "—" if none else s.total])
    write_table(ws, sheet, cols, rows)
    last = len(rows) + 2
    for j in range(1, 6):
        ws.cell(row=last, column=j).font = Font(name=FONT, bold=True, size=12)
    note = score_note(report.completeness, lang)
    if note is not None:  # below the score, in the warning colour: an unwatched month is not a good one
        ws.cell(row=last + 2, column=1, value=note)
        ws.cell(row=last + 2, column=1).font = Font(name=FONT, bold=True, color="9C0006")


SHEET_WRITERS: tuple[tuple[str, Callable[[Workbook, Report, Sheet, str], None]], ...] = (
    ("summary", summary), ("ranking", ranking), ("villages", villages), ("faults", faults),
    ("work_orders", work_orders), ("exclusions", exclusions), ("completeness", completeness), ("score", score))

__all__ = ["SHEET_WRITERS"]
