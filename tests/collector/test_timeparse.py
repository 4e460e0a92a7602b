"""The one date parser: every accepted form, the end of a day, naive times in the configured zone,
and errors that name the option, echo the text and list the formats."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.accounting.timeparse import FORMATS, TimeParseError, parse_period, parse_time, show

SH = "Asia/Shanghai"  # UTC+8, no DST
NY = "America/New_York"  # with DST: the zone, not a fixed offset, decides


def utc(*a: int) -> dt.datetime:
    return dt.datetime(*a, tzinfo=dt.UTC)


CASES = [
    # (text, zone, as an end?, instant)
    ("2026-11-23", SH, False, utc(2026, 11, 22, 16)),
    ("2026-11-23", SH, True, utc(2026, 11, 23, 16)),  # --to DATE: the end of that day
    (" 2026-11-23 ", SH, False, utc(2026, 11, 22, 16)),
    ("2026-11-23 08:00", SH, False, utc(2026, 11, 23, 0)),
    ("2026-11-23 08:00", SH, True, utc(2026, 11, 23, 0)),  # a time is that instant, as a start or an end
    ("2026-11-23T08:00:30", SH, False, utc(2026, 11, 23, 0, 0, 30)),
    ("2026-11-23 08:00:30.5", SH, False, utc(2026, 11, 23, 0, 0, 30) + dt.timedelta(milliseconds=500)),
    ("2026-11-23T08:00:00+08:00", NY, False, utc(2026, 11, 23, 0)),  # its own zone wins
    ("2026-11-23T00:00:00Z", SH, False, utc(2026, 11, 23, 0)),
    ("2026-11-23 02:00-0500", SH, False, utc(2026, 11, 23, 7)),
    ("1763856000", SH, False, utc(2025, 11, 23, 0)),  # epoch seconds
    ("1763856000.25", SH, True, utc(2025, 11, 23, 0) + dt.timedelta(milliseconds=250)),
    ("2026-07-01", NY, False, utc(2026, 7, 1, 4)),  # EDT
    ("2026-01-01", NY, False, utc(2026, 1, 1, 5)),  # EST
    ("2026-12-31", SH, True, utc(2026, 12, 31, 16)),  # the end of the year's last day
]


@pytest.mark.parametrize(("text", "zone", "end", "want"), CASES)
def test_accepted_forms(text: str, zone: str, end: bool, want: dt.datetime) -> None:
    got = parse_time(text, zone, end=end)
    assert got == want and got.tzinfo is dt.UTC


REJECTED = [
    ("yesterday", "无法识别"),
    ("2026/11/23", "无法识别"),
    ("23.11.2026", "无法识别"),
    ("20261123", "无法识别"),  # 8 digits: neither a day nor a plausible epoch
    ("2026-11-23 8:00", "无法识别"),
    ("2026-11-23+08:00", "无法识别"),  # a zone needs a time
    ("2026-02-30", "不是有效的日期或时间"),
    ("2026-11-23 25:00", "不是有效的日期或时间"),
    ("", "无法识别"),
]


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_errors_name_the_option_echo_the_text_and_list_the_formats(text: str, why: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time(text, SH, option="--to", end=True)
    err = info.value
    assert err.option == "--to"
    zh, en = err.words(), err.words("en")
    assert zh.startswith(f"--to：“{text}”{why}") and FORMATS[0] in zh and SH in zh
    assert en.startswith(f"--to: {text!r} is ") and FORMATS[1] in en and SH in en
    assert "+00:00" not in zh + en and "UTC" not in zh + en  # no instant the user never typed
    assert err.detail("en") == en.removeprefix("--to: ")


def test_echo_is_cut() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time("x" * 5000, SH, option="--from")
    assert len(info.value.words()) < 400 and "x" * 80 + "…" in info.value.words()


NOW = utc(2026, 11, 23, 4)  # 12:00 in Shanghai


@pytest.mark.parametrize(("start", "end", "lo", "hi"), [
    (None, None, utc(2026, 10, 31, 16), NOW),  # this month (local) up to now
    ("2026-11-20", "2026-11-21", utc(2026, 11, 19, 16), utc(2026, 11, 21, 16)),  # two days entered naturally
    ("2026-11-20", "2026-11-20", utc(2026, 11, 19, 16), utc(2026, 11, 20, 16)),  # one whole day
    ("2026-11-20 08:00", "2026-11-20 09:30", utc(2026, 11, 20, 0), utc(2026, 11, 20, 1, 30)),
    ("2026-11-20", None, utc(2026, 11, 19, 16), NOW),
    (None, "2026-11-10", utc(2026, 10, 31, 16), utc(2026, 11, 10, 16)),
])
def test_periods(start: str | None, end: str | None, lo: dt.datetime, hi: dt.datetime) -> None:
    p = parse_period(start, end, SH, NOW)
    assert (p.start, p.end) == (lo, hi)


def test_a_period_that_ends_before_it_starts_echoes_what_was_typed() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_period("2026-11-05", "2026-11-01", SH, NOW)
    assert info.value.option == "--to"
    assert info.value.words("en") == "--to: --to '2026-11-01' is not after --from '2026-11-05'"
    assert info.value.words() == "--to：--to “2026-11-01” 须晚于 --from “2026-11-05”"
    with pytest.raises(TimeParseError) as info:  # a start in the future, no end: "now" in local time
        parse_period("2026-12-01", None, SH, NOW, names=("from", "to"))
    assert info.value.option == "from" and "now (2026-11-23 12:00 +08:00)" in info.value.words("en")


def test_show_is_local_time_with_the_zone() -> None:
    assert show(utc(2026, 11, 23, 0, 0, 5), SH) == "2026-11-23 08:00 +08:00"
    assert show(utc(2026, 11, 23, 0, 0, 5), SH, seconds=True) == "2026-11-23 08:00:05 +08:00"
    assert show(utc(2026, 7, 1, 12), NY) == "2026-07-01 08:00 -04:00"
