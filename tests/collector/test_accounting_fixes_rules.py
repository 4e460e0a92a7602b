"""The assessors' three rules, as tables of hand-computed cases for the pure functions:

1. a rate is compared with its target as shown (rounded to 0.01 percentage points): the
   compliance of a rate and a camera's share of the coverage threshold alike;
2. a point (village) none of whose cameras has counted time, all excluded, is in no coverage
   denominator, and its 全覆盖 is no figure;
3. a camera's time begins when it entered monitoring (``CameraRef.monitored_from``), as it ends
   at its retirement: in the time, intact and snapshot rates.

Pure cases of 3: period P = [0h, 10h) after T0, now = 12h unless a row says otherwise.
The same through the database and ``camwatch rates`` / ``coverage``: test_accounting_fixes_db.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from collector.accounting import (
    CameraRef,
    CameraTime,
    ExclusionSpan,
    Level,
    Period,
    PointRef,
    StateSpan,
    camera_availability,
    compliant,
    rates_by,
    snapshot_rates_by,
    to_us,
    township_coverage,
    village_coverage_over,
)

# -- 1. compared as shown -------------------------------------------------------------------------

MONTH = 2_592_000  # seconds in November


@pytest.mark.parametrize(("ratio", "target", "want"), [
    (Fraction(MONTH * 1_000_000 - 129_729_600_000, MONTH * 1_000_000), Decimal("0.95"), True),  # 94.995 % shows 95.00 %
    (Fraction(94995, 100000), Fraction(95, 100), True),  # the same, the target as a fraction
    (Fraction(94994999, 100000000), Decimal("0.95"), False),  # 94.994999 % shows 94.99 %
    (Fraction(9499, 10000), Decimal("0.95"), False),
    (Decimal("0.9500"), Decimal("0.95"), True),  # already rounded: the same verdict
    (Decimal("0.94995"), Decimal("0.95"), True),
    (Fraction(1), Decimal(1), True),
    (Fraction(999995, 1000000), Decimal(1), True),  # 99.9995 % shows 100.00 %
    (Fraction(0), Decimal(0), True),
    (None, Decimal("0.95"), None),  # nothing eligible: no verdict
])
def test_compliant_compares_the_rate_as_shown(ratio: Fraction | Decimal | None, target: Decimal | Fraction,
                                              want: bool | None) -> None:
    assert compliant(ratio, target) is want


def _t(online_s: str, eligible_s: str, excluded_s: str = "0", unknown_s: str = "0") -> CameraTime:
    on, el = Decimal(online_s), Decimal(eligible_s)
    return CameraTime(on, on, el, Decimal(excluded_s), Decimal(unknown_s), el - on)


def _cam(cid: int, point: int, village: str, township: str = "T1", retired: bool = False) -> CameraRef:
    return CameraRef(cid, point, village, township, "K", retired=retired)


@pytest.mark.parametrize(("online_s", "covered"), [
    ("2462270.4", True),  # offline 129,729.6 s: exactly 94.995 %, shown 95.00 % (was not covered)
    ("2462270.3", False),  # 94.9949996 %: shown 94.99 %
    ("2462400", True),  # exactly 95 %
    ("2592000", True),
    ("0", False),
])
def test_a_camera_covers_its_point_when_its_rate_as_shown_meets_the_threshold(online_s: str, covered: bool) -> None:
    rows = village_coverage_over([PointRef(1, "V")], [_cam(3, 1, "V")], {3: _t(online_s, "2592000")})
    assert (rows[0].covered_points, rows[0].fully_covered) == (int(covered), covered)


# -- 2. all excluded: in no denominator -----------------------------------------------------------

POINTS = [PointRef(1, "V1"), PointRef(2, "V1"),  # V1: one covered point, one all excluded
          PointRef(3, "V2"), PointRef(4, "V2"),  # V2: every point all excluded
          PointRef(5, "V3"),                     # V3: only unknown time (camwatch down): still counted
          PointRef(6, "V4"),                     # V4: all excluded but one camera with offline time
          PointRef(7, "V5"), PointRef(8, "V5"),  # V5: one covered point, one not built (counted)
          PointRef(9, "V6")]                     # V6: covered
CAMS = [_cam(1, 1, "V1"), _cam(2, 2, "V1"), _cam(3, 3, "V2"), _cam(4, 4, "V2"), _cam(5, 5, "V3"),
        _cam(6, 6, "V4"), _cam(7, 6, "V4"), _cam(8, 7, "V5"), _cam(9, 9, "V6", "T2"), _cam(10, 2, "V1", retired=True)]
TIMES = {1: _t("100", "100"), 2: _t("0", "0", excluded_s="100"), 3: _t("0", "0", excluded_s="100"),
         4: _t("0", "0", excluded_s="60", unknown_s="40"), 5: _t("0", "0", unknown_s="100"),
         6: _t("0", "0", excluded_s="100"), 7: _t("0", "10", excluded_s="90"), 8: _t("100", "100"),
         9: _t("100", "100"), 10: _t("100", "100")}  # (camera 10 retired: counts for nothing)
TOWNSHIP = {"V1": "T1", "V2": "T1", "V3": "T1", "V4": "T1", "V5": "T1", "V6": "T2"}

# village, planned, counted, covered, built, ratio shown, 全覆盖 shown, built ratio
VILLAGES = [
    ("V1", 2, 1, 1, 2, "1.0000", True, "1.0000"),  # P2 all excluded: left out, V1 fully covered
    ("V2", 2, 0, 0, 2, None, None, "1.0000"),  # nothing counted: "—", not 0 % and 否
    ("V3", 1, 1, 0, 1, "0.0000", False, "1.0000"),  # unknown only: counted, not covered (as before)
    ("V4", 1, 1, 0, 1, "0.0000", False, "1.0000"),  # camera 7's offline 10 s counts
    ("V5", 2, 2, 1, 1, "0.5000", False, "0.5000"),  # a point not built stays in the denominator
    ("V6", 1, 1, 1, 1, "1.0000", True, "1.0000"),
]


def test_a_point_or_village_all_excluded_is_in_no_coverage_denominator() -> None:
    rows = village_coverage_over(POINTS, CAMS, TIMES)
    got = [(v.village, v.planned_points, v.counted_points, v.covered_points, v.built_points,
            None if v.shown_ratio is None else str(v.shown_ratio), v.shown_fully_covered, str(v.built_ratio))
           for v in rows]
    assert got == VILLAGES
    # townships: V2 left out of T1's villages (4 counted of 5), its built figures kept
    towns = township_coverage(rows, TOWNSHIP)
    assert [(t.region, t.villages, t.planned_villages, t.fully_covered, t.fully_built, str(t.shown_ratio),
             str(t.built_ratio)) for t in towns] == [("T1", 4, 5, 1, 4, "0.2500", "0.8000"),
                                                      ("T2", 1, 1, 1, 1, "1.0000", "1.0000")]
    # a township none of whose villages counts: no figure
    alone = township_coverage([v for v in rows if v.village == "V2"], TOWNSHIP)
    assert [(t.villages, t.fully_covered, t.shown_ratio, str(t.built_ratio)) for t in alone] == [(0, 0, None, "1.0000")]


def test_the_reviewer_s_township_a_village_excluded_all_month() -> None:
    """丙镇 of two villages, 上村 under an approved region exclusion all month: 丙镇 100 % (1/1),
    not 50 % (1/2); the county 7/8, not 7/9."""
    points = [PointRef(i, f"V{i}") for i in range(1, 10)]
    cams = [_cam(i, i, f"V{i}", "丙镇" if i in (1, 2) else "甲镇") for i in range(1, 10)]
    times = {i: _t("100", "100") for i in range(1, 10)}
    times[2] = _t("0", "0", excluded_s="100")  # 上村
    times[9] = _t("0", "100")  # a village not covered elsewhere
    villages = village_coverage_over(points, cams, times)
    town = {t.region: t for t in township_coverage(villages, {f"V{i}": "丙镇" if i in (1, 2) else "甲镇" for i in range(1, 10)})}
    assert (town["丙镇"].villages, town["丙镇"].fully_covered, town["丙镇"].shown_ratio) == (1, 1, Decimal("1.0000"))
    county = township_coverage(villages, {f"V{i}": "K" for i in range(1, 10)})[0]
    assert (county.villages, county.fully_covered, county.shown_ratio) == (8, 7, Decimal("0.8750"))


# -- 3. a camera's time begins when it entered monitoring -----------------------------------------

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
H = 3600
P = Period(T0, T0 + dt.timedelta(hours=10))


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def cam(from_h: float | None, *, retired_h: float | None = None, cid: int = 1) -> CameraRef:
    return CameraRef(cid, cid, "V1", "T1", "K", "A", retired=retired_h is not None,
                     retired_at=None if retired_h is None else h(retired_h),
                     monitored_from=None if from_h is None else h(from_h))


def s(state: str, start: float, end: float | None, cid: int = 1) -> StateSpan:
    return StateSpan(cid, state, h(start), None if end is None else h(end))


def ex(start: float, end: float | None) -> ExclusionSpan:
    return ExclusionSpan(h(start), None if end is None else h(end), camera_id=1)


@pytest.mark.parametrize(("from_h", "lo_h", "want_h"), [
    (5, 0, 5), (-3, 0, 0), (15, 0, 15), (None, 0, 0), (0, 0, 0)])
def test_accounted_from(from_h: float | None, lo_h: float, want_h: float) -> None:
    assert cam(from_h).accounted_from(to_us(h(lo_h))) == to_us(h(want_h))


# (id, camera, spans, exclusions, now_h, with: (on, intact, elig, excl, unk, off), without: (...))
CASES = [
    ("added at 5h, online from then: all known", cam(5), [s("online", 5, None)], [], 12,
     (5 * H, 5 * H, 5 * H, 0, 0, 0), (5 * H, 5 * H, 5 * H, 0, 0, 0)),
    ("the same camera without the start: 5h unknown (the defect)", cam(None), [s("online", 5, None)], [], 12,
     (5 * H, 5 * H, 5 * H, 0, 5 * H, 0), (5 * H, 5 * H, 5 * H, 0, 5 * H, 0)),
    # no dodging the target: added dead, it is offline from its first probe
    ("added at 5h, offline all its life", cam(5), [s("offline", 5, None)], [], 12,
     (0, 0, 5 * H, 0, 0, 5 * H), (0, 0, 5 * H, 0, 0, 5 * H)),
    ("added at 5h, unknown 6h..7h after: still unknown", cam(5),
     [s("degraded", 5, 6), s("online", 7, None)], [], 12,
     (4 * H, 3 * H, 4 * H, 0, 1 * H, 0), (4 * H, 3 * H, 4 * H, 0, 1 * H, 0)),
    ("entered before the period: all of it", cam(-4), [s("online", -4, None)], [], 12,
     (10 * H, 10 * H, 10 * H, 0, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
    ("entered after the period: nothing", cam(11), [s("online", 11, None)], [], 12, (0,) * 6, (0,) * 6),
    ("entered after now: nothing", cam(8), [s("online", 8, None)], [], 6, (0,) * 6, (0,) * 6),
    # exclusion 2h..7h across the start at 5h: 2h excluded, not 5h
    ("exclusion across the start: excluded from it only", cam(5), [s("online", 5, None)], [ex(2, 7)], 12,
     (3 * H, 3 * H, 3 * H, 2 * H, 0, 0), (5 * H, 5 * H, 5 * H, 0, 0, 0)),
    ("exclusion before the start: nothing", cam(5), [s("offline", 5, None)], [ex(0, 4)], 12,
     (0, 0, 5 * H, 0, 0, 5 * H), (0, 0, 5 * H, 0, 0, 5 * H)),
    ("entered at 3h, retired at 8h: 5h", cam(3, retired_h=8), [s("online", 3, 8), s("excluded", 8, None)], [], 12,
     (5 * H, 5 * H, 5 * H, 0, 0, 0), (5 * H, 5 * H, 5 * H, 0, 0, 0)),
    ("retired before it entered: nothing", cam(6, retired_h=4), [s("online", 6, None)], [], 12, (0,) * 6, (0,) * 6),
]


def _secs(t: CameraTime) -> tuple[int, ...]:
    return tuple(int(v) for v in (t.online_s, t.intact_s, t.eligible_s, t.excluded_s, t.unknown_s, t.offline_s))


@pytest.mark.parametrize(("name", "camera", "spans", "excl", "now_h", "applied", "raw"), CASES, ids=[c[0] for c in CASES])
def test_camera_time_begins_when_it_entered_monitoring(name: str, camera: CameraRef, spans: list[StateSpan],
                                                       excl: list[ExclusionSpan], now_h: float,
                                                       applied: tuple[int, ...], raw: tuple[int, ...]) -> None:
    now = h(now_h)
    assert _secs(camera_availability(spans, excl, camera, P, now)) == applied
    assert _secs(camera_availability(spans, excl, camera, P, now, apply_exclusions=False)) == raw
    rows = rates_by(Level.VILLAGE, [camera], spans, excl, P, now)  # a group's known share: the same
    assert _secs(rows[0].time) == applied


def test_a_group_s_known_share_and_rates_with_a_camera_added_mid_period() -> None:
    """Camera 1 watched all 10 h (online), camera 2 added at 5h and offline all its life: known
    100 % (15 h of 15 h), rate 10/15 (not 10/15 with 5 h unknown: known 75 %), intact the same."""
    cams = [cam(None, cid=1), cam(5, cid=2)]
    spans = [s("online", -1, None, cid=1), s("offline", 5, None, cid=2)]
    row = rates_by(Level.VILLAGE, cams, spans, [], P, h(12))[0]
    assert (row.time.eligible_s, row.time.unknown_s) == (15 * H, 0)
    assert row.ratio == row.intact_ratio == Decimal("0.6667")


@pytest.mark.parametrize(("from_h", "want"), [
    # check times 09:00, 15:00, 21:00 Asia/Shanghai = 01:00, 07:00, 13:00 UTC of 11-01: 1h and 7h in P
    (None, [(1, 1), (1, 2)]),  # camera 2 without its start: OUT at 1h anyway (no span), offline at 7h
    (5, [(1, 1), (1, 2)]),  # entered at 5h: out at 1h, counted offline at 7h
    (8, [(1, 1), (1, 1)]),  # entered at 8h (its span a stale one before): out at both
])
def test_snapshots_leave_a_camera_out_before_it_entered(from_h: float | None, want: list[tuple[int, int]]) -> None:
    cams = [cam(None, cid=1), cam(from_h, cid=2)]
    spans = [s("online", -1, None, cid=1), s("offline", 5, None, cid=2)]
    row = snapshot_rates_by(Level.VILLAGE, cams, spans, [], P, h(12))[0]
    assert [(x.online, x.eligible) for d in row.days for x in d.samples] == want
