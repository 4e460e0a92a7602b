"""Coverage (覆盖率 / 全覆盖) counted on planned points (DESIGN §4).

Village coverage = planned points with at least one non-retired camera that is up (online or
degraded) now — or, over a period, up for at least ``threshold`` (default 95%) of its eligible time,
that share compared as shown (rounded to 0.01 percentage points, :func:`~collector.accounting.
targets.compliant`, the rule of the rates against their target) — divided by planned points.
"Built" coverage counts planned points with at least one non-retired camera, whatever its state.
Unplanned points are ignored; a village is fully covered (built) at 100%. Township coverage =
fully covered (built) villages / villages with at least one planned point.

Over a period, a planned point none of whose cameras has counted (eligible) time, because an
approved exclusion took it (some excluded time, no online or offline time left), is left out of
the coverage denominators as the rate leaves it out: of its village's points, and a village with no
point left (``counted_points`` 0) of its township's and county's villages; such a village's
coverage and 全覆盖 are no figure (``shown_ratio`` / ``shown_fully_covered`` None, "—"), not 0 % and
not 否. So an approved 报备 never lowers anyone's coverage. Built coverage keeps every planned
point (the cameras are there). A point whose cameras were only unknown (camwatch not watching)
still counts as not covered, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from collector.accounting.model import UP_STATES, CameraRef, CameraTime, PointRef
from collector.accounting.rounding import round_ratio
from collector.accounting.targets import compliant

DEFAULT_THRESHOLD = Fraction(95, 100)


@dataclass(frozen=True, slots=True)
class VillageCoverage:
    village: str
    planned_points: int
    covered_points: int
    built_points: int
    ratio: Decimal  # covered / counted points, rounded to 0.01 percentage points (0 when none counted)
    built_ratio: Decimal  # built / planned points
    fully_covered: bool  # False when no point is counted: read ``shown_fully_covered``
    fully_built: bool
    counted_points: int  # planned points counted for coverage: all of them, less those left out (see above)

    @property
    def counted(self) -> bool:
        """Whether the village counts for coverage (a point of it had counted time)."""
        return self.counted_points > 0

    @property
    def shown_ratio(self) -> Decimal | None:
        """The coverage as reports show it: None ("—") for a village that does not count."""
        return self.ratio if self.counted else None

    @property
    def shown_fully_covered(self) -> bool | None:
        """全覆盖 as reports show it: None ("—") for a village that does not count."""
        return self.fully_covered if self.counted else None


@dataclass(frozen=True, slots=True)
class RegionCoverage:
    region: str  # township (or county) code
    villages: int  # villages counted for coverage (the denominator of ``ratio``)
    fully_covered: int
    fully_built: int
    ratio: Decimal  # fully covered villages / villages (0 when none counts: read ``shown_ratio``)
    built_ratio: Decimal  # fully built villages / planned_villages
    planned_villages: int  # villages with a planned point, counted or not

    @property
    def shown_ratio(self) -> Decimal | None:
        """The coverage as reports show it: None ("—") when no village of the region counts."""
        return self.ratio if self.villages else None


def _exact(value: Fraction | Decimal | int | float) -> Fraction:
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _share(part: int, whole: int) -> Decimal:
    return round_ratio(Fraction(part, whole)) if whole else Decimal("0.0000")


def _tally(items: Iterable[tuple[str, bool, bool, bool]]) -> list[tuple[str, int, int, int, int]]:
    """(key, items, counted, covered, built) per key of (key, counted, covered, built) items,
    sorted by key (an item not counted is never covered)."""
    acc: dict[str, list[int]] = {}
    for key, counted, covered, built in items:
        row = acc.setdefault(key, [0, 0, 0, 0])
        row[0] += 1
        row[1] += counted
        row[2] += counted and covered
        row[3] += built
    return [(key, n, k, c, b) for key, (n, k, c, b) in sorted(acc.items())]


def _villages(
    points: Iterable[PointRef], cameras: Iterable[CameraRef], is_up: Callable[[CameraRef], bool],
    left_out: Collection[int] = frozenset(),
) -> tuple[VillageCoverage, ...]:
    return village_coverage_of(points, ((cam.point_id, is_up(cam)) for cam in cameras if not cam.retired), left_out)


def village_coverage_of(points: Iterable[PointRef], marks: Iterable[tuple[int, bool]],
                        left_out: Collection[int] = frozenset()) -> tuple[VillageCoverage, ...]:
    """Coverage from each non-retired camera's (point id, whether it counts as up); the points
    ``left_out`` (no counted time in the period) are in no coverage denominator."""
    planned = {p.point_id: p.village for p in points if p.planned}
    built: set[int] = set()
    covered: set[int] = set()
    for point_id, up in marks:
        if point_id not in planned:
            continue
        built.add(point_id)
        if up:
            covered.add(point_id)
    tally = _tally((village, pid not in left_out, pid in covered, pid in built) for pid, village in planned.items())
    return tuple(
        VillageCoverage(village=village, planned_points=n, covered_points=c, built_points=b, ratio=_share(c, k),
                        built_ratio=_share(b, n), fully_covered=k > 0 and c == k, fully_built=b == n,
                        counted_points=k)
        for village, n, k, c, b in tally
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
    """Coverage over a period: a camera counts when online/eligible, as shown (rounded to 0.01
    percentage points), is at least ``threshold``; a camera with no eligible time (or missing
    from ``times``) does not. A point whose cameras have no eligible time but some excluded time
    (:func:`left_out_points`) is in no denominator."""
    bar = _exact(threshold)
    cams = tuple(cameras)

    def is_up(cam: CameraRef) -> bool:
        t = times.get(cam.camera_id)
        return t is not None and compliant(t.ratio, bar) is True

    return _villages(points, cams, is_up, left_out_points(cams, times))


def left_out_points(cameras: Iterable[CameraRef], times: Mapping[int, CameraTime]) -> frozenset[int]:
    """The points with no counted time over the period: none of their non-retired cameras has
    eligible (online or offline) time, and one has excluded time (an approved exclusion took it
    all). A point whose cameras were only unknown, or not yet in monitoring, is not among them."""
    counted: set[int] = set()
    excused: set[int] = set()
    for cam in cameras:
        t = times.get(cam.camera_id)
        if cam.retired or t is None:
            continue
        if t.eligible_s > 0:
            counted.add(cam.point_id)
        elif t.excluded_s > 0:
            excused.add(cam.point_id)
    return frozenset(excused - counted)


def township_coverage(
    villages: Iterable[VillageCoverage], township_of: Mapping[str, str]
) -> tuple[RegionCoverage, ...]:
    """Fully covered villages / villages per township (pass a village -> county map for counties);
    a village that does not count (no counted point) is left out of ``villages`` and ``ratio``,
    not of the built figures.

    Raises KeyError for a village missing from ``township_of``.
    """
    return tuple(
        RegionCoverage(region=code, villages=k, fully_covered=c, fully_built=b, ratio=_share(c, k),
                       built_ratio=_share(b, n), planned_villages=n)
        for code, n, k, c, b in _tally((township_of[v.village], v.counted, v.fully_covered, v.fully_built)
                                       for v in villages)
    )
