"""Report periods: a local calendar month (``2026-11``) or quarter (``2026Q4``), pure.

Months and quarters are local to ``accounting.timezone`` (a month in Asia/Shanghai starts at
16:00 UTC on the last day of the month before); a period is the UTC half-open [start, end).
A period's year is :data:`MIN_YEAR`..:data:`MAX_YEAR` (the end of December 9999 would be in year
10000, which no date holds): another year is a :class:`PeriodError` naming the option.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from collector.reports.model import Kind, ReportPeriod

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
MIN_YEAR, MAX_YEAR = 1970, 9998


class PeriodError(ValueError):
    """A month or quarter that cannot be read; ``words(lang)`` names the option."""

    def __init__(self, option: str, text: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.option, self.text, self.zh, self.en = option, text, zh, en

    def words(self, lang: str = "zh") -> str:
        if lang == "en":
            return f"{self.option} {self.text!r}: {self.en}"
        return f"{self.option} “{self.text}”：{self.zh}"


def _local_start(year: int, month: int, tz: str) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


def _next(year: int, month: int, months: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) + months
    return m // 12, m % 12 + 1


def month_period(year: int, month: int, tz: str) -> ReportPeriod:
    ny, nm = _next(year, month, 1)
    return ReportPeriod(Kind.MONTHLY, f"{year:04d}-{month:02d}", _local_start(year, month, tz), _local_start(ny, nm, tz), tz)


def quarter_period(year: int, quarter: int, tz: str) -> ReportPeriod:
    first = 3 * (quarter - 1) + 1
    ny, nm = _next(year, first, 3)
    return ReportPeriod(Kind.QUARTERLY, f"{year:04d}Q{quarter}", _local_start(year, first, tz), _local_start(ny, nm, tz), tz)


def _year(option: str, text: str, year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(option, text, f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间",
                          f"the year must be {MIN_YEAR}-{MAX_YEAR}")
    return year


def parse_month(text: str, tz: str, *, option: str = "--month") -> ReportPeriod:
    m = _MONTH.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise PeriodError(option, text, "月份应写作 YYYY-MM，例如 2026-11", "a month is YYYY-MM, e.g. 2026-11")
    return month_period(_year(option, text, int(m.group(1))), int(m.group(2)), tz)


def parse_quarter(text: str, tz: str, *, option: str = "--quarter") -> ReportPeriod:
    m = _QUARTER.match(text)
    if m is None:
        raise PeriodError(option, text, "季度应写作 YYYYQn（n 为 1–4），例如 2026Q4",
                          "a quarter is YYYYQn with n 1-4, e.g. 2026Q4")
    return quarter_period(_year(option, text, int(m.group(1))), int(m.group(2)), tz)


def parse_label(kind: Kind, label: str, tz: str, *, option: str | None = None) -> ReportPeriod:
    """*label* as a period of *kind*; an error names *option* (default: the CLI's ``--month`` or
    ``--quarter``; the console names its own field, in the reader's language)."""
    if kind is Kind.MONTHLY:
        return parse_month(label, tz) if option is None else parse_month(label, tz, option=option)
    return parse_quarter(label, tz) if option is None else parse_quarter(label, tz, option=option)


def previous(period: ReportPeriod) -> ReportPeriod:
    """The period before *period* (the month or quarter ranks are compared with)."""
    local = period.start.astimezone(ZoneInfo(period.timezone))
    if period.kind is Kind.MONTHLY:
        y, m = _next(local.year, local.month, -1)
        return month_period(y, m, period.timezone)
    y, m = _next(local.year, local.month, -3)
    return quarter_period(y, (m - 1) // 3 + 1, period.timezone)


def containing(kind: Kind, at: dt.datetime, tz: str) -> ReportPeriod:
    """The month or quarter that holds the instant *at*."""
    local = at.astimezone(ZoneInfo(tz))
    if kind is Kind.MONTHLY:
        return month_period(local.year, local.month, tz)
    return quarter_period(local.year, (local.month - 1) // 3 + 1, tz)


def is_future(period: ReportPeriod, now: dt.datetime) -> bool:
    return period.start > now


def is_open(period: ReportPeriod, now: dt.datetime) -> bool:
    """The period has not ended yet: a report of it is month (quarter) to date, 未结."""
    return period.start <= now < period.end


def due_to_close(month: ReportPeriod, now: dt.datetime, close_day: int) -> bool:
    """*month* has ended and *now* is on or after local day ``close_day`` of the next month."""
    if now < month.end:
        return False
    local_end = month.end.astimezone(ZoneInfo(month.timezone))  # local midnight of the 1st
    return now >= (local_end + dt.timedelta(days=close_day - 1)).astimezone(dt.UTC)


__all__ = ["MAX_YEAR", "MIN_YEAR", "PeriodError", "containing", "due_to_close", "is_future", "is_open", "month_period", "parse_label",
           "parse_month", "parse_quarter", "previous", "quarter_period"]
