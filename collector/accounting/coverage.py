"""Coverage (覆盖率 / 全覆盖) counted on planned points (DESIGN §4).

Village coverage = planned points with at least one non-retired camera that is up (online or
degraded) now — or, over a period, up for at least ``threshold`` (default 95%) of its eligible time
— divided by planned points. "Built" coverage counts planned points with at least one non-retired
camera, whatever its state. Unplanned points are ignored; a village is fully covered (built) at
100%. Township coverage = fully covered (built) villages / villages with at least one planned point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from collector.accounting.model import UP_STATES, CameraRef, CameraTime, PointRef
from collector.accounting.rounding import round_ratio

DEFAULT_THRESHOLD = Fraction(95, 100)


@dataclass(frozen=True, slots=True)
class VillageCoverage:
    village: str
    planned_points: int
    covered_points: int
    built_points: int
    ratio: Decimal  # covered / planned, rounded to 0.01 percentage points
    built_ratio: Decimal
    fully_covered: bool
    fully_built: bool


@dataclass(frozen=True, slots=True)
class RegionCoverage:
    region: str  # township (or county) code
    villages: int
    fully_covered: int
    fully_built: int
    ratio: Decimal  # fully covered villages / villages
    built_ratio: Decimal


def _exact(value: Fraction | Decimal | int | float) -> Fraction:
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _share(part: int, whole: int) -> Decimal:
    return round_ratio(Fraction(part, whole))


def _tally(items: Iterable[tuple[str, bool, bool]]) -> list[tuple[str, int, int, int]]:
    """(key, items, covered, built) per key of (key, covered, built) items, sorted by key."""
    acc: dict[str, list[int]] = {}
    for key, covered, built in items:
        row = acc.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += covered
        row[2] += built
    return [(key, n, c, b) for key, (n, c, b) in sorted(acc.items())]


def _villages(
    points: Iterable[PointRef], cameras: Iterable[CameraRef], is_up: Callable[[CameraRef], bool]
) -> tuple[VillageCoverage, ...]:
    return village_coverage_of(points, ((cam.point_id, is_up(cam)) for cam in cameras if not cam.retired))


def village_coverage_of(points: Iterable[PointRef], marks: Iterable[tuple[int, bool]]) -> tuple[VillageCoverage, ...]:
    """Coverage from each non-retired camera's (point id, whether it counts as up)."""
    planned = {p.point_id: p.village for p in points if p.planned}
    built: set[int] = set()
    covered: set[int] = set()
    for point_id, up in marks:
        if point_id not in planned:
            continue
        built.add(point_id)
        if up:
            covered.add(point_id)
    return tuple(
        VillageCoverage(village=village, planned_points=n, covered_points=c, built_points=b, ratio=_share(c, n),
                        built_ratio=_share(b, n), fully_covered=c == n, fully_built=b == n)
        for village, n, c, b in _tally((village, pid in covered, pid in built) for pid, village in planned.items())
    )


def village_coverage(
    points: Iterable[PointRef], cameras: Iterable[CameraRef], states: Mapping[int, str]
) -> tuple[VillageCoverage, ...]:
    """Coverage now; ``states`` maps camera id -> current state (missing: unknown)."""
    return _villages(points, cameras, lambda cam: states.get(cam.camera_id) in UP_STATES)


def village_coverage_over(
    points: Iterable[PointRef],
    cameras: Iterable[CameraRef],
    times: Mapping[int, CameraTime],
    *,
    threshold: Fraction | Decimal | int | float = DEFAULT_THRESHOLD,
) -> tuple[VillageCoverage, ...]:
    """Coverage over a period: a camera counts when online/eligible >= ``threshold``; a camera
    with no eligible time (or missing from ``times``) does not count."""
    bar = _exact(threshold)

    def is_up(cam: CameraRef) -> bool:
        t = times.get(cam.camera_id)
        ratio = None if t is None else t.ratio
        return ratio is not None and ratio >= bar

    return _villages(points, cameras, is_up)


def township_coverage(
    villages: Iterable[VillageCoverage], township_of: Mapping[str, str]
) -> tuple[RegionCoverage, ...]:
    """Fully covered villages / villages per township (pass a village -> county map for counties).

    Raises KeyError for a village missing from ``township_of``.
    """
    return tuple(
        RegionCoverage(region=code, villages=n, fully_covered=c, fully_built=b, ratio=_share(c, n),
                       built_ratio=_share(b, n))
        for code, n, c, b in _tally((township_of[v.village], v.fully_covered, v.fully_built) for v in villages)
    )
