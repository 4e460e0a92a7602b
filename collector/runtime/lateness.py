"""Probe lateness (actual minus planned start) as a Prometheus-style histogram, kept by the scheduler."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...] = LATENESS_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, v: float) -> None:
        self.total += v
        self.n += 1
        self.counts[bisect.bisect_left(self.buckets, v)] += 1  # first bucket with v <= bound, else +Inf


def quantile_bound(counts: Sequence[int], q: float, buckets: Sequence[float] = LATENESS_BUCKETS) -> float | None:
    """The upper bound of the bucket holding the *q*-quantile of bucket *counts* (inf past the
    last bound; None without observations): "p99 <= this"."""
    n = sum(counts)
    if n == 0:
        return None
    rank, seen = q * n, 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank:
            return buckets[i] if i < len(buckets) else float("inf")
    return float("inf")
