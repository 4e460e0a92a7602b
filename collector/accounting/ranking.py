"""Rankings (排名) of rate rows and their change against the previous period (pure).

Rank 1 is the best time-weighted rate; equal rates share a rank and the next rank skips
(1, 2, 2, 4); a row with no rate (nothing eligible) has no rank. The previous period is the one
of the same length just before; when the period is a whole local calendar month, the previous
calendar month (months differ in length).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from collector.accounting.model import Period

K = TypeVar("K", bound=Hashable)


def ranks(rates: Mapping[K, Decimal | None]) -> dict[K, int | None]:
    """Competition ranking of *rates* (higher is better); None for a row with no rate."""
    ranked = sorted((r for r in rates.values() if r is not None), reverse=True)
    first: dict[Decimal, int] = {}
    for i, r in enumerate(ranked, start=1):
        first.setdefault(r, i)
    return {k: None if r is None else first[r] for k, r in rates.items()}


def rank_changes(now: Mapping[K, int | None], before: Mapping[K, int | None]) -> dict[K, int | None]:
    """Places gained since the previous period (positive: moved up, ↑); None when either rank is missing."""
    out: dict[K, int | None] = {}
    for k, r in now.items():
        b = before.get(k)
        out[k] = None if r is None or b is None else b - r
    return out


def _month_start(t: dt.datetime) -> bool:
    return t.day == 1 and t.time() == dt.time(0)


def previous_period(period: Period, tz: str | dt.tzinfo) -> Period:
    """The previous calendar month when *period* is a whole local month, else the period of
    the same length ending where *period* starts."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    lo, hi = period.start.astimezone(zone), period.end.astimezone(zone)
    nxt = (lo.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if _month_start(lo) and _month_start(hi) and hi.replace(tzinfo=None) == nxt.replace(tzinfo=None):
        prev = (lo.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        start = dt.datetime.combine(prev.date(), dt.time(0), zone)
        return Period(start.astimezone(period.start.tzinfo), period.start)  # shown in the zone it was given in
    return Period(period.start - (period.end - period.start), period.start)


def change_words(change: int | None, lang: str = "zh") -> str:
    """A rank change as shown: ↑2, ↓1, = (same place), — (no rank then or now)."""
    if change is None:
        return "—"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "="


__all__ = ["change_words", "previous_period", "rank_changes", "ranks"]
