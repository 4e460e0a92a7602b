"""The report model's stable JSON and the report periods (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.reports.model import Kind, content_hash, from_json, to_json
from collector.reports.periods import (
    PeriodError,
    containing,
    due_to_close,
    is_open,
    parse_month,
    parse_quarter,
    previous,
)
from tests.collector.reports.sample import sample_report

SH = "Asia/Shanghai"


def test_json_round_trip_is_equal_and_stable() -> None:
    r = sample_report()
    text = to_json(r)
    back = from_json(text)
    assert back == r
    assert to_json(back) == text
    assert content_hash(back) == content_hash(r)
    assert text.index('"closed"') < text.index('"counties"') < text.index('"period"')  # sorted keys
    assert "柳林乡" in text  # characters kept, not escaped


def test_any_change_changes_the_hash() -> None:
    r = sample_report()
    t = r.townships[0]
    changed = dataclasses.replace(r, townships=(dataclasses.replace(t, rate=0.9613), *r.townships[1:]))
    assert content_hash(changed) != content_hash(r)


def test_other_schema_refused() -> None:
    text = to_json(sample_report()).replace('"schema":1', '"schema":99')
    with pytest.raises(ValueError, match="schema"):
        from_json(text)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026-11", "2026-10-31T16:00:00+00:00", "2026-11-30T16:00:00+00:00"),
    ("2026-12", "2026-11-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00"),
    ("2026-1", "2025-12-31T16:00:00+00:00", "2026-01-31T16:00:00+00:00"),
])
def test_months_are_local(text: str, start: str, end: str) -> None:
    p = parse_month(text, SH)
    assert (p.start.isoformat(), p.end.isoformat(), p.kind) == (start, end, Kind.MONTHLY)


@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("2026Q4", "2026Q4", "2026-09-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00"),
    ("2026q1", "2026Q1", "2025-12-31T16:00:00+00:00", "2026-03-31T16:00:00+00:00"),
    ("2026-Q2", "2026Q2", "2026-03-31T16:00:00+00:00", "2026-06-30T16:00:00+00:00"),
])
def test_quarters_are_local(text: str, label: str, start: str, end: str) -> None:
    p = parse_quarter(text, SH)
    assert (p.label, p.start.isoformat(), p.end.isoformat()) == (label, start, end)


@pytest.mark.parametrize("text", ["2026-13", "2026/11", "11-2026", "", "2026-00", "abc"])
def test_bad_month_names_the_option(text: str) -> None:
    with pytest.raises(PeriodError) as exc:
        parse_month(text, SH)
    assert exc.value.words("en").startswith("--month ")
    assert "YYYY-MM" in exc.value.words("zh")


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "2026-11", "Q4"])
def test_bad_quarter_names_the_option(text: str) -> None:
    with pytest.raises(PeriodError) as exc:
        parse_quarter(text, SH)
    assert exc.value.words("en").startswith("--quarter ")


def test_previous_and_containing() -> None:
    assert previous(parse_month("2026-01", SH)).label == "2025-12"
    assert previous(parse_quarter("2026Q1", SH)).label == "2025Q4"
    at = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 December in Shanghai
    assert containing(Kind.MONTHLY, at, SH).label == "2026-12"
    assert containing(Kind.QUARTERLY, at, SH).label == "2026Q4"
    assert is_open(parse_month("2026-12", SH), at) and not is_open(parse_month("2026-11", SH), at)


@pytest.mark.parametrize(("now", "due"), [
    ("2026-11-30T15:59:59+00:00", False),  # November not over (local)
    ("2026-12-01T15:59:59+00:00", False),  # 2 December 23:59 local
    ("2026-12-02T16:00:00+00:00", True),  # 3 December 00:00 local
])
def test_due_to_close_on_close_day(now: str, due: bool) -> None:
    assert due_to_close(parse_month("2026-11", SH), dt.datetime.fromisoformat(now), 3) is due
