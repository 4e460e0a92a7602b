"""The one reading of a time a person typed (``--from``/``--to``/``--until``, the API's from/to),
and the one way a time is shown back to people.

Accepted (README "Dates and times"):

- ``YYYY-MM-DD``: a local day; as the end of a period (``--to``) it is the *end* of that day;
- ``YYYY-MM-DD HH:MM`` or ``YYYY-MM-DD HH:MM:SS`` (``T`` instead of the space is fine);
- ISO 8601 with a zone: ``2026-11-23T08:00:00+08:00``, ``2026-11-23T00:00:00Z``;
- Unix epoch seconds (9 to 11 digits, optionally with a fraction): ``1763856000``.

Times without a zone are in ``accounting.timezone``. Errors name the option, echo what was
typed and list the accepted formats. Pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from collector.accounting.model import Period

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$")
_EPOCH = re.compile(r"^\d{9,11}(\.\d{1,6})?$")
ECHO_MAX = 80  # characters of the typed text echoed in an error

FORMATS = (
    "YYYY-MM-DD（日期；作为结束时间指当天结束）、YYYY-MM-DD HH:MM[:SS]、带时区的 ISO 8601"
    "（如 2026-11-23T08:00:00+08:00）或 Unix 时间戳秒数（如 1763856000）",
    "YYYY-MM-DD (a day; as an end, the end of that day), YYYY-MM-DD HH:MM[:SS], ISO 8601 with a zone "
    "(e.g. 2026-11-23T08:00:00+08:00) or Unix epoch seconds (e.g. 1763856000)",
)


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _echo(text: str) -> str:
    return text if len(text) <= ECHO_MAX else text[:ECHO_MAX] + "…"


class TimeParseError(ValueError):
    """A typed time that cannot be read, or a period whose end is not after its start.

    :meth:`words` is the whole message (``--to: ...``); :meth:`detail` leaves the option out
    (for the API, whose errors name their parameter themselves)."""

    def __init__(self, option: str, zh: str, en: str) -> None:
        super().__init__(f"{option}: {en}")
        self.option, self.zh, self.en = option, zh, en

    def detail(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def words(self, lang: str = "zh") -> str:
        return f"{self.option}: {self.en}" if lang == "en" else f"{self.option}：{self.zh}"


def unreadable(option: str, text: str, tz: str | dt.tzinfo, why: tuple[str, str] | None = None) -> TimeParseError:
    """The error for *text* typed as *option*: the option, the text, the formats, the zone."""
    zone = str(_zone(tz))
    zh_why, en_why = why or ("无法识别", "not a time camwatch reads")
    return TimeParseError(
        option,
        f"“{_echo(text)}”{zh_why}；可用格式：{FORMATS[0]}；不带时区的时间按 {zone} 计",
        f"{_echo(text)!r} is {en_why}; accepted: {FORMATS[1]}; times without a zone are in {zone}")


def parse_time(text: str, tz: str | dt.tzinfo, *, option: str = "--from", end: bool = False) -> dt.datetime:
    """The instant *text* stands for (UTC); a day alone is its start, or its end when *end*."""
    zone = _zone(tz)
    s = text.strip()
    try:
        if _DAY.match(s):
            day = dt.date.fromisoformat(s)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        if _LOCAL.match(s):
            return dt.datetime.fromisoformat(s).replace(tzinfo=zone).astimezone(dt.UTC)
        if _ZONED.match(s):
            return dt.datetime.fromisoformat(s).astimezone(dt.UTC)
        if _EPOCH.match(s):
            return dt.datetime.fromtimestamp(float(s), dt.UTC)
    except (ValueError, OverflowError):  # 2026-02-30, 25:00, +25:00 ...
        raise unreadable(option, text, zone, ("不是有效的日期或时间", "not a valid date or time")) from None
    raise unreadable(option, text, zone)


def show(t: dt.datetime, tz: str | dt.tzinfo, *, seconds: bool = False) -> str:
    """*t* as people read it: local time with the zone (``2026-11-23 08:00 +08:00``)."""
    local = t.astimezone(_zone(tz))
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {offset[:3]}:{offset[3:]}"


def parse_period(start: str | None, end: str | None, tz: str | dt.tzinfo, now: dt.datetime, *,
                 names: tuple[str, str] = ("--from", "--to")) -> Period:
    """The period [from, to) typed as *names*; default from: the first of this month (local),
    default to: *now*. A day alone as *to* is the end of that day."""
    zone = _zone(tz)
    if start:
        lo = parse_time(start, zone, option=names[0])
    else:
        first = now.astimezone(zone).date().replace(day=1)
        lo = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    hi = parse_time(end, zone, option=names[1], end=True) if end else now
    if hi <= lo:
        typed_hi = (f"“{_echo(end)}”", repr(_echo(end))) if end else (f"现在（{show(now, zone)}）", f"now ({show(now, zone)})")
        typed_lo = (f"“{_echo(start)}”", repr(_echo(start))) if start else (
            f"本月初（{show(lo, zone)}）", f"the start of this month ({show(lo, zone)})")
        raise TimeParseError(names[1] if end else names[0],
                             f"{names[1]} {typed_hi[0]} 须晚于 {names[0]} {typed_lo[0]}",
                             f"{names[1]} {typed_hi[1]} is not after {names[0]} {typed_lo[1]}")
    return Period(lo, hi)


__all__ = ["FORMATS", "TimeParseError", "parse_period", "parse_time", "show", "unreadable"]
