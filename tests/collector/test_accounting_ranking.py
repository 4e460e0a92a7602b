"""Table tests for rankings: ranks with ties, changes against the previous period, which period
is the previous one, and how a change is shown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from collector.accounting.model import Period
from collector.accounting.ranking import change_words, previous_period, rank_changes, ranks

D = Decimal
TZ = "Asia/Shanghai"
SH = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(("rates", "expected"), [
    ({}, {}),
    ({"a": D("0.9")}, {"a": 1}),
    ({"a": D("0.90"), "b": D("0.95"), "c": D("0.80")}, {"a": 2, "b": 1, "c": 3}),
    ({"a": D("0.95"), "b": D("0.95"), "c": D("0.90"), "d": D("0.99")}, {"a": 2, "b": 2, "c": 4, "d": 1}),  # ties share
    ({"a": None, "b": D("0.5"), "c": D("0.5")}, {"a": None, "b": 1, "c": 1}),  # no rate, no rank
    ({"a": D("1.0000"), "b": D("1")}, {"a": 1, "b": 1}),  # equal values, different spelling
])
def test_ranks(rates, expected) -> None:  # type: ignore[no-untyped-def]
    assert ranks(rates) == expected


@pytest.mark.parametrize(("now", "before", "expected"), [
    ({"a": 1, "b": 2}, {"a": 2, "b": 1}, {"a": 1, "b": -1}),
    ({"a": 1}, {"a": 1}, {"a": 0}),
    ({"a": 1, "b": 2}, {"a": 1}, {"a": 0, "b": None}),  # new in the ranking
    ({"a": None}, {"a": 3}, {"a": None}),
    ({"a": 2}, {"a": None}, {"a": None}),
])
def test_rank_changes(now, before, expected) -> None:  # type: ignore[no-untyped-def]
    assert rank_changes(now, before) == expected


def local(y: int, m: int, d: int, h: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SH)


@pytest.mark.parametrize(("period", "expected"), [
    # whole months: the previous calendar month (lengths differ)
    ((local(2026, 3, 1), local(2026, 4, 1)), (local(2026, 2, 1), local(2026, 3, 1))),
    ((local(2026, 1, 1), local(2026, 2, 1)), (local(2025, 12, 1), local(2026, 1, 1))),
    ((local(2026, 12, 1), local(2027, 1, 1)), (local(2026, 11, 1), local(2026, 12, 1))),
    # anything else: the same length just before
    ((local(2026, 3, 1), local(2026, 3, 15, 10)), (local(2026, 2, 14, 14), local(2026, 3, 1))),
    ((local(2026, 3, 10), local(2026, 3, 17)), (local(2026, 3, 3), local(2026, 3, 10))),
    ((local(2026, 3, 1), local(2026, 5, 1)), (local(2026, 1, 1), local(2026, 3, 1))),  # two months: 61 days back
])
def test_previous_period(period, expected) -> None:  # type: ignore[no-untyped-def]
    got = previous_period(Period(*period), TZ)
    if period == (local(2026, 3, 1), local(2026, 5, 1)):
        assert got == Period(local(2026, 3, 1) - dt.timedelta(days=61), local(2026, 3, 1))
    else:
        assert got == Period(*expected)


def test_a_month_in_utc_is_not_a_local_month() -> None:
    utc = Period(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    assert previous_period(utc, TZ) == Period(dt.datetime(2026, 1, 29, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(("change", "words"), [(2, "↑2"), (-1, "↓1"), (0, "="), (None, "—")])
def test_change_words(change: int | None, words: str) -> None:
    assert change_words(change) == words
