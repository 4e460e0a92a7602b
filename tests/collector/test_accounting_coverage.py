"""Coverage on planned points (now and over a period) and township coverage, hand-counted."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from collector.accounting import (
    CameraRef,
    CameraTime,
    PointRef,
    township_coverage,
    village_coverage,
    village_coverage_over,
)
from collector.accounting.plan import CameraPlan

POINTS = [
    PointRef(1, "V1"),                 # two cameras: one off, one online -> covered
    PointRef(2, "V1"),                 # degraded camera -> covered (degraded counts online)
    PointRef(3, "V1"),                 # planned, no camera -> uncovered, unbuilt
    PointRef(4, "V1", planned=False),  # unplanned with an online camera -> ignored
    PointRef(5, "V2"),                 # online -> V2 fully covered
    PointRef(6, "V3"),                 # only a retired camera -> unbuilt
    PointRef(7, "V4"),                 # offline camera -> built, not covered
]


def cam(cid: int, point: int, village: str, retired: bool = False) -> CameraRef:
    return CameraRef(cid, point, village, "T?", "K", retired=retired)


CAMS = [cam(1, 1, "V1"), cam(2, 1, "V1"), cam(3, 2, "V1"), cam(4, 4, "V1"), cam(5, 5, "V2"),
        cam(6, 6, "V3", retired=True), cam(7, 7, "V4")]
STATES = {1: "offline", 2: "online", 3: "degraded", 4: "online", 5: "online", 6: "online",
          7: "offline"}
TOWNSHIP_OF = {"V1": "T1", "V2": "T1", "V3": "T2", "V4": "T2"}

# village, planned, covered, built, ratio, built ratio, fully covered, fully built
NOW_TABLE = [
    ("V1", 3, 2, 2, "0.6667", "0.6667", False, False),  # P1, P2 of P1..P3: 2/3
    ("V2", 1, 1, 1, "1.0000", "1.0000", True, True),
    ("V3", 1, 0, 0, "0.0000", "0.0000", False, False),  # retired camera counts for nothing
    ("V4", 1, 0, 1, "0.0000", "1.0000", False, True),
]


def _rows(rows: tuple) -> list[tuple]:
    return [(r.village, r.planned_points, r.covered_points, r.built_points, str(r.ratio),
             str(r.built_ratio), r.fully_covered, r.fully_built) for r in rows]


def test_village_coverage_now() -> None:
    assert _rows(village_coverage(POINTS, CAMS, STATES)) == NOW_TABLE


def test_unknown_or_missing_state_is_not_covered() -> None:
    rows = village_coverage(POINTS, CAMS, {5: "unknown", 2: "excluded", 3: "degraded"})
    assert [(r.village, r.covered_points) for r in rows] == [("V1", 1), ("V2", 0), ("V3", 0), ("V4", 0)]


def test_township_coverage() -> None:
    rows = township_coverage(village_coverage(POINTS, CAMS, STATES), TOWNSHIP_OF)
    got = [(r.region, r.villages, r.fully_covered, r.fully_built, str(r.ratio), str(r.built_ratio))
           for r in rows]
    assert got == [
        ("T1", 2, 1, 1, "0.5000", "0.5000"),  # V2 fully covered and built of V1, V2
        ("T2", 2, 0, 1, "0.0000", "0.5000"),  # V4 fully built, none covered, of V3, V4
    ]
    with pytest.raises(KeyError):
        township_coverage(village_coverage(POINTS, CAMS, STATES), {"V1": "T1"})


def _t(online: int, eligible: int) -> CameraTime:
    d = Decimal
    return CameraTime(d(online), d(online), d(eligible), d(0), d(36000 - eligible), d(eligible - online))


def test_village_coverage_over_period() -> None:
    times = {
        1: _t(34200, 36000),  # 34200 / 36000 = 0.95 exactly -> counts (>=)
        2: _t(34196, 36000),  # 0.94989 -> does not
        3: _t(0, 0),          # nothing eligible: cannot count
        7: _t(36000, 36000),  # 100%
        # camera 5 missing (no data) -> does not count
    }
    rows = village_coverage_over(POINTS, CAMS, times)
    assert [(r.village, r.covered_points, str(r.ratio), r.fully_covered) for r in rows] == [
        ("V1", 1, "0.3333", False),  # only P1 (via camera 1) of 3
        ("V2", 0, "0.0000", False),
        ("V3", 0, "0.0000", False),
        ("V4", 1, "1.0000", True),
    ]
    # with a 0.9498 threshold camera 2 counts too, but P1 was already covered: still 1 point in V1
    lower = village_coverage_over(POINTS, CAMS, times, threshold=Fraction(9498, 10000))
    assert lower[0].covered_points == 1
    # with camera 1 down all period, P1 is covered only when camera 2 passes the threshold
    times[1] = _t(0, 36000)
    assert village_coverage_over(POINTS, CAMS, times)[0].covered_points == 0
    assert village_coverage_over(POINTS, CAMS, times, threshold=Fraction(9498, 10000))[0].covered_points == 1
    higher = village_coverage_over(POINTS, CAMS, times, threshold=0.96)
    assert [r.covered_points for r in higher] == [0, 0, 0, 1]


@pytest.mark.parametrize("states", [
    STATES,
    {},  # nothing known: nothing covered, still built
    {cid: "online" for cid in range(1, 8)},
    {1: "unknown", 2: "offline", 3: "excluded", 5: "degraded", 7: "online"},
])
def test_the_collector_s_columns_give_the_same_coverage_as_the_camera_refs(states: dict[int, str]) -> None:
    """A running collector keeps the plan as columns (collector.accounting.plan): the same figures."""
    plan = CameraPlan.of(POINTS, CAMS)
    assert len(plan) == len(CAMS)
    assert plan.coverage(states) == village_coverage(POINTS, CAMS, states)
    expected = {c.village for c in CAMS if states.get(c.camera_id) == "offline"}
    assert plan.villages_with(states, "offline") == expected
