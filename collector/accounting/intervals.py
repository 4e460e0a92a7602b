"""Half-open interval arithmetic: [start, end).

Works on any totally ordered values: integer microseconds (what the rest of the package uses, exact
and fast) or aware UTC datetimes. Lists passed to :func:`subtract` must be sorted and disjoint, as
:func:`union` returns them. Empty intervals (start >= end) are dropped everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T", int, dt.datetime)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


def to_us(when: dt.datetime) -> int:
    """Aware datetime -> integer microseconds since the Unix epoch (exact)."""
    try:
        return (when - EPOCH) // _ONE_US
    except TypeError:  # naive datetime: subtracting it from an aware one fails
        raise ValueError(f"accounting needs aware datetimes, got naive {when!r}") from None


def from_us(us: int) -> dt.datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=us)


def union(intervals: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Sorted, disjoint, non-adjacent intervals covering exactly the union of the input."""
    out: list[tuple[T, T]] = []
    for start, end in sorted(iv for iv in intervals if iv[0] < iv[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def clip(intervals: Iterable[tuple[T, T]], lo: T, hi: T) -> list[tuple[T, T]]:
    """Each interval cut to [lo, hi); empty results dropped; order kept."""
    out: list[tuple[T, T]] = []
    for start, end in intervals:
        s = start if start > lo else lo
        e = end if end < hi else hi
        if s < e:
            out.append((s, e))
    return out


def subtract(a: Sequence[tuple[T, T]], b: Sequence[tuple[T, T]]) -> list[tuple[T, T]]:
    """a minus b, both sorted and disjoint; linear in len(a) + len(b)."""
    if not b:
        return [iv for iv in a if iv[0] < iv[1]]
    out: list[tuple[T, T]] = []
    j = 0
    nb = len(b)
    for start, end in a:
        if start >= end:
            continue
        while j < nb and b[j][1] <= start:
            j += 1
        cur = start
        k = j
        while k < nb and b[k][0] < end:
            b_start, b_end = b[k]
            if b_start > cur:
                out.append((cur, b_start))
            if b_end > cur:
                cur = b_end
            if b_end >= end:
                break
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def total_us(intervals: Iterable[tuple[int, int]]) -> int:
    """Summed length of integer intervals (assumed disjoint)."""
    return sum(e - s for s, e in intervals if e > s)


def duration(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> dt.timedelta:
    """Summed length of datetime intervals (assumed disjoint)."""
    return sum((e - s for s, e in intervals if e > s), dt.timedelta(0))
