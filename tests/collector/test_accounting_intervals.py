"""Interval arithmetic on half-open intervals: hand tables plus a brute-force property check."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.accounting import clip, duration, from_us, subtract, to_us, total_us, union

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ([], []),
        ([(5, 5)], []),  # empty dropped
        ([(3, 7), (1, 4)], [(1, 7)]),  # overlap merged, sorted
        ([(1, 2), (2, 3)], [(1, 3)]),  # adjacent half-open intervals merged
        ([(1, 10), (2, 3), (4, 5)], [(1, 10)]),  # contained ones vanish
        ([(8, 9), (1, 2)], [(1, 2), (8, 9)]),
    ],
)
def test_union(given_: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    assert union(given_) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([(0, 10)], [], [(0, 10)]),
        ([(0, 10)], [(2, 4)], [(0, 2), (4, 10)]),
        ([(0, 10)], [(-5, 3), (8, 20)], [(3, 8)]),  # b crosses both edges
        ([(0, 10)], [(0, 10)], []),
        ([(0, 3), (5, 9)], [(2, 6)], [(0, 2), (6, 9)]),  # one b over two a
        ([(0, 3), (5, 9), (12, 15)], [(1, 2), (4, 13)], [(0, 1), (2, 3), (13, 15)]),
        ([(0, 2)], [(2, 4)], [(0, 2)]),  # touching, half-open: nothing removed
    ],
)
def test_subtract(
    a: list[tuple[int, int]], b: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert subtract(a, b) == expected


def test_clip_and_datetimes() -> None:
    ivs = [(h(-2), h(1)), (h(3), h(4)), (h(9), h(12)), (h(20), h(21))]
    clipped = clip(ivs, h(0), h(10))
    assert clipped == [(h(0), h(1)), (h(3), h(4)), (h(9), h(10))]
    assert duration(clipped) == dt.timedelta(hours=3)
    assert subtract(union(clipped), [(h(0.5), h(3.5))]) == [(h(0), h(0.5)), (h(3.5), h(4)), (h(9), h(10))]


def test_microseconds_round_trip_and_naive_rejected() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    t = dt.datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=shanghai)
    assert to_us(t) == to_us(dt.datetime(2026, 11, 1, 0, 0, 0, 123456, tzinfo=dt.UTC))
    assert from_us(to_us(t)) == t
    with pytest.raises(ValueError, match="naive"):
        to_us(dt.datetime(2026, 11, 1))


_iv = st.tuples(st.integers(0, 40), st.integers(0, 40))


@given(st.lists(_iv, max_size=8), st.lists(_iv, max_size=8), st.integers(0, 40), st.integers(0, 40))
def test_matches_brute_force(
    a: list[tuple[int, int]], b: list[tuple[int, int]], lo: int, hi: int
) -> None:
    def points(ivs: list[tuple[int, int]]) -> set[int]:
        return {x for s, e in ivs for x in range(s, e)}

    ua, ub = union(a), union(b)
    assert points(ua) == points(a)
    assert all(x[1] < y[0] for x, y in pairwise(ua))  # sorted, disjoint, not adjacent
    diff = subtract(ua, ub)
    assert points(diff) == points(a) - points(b)
    assert total_us(diff) == len(points(a) - points(b))
    assert points(clip(ua, lo, hi)) == {x for x in points(a) if lo <= x < hi}
