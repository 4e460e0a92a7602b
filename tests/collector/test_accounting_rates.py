"""Time-weighted availability: table tests with hand-computed seconds, plus properties.

Unless a row says otherwise: period P = [0h, 10h) after T0, now = 12h (P is over), camera C1 in
village V1, township T1, county K. Columns: online, intact, eligible, excluded, unknown, offline
(seconds); first with exclusions, then without.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.accounting import (
    CameraRef,
    CameraTime,
    ExclusionSpan,
    Level,
    Period,
    StateSpan,
    aggregate,
    camera_availability,
    camera_times,
    rates_by,
    round_ratio,
)

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
H = 3600
C1 = CameraRef(1, point_id=10, village="V1", township="T1", county="K", contractor="A")


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def s(state: str, start: float, end: float | None, cam: int = 1) -> StateSpan:
    return StateSpan(cam, state, h(start), None if end is None else h(end))


def cam_ex(start: float, end: float | None, cam: int = 1) -> ExclusionSpan:
    return ExclusionSpan(h(start), None if end is None else h(end), camera_id=cam)


def region_ex(start: float, end: float | None, code: str) -> ExclusionSpan:
    return ExclusionSpan(h(start), None if end is None else h(end), region_code=code)


P = Period(h(0), h(10))

# (id, spans, exclusions, now_h, with: (on, intact, elig, excl, unk, off), without: (...))
CASES = [
    ("all online", [s("online", 0, 10)], [], 12,
     (10 * H, 10 * H, 10 * H, 0, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
    # collector down 4h..6h: no span there; 4h on + 4h off, 2h unknown leaves both sides
    ("gap while collector down", [s("online", 0, 4), s("offline", 6, 10)], [], 12,
     (4 * H, 4 * H, 8 * H, 0, 2 * H, 4 * H), (4 * H, 4 * H, 8 * H, 0, 2 * H, 4 * H)),
    ("explicit unknown span", [s("online", 0, 4), s("unknown", 4, 6), s("offline", 6, 10)], [], 12,
     (4 * H, 4 * H, 8 * H, 0, 2 * H, 4 * H), (4 * H, 4 * H, 8 * H, 0, 2 * H, 4 * H)),
    # online -2h..3h clipped to 0..3 (3h); offline 3h..12h clipped to 3..10 (7h)
    ("spans cross both period edges", [s("online", -2, 3), s("offline", 3, 12)], [], 12,
     (3 * H, 3 * H, 10 * H, 0, 0, 7 * H), (3 * H, 3 * H, 10 * H, 0, 0, 7 * H)),
    # now = 5h: window 0..5; open offline span 2h..now = 3h
    ("open span, now inside period", [s("online", 0, 2), s("offline", 2, None)], [], 5,
     (2 * H, 2 * H, 5 * H, 0, 0, 3 * H), (2 * H, 2 * H, 5 * H, 0, 0, 3 * H)),
    # degraded 6h..10h counts online (10h) but not intact (6h)
    ("degraded online not intact", [s("online", 0, 6), s("degraded", 6, 10)], [], 12,
     (10 * H, 6 * H, 10 * H, 0, 0, 0), (10 * H, 6 * H, 10 * H, 0, 0, 0)),
    # added at 4h: 0..4 has no span -> 4h unknown, 6h online
    ("camera added mid-period", [s("online", 4, None)], [], 12,
     (6 * H, 6 * H, 6 * H, 0, 4 * H, 0), (6 * H, 6 * H, 6 * H, 0, 4 * H, 0)),
    # retired at 5h (state excluded after): 3h on + 2h off eligible, 5h unknown
    ("retired mid-period, excluded state",
     [s("online", 0, 3), s("offline", 3, 5), s("excluded", 5, None)], [], 12,
     (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H), (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H)),
    ("retired mid-period, absent after", [s("online", 0, 3), s("offline", 3, 5)], [], 12,
     (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H), (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H)),
    # exclusions: camera 1..3, village 2..4, township 3.5..5 -> union 1..5 = 4h, counted once;
    # other county / other camera ignored. online 0..2 minus 1..5 = 1h; offline 2..10 minus = 5h.
    ("overlapping camera+village+township exclusions",
     [s("online", 0, 2), s("offline", 2, 10)],
     [cam_ex(1, 3), region_ex(2, 4, "V1"), region_ex(3.5, 5, "T1"), region_ex(0, 10, "K2"),
      cam_ex(0, 10, cam=2)], 12,
     (1 * H, 1 * H, 6 * H, 4 * H, 0, 5 * H), (2 * H, 2 * H, 10 * H, 0, 0, 8 * H)),
    # gap 4..6, exclusion 5..7 wins its overlap: excluded 2h, unknown 4..5 = 1h, offline 7..10 = 3h
    ("exclusion over an unknown gap", [s("online", 0, 4), s("offline", 6, 10)], [cam_ex(5, 7)], 12,
     (4 * H, 4 * H, 7 * H, 2 * H, 1 * H, 3 * H), (4 * H, 4 * H, 8 * H, 0, 2 * H, 4 * H)),
    # exclusions -1..1 (crosses start) and 9..open (county-wide): 1h + 1h excluded
    ("exclusions cross edges, open-ended", [s("online", 0, 10)],
     [cam_ex(-1, 1), region_ex(9, None, "K")], 12,
     (8 * H, 8 * H, 8 * H, 2 * H, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
    ("global exclusion", [s("offline", 0, 10)], [ExclusionSpan(h(2), h(3))], 12,
     (0, 0, 9 * H, 1 * H, 0, 9 * H), (0, 0, 10 * H, 0, 0, 10 * H)),
    ("no spans: all unknown", [], [], 12, (0, 0, 0, 0, 10 * H, 0), (0, 0, 0, 0, 10 * H, 0)),
    ("excluded all period", [s("online", 0, 10)], [cam_ex(-5, 15)], 12,
     (0, 0, 0, 10 * H, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
    ("now before period", [s("online", -5, None)], [], -1, (0,) * 6, (0,) * 6),
    # now = 5h: offline 6..8 starts after now, ignored; 3..5 unknown (2h)
    ("span after now ignored", [s("online", 0, 3), s("offline", 6, 8)], [], 5,
     (3 * H, 3 * H, 3 * H, 0, 2 * H, 0), (3 * H, 3 * H, 3 * H, 0, 2 * H, 0)),
    # overlapping spans of one camera: the later start cuts the earlier: on 0..4, off 4..10
    ("overlapping spans, later wins", [s("online", 0, 6), s("offline", 4, 10)], [], 12,
     (4 * H, 4 * H, 10 * H, 0, 0, 6 * H), (4 * H, 4 * H, 10 * H, 0, 0, 6 * H)),
    ("other camera's spans ignored", [s("online", 0, 10), s("offline", 0, 10, cam=2)], [], 12,
     (10 * H, 10 * H, 10 * H, 0, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
]


def _tuple(t: CameraTime) -> tuple[int, ...]:
    fields = (t.online_s, t.intact_s, t.eligible_s, t.excluded_s, t.unknown_s, t.offline_s)
    assert all(f == int(f) for f in fields)
    return tuple(int(f) for f in fields)


@pytest.mark.parametrize(("spans", "excl", "now", "with_", "without"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_camera_availability_table(
    spans: list[StateSpan], excl: list[ExclusionSpan], now: float,
    with_: tuple[int, ...], without: tuple[int, ...],
) -> None:
    got = camera_availability(spans, excl, C1, P, h(now))
    got_raw = camera_availability(spans, excl, C1, P, h(now), apply_exclusions=False)
    assert _tuple(got) == with_
    assert _tuple(got_raw) == without
    # the same numbers through the bulk path
    both = camera_times([C1], spans, excl, P, h(now))[1]
    assert (both.with_exclusions, both.without_exclusions) == (got, got_raw)


def test_ratios_of_a_camera() -> None:
    t = camera_availability([s("online", 0, 2), s("offline", 2, 10)],
                            [cam_ex(1, 3), region_ex(2, 4, "V1"), region_ex(3.5, 5, "T1")], C1, P, h(12))
    assert t.ratio == Fraction(1, 6) and round_ratio(t.ratio) == round_ratio(Fraction(1667, 10000))
    assert camera_availability([], [], C1, P, h(12)).ratio is None  # never invent 100%


@pytest.mark.parametrize(
    ("online", "eligible", "expected"),
    [
        (3805, 4000, "0.9513"),  # 0.95125 exactly: the tie goes up
        # 0.95005 exactly; as a float it is 0.95004999..., which round(x, 4) makes 0.95.
        # Integer microseconds keep the tie, half up gives 0.9501.
        (19001, 20000, "0.9501"),
        (19000, 20000, "0.9500"),
        (1, 3, "0.3333"),
        (2, 3, "0.6667"),
    ],
)
def test_rounding_half_up_from_integer_seconds(online: int, eligible: int, expected: str) -> None:
    spans = [StateSpan(1, "online", T0, T0 + dt.timedelta(seconds=online)),
             StateSpan(1, "offline", T0 + dt.timedelta(seconds=online), None)]
    period = Period(T0, T0 + dt.timedelta(seconds=eligible))
    t = camera_availability(spans, [], C1, period, h(24))
    assert str(round_ratio(t.ratio)) == expected
    row = aggregate("camera", [C1], camera_times([C1], spans, [], period, h(24)))[0]
    assert str(row.ratio) == expected


def test_rounding_from_integers_equals_rounding_the_fraction() -> None:
    from collector.accounting import round_us_ratio

    cases = [(3805, 4000), (19001, 20000), (19000, 20000), (1, 3), (2, 3), (0, 7), (7, 7), (5, 0),
             (95_125_000_000, 100_000_000_000), (-1, 3)]
    for num, den in cases:
        want = None if den == 0 else round_ratio(Fraction(num, den))
        assert round_us_ratio(num, den) == want and str(round_us_ratio(num, den)) == str(want), (num, den)


def test_float_rounding_would_be_wrong() -> None:
    assert round(19001 / 20000, 4) == 0.95  # why ratios are never floats here


def test_microsecond_precision_is_exact() -> None:
    spans = [StateSpan(1, "online", T0, T0 + dt.timedelta(microseconds=1)),
             StateSpan(1, "offline", T0 + dt.timedelta(microseconds=1), None)]
    t = camera_availability(spans, [], C1, Period(T0, T0 + dt.timedelta(seconds=3)), h(12))
    assert str(t.online_s) == "0.000001" and t.offline_s + t.online_s == 3
    assert t.ratio == Fraction(1, 3_000_000)


# Aggregation: C1, C2 at point 10 in V1; C3 in V2; all in T1 except C4 (V3, T2); county K.
C2 = CameraRef(2, 10, "V1", "T1", "K", contractor="B")
C3 = CameraRef(3, 30, "V2", "T1", "K", contractor="A")
C4 = CameraRef(4, 40, "V3", "T2", "K", contractor=None)
FLEET = [C1, C2, C3, C4]
FLEET_SPANS = [
    s("online", 0, 10, cam=1),                             # on 10h, elig 10h
    s("online", 0, 5, cam=2), s("offline", 5, 10, cam=2),  # excl 5..7: on 5h, off 3h, elig 8h
    s("degraded", 0, 10, cam=3),                           # on 10h, intact 0, elig 10h
]                                                          # C4: no span, elig 0
FLEET_EXCL = [cam_ex(5, 7, cam=2)]

# (level, key, cameras, online_h, eligible_h, ratio, intact, ratio without excl, intact without)
AGG = [
    # V1: on 10+5=15h / elig 10+8=18h = 0.83333 -> 0.8333; intact the same (no degraded);
    # without exclusions C2 elig 10h: 15/20 = 0.75
    (Level.VILLAGE, "V1", 2, 15, 18, "0.8333", "0.8333", "0.7500", "0.7500"),
    (Level.VILLAGE, "V2", 1, 10, 10, "1.0000", "0.0000", "1.0000", "0.0000"),
    (Level.VILLAGE, "V3", 1, 0, 0, None, None, None, None),
    # T1: 25h / 28h = 0.892857 -> 0.8929; intact (C3 degraded) 15/28 = 0.535714 -> 0.5357;
    # without: 25/30 = 0.83333 -> 0.8333, intact 15/30 = 0.5
    (Level.TOWNSHIP, "T1", 3, 25, 28, "0.8929", "0.5357", "0.8333", "0.5000"),
    (Level.TOWNSHIP, "T2", 1, 0, 0, None, None, None, None),
    (Level.COUNTY, "K", 4, 25, 28, "0.8929", "0.5357", "0.8333", "0.5000"),
    (Level.POINT, 10, 2, 15, 18, "0.8333", "0.8333", "0.7500", "0.7500"),
    # contractor A = C1 + C3: 20/20, intact 10/20; B = C2: 5/8 = 0.625; C4 has none: no row
    (Level.CONTRACTOR, "A", 2, 20, 20, "1.0000", "0.5000", "1.0000", "0.5000"),
    (Level.CONTRACTOR, "B", 1, 5, 8, "0.6250", "0.6250", "0.5000", "0.5000"),
    (Level.CAMERA, 2, 1, 5, 8, "0.6250", "0.6250", "0.5000", "0.5000"),
]


@pytest.mark.parametrize(("level", "key", "n", "on", "el", "r", "ir", "r0", "ir0"), AGG)
def test_rates_by_table(level: Level, key: int | str, n: int, on: int, el: int,
                        r: str | None, ir: str | None, r0: str | None, ir0: str | None) -> None:
    rows = {row.key: row for row in rates_by(level, FLEET, FLEET_SPANS, FLEET_EXCL, P, h(12))}
    row = rows[key]
    assert (row.cameras, row.online_s, row.eligible_s) == (n, on * H, el * H)
    got = (row.ratio, row.intact_ratio, row.ratio_without_exclusions,
           row.intact_ratio_without_exclusions)
    assert tuple(None if x is None else str(x) for x in got) == (r, ir, r0, ir0)


def test_rates_by_keys_and_levels() -> None:
    def keys(level: str) -> list[int | str]:
        return [r.key for r in rates_by(level, FLEET, FLEET_SPANS, FLEET_EXCL, P, h(12))]

    assert keys("camera") == [1, 2, 3, 4]
    assert keys("contractor") == ["A", "B"]  # the camera without contractor has no row
    assert keys("village") == ["V1", "V2", "V3"]
    with pytest.raises(ValueError):
        keys("province")


def test_state_validation() -> None:
    with pytest.raises(ValueError):
        StateSpan(1, "up", T0)
    with pytest.raises(ValueError):
        ExclusionSpan(T0, None, camera_id=1, region_code="V1")
    with pytest.raises(ValueError):
        Period(h(2), h(1))


# ---- properties --------------------------------------------------------------------------------

STATES = ["online", "degraded", "offline", "unknown", "excluded"]
_span = st.tuples(st.sampled_from(STATES), st.integers(-30, 150), st.one_of(st.none(), st.integers(0, 60)))
_excl = st.tuples(st.integers(-30, 150), st.one_of(st.none(), st.integers(0, 60)),
                  st.sampled_from(["cam", "V1", "T1", "K", "other"]))


def _m(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _spans(cam: int, raw: list[tuple[str, int, int | None]]) -> list[StateSpan]:
    return [StateSpan(cam, st_, _m(a), None if n is None else _m(a + n)) for st_, a, n in raw]


def _exclusions(cam: int, raw: list[tuple[int, int | None, str]]) -> list[ExclusionSpan]:
    out = []
    for a, n, scope in raw:
        end = None if n is None else _m(a + n)
        if scope == "cam":
            out.append(ExclusionSpan(_m(a), end, camera_id=cam))
        else:
            out.append(ExclusionSpan(_m(a), end, region_code=scope))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_span, max_size=8), st.lists(_excl, max_size=5),
       st.integers(-20, 100), st.integers(0, 120), st.integers(-20, 200))
def test_partition_and_brute_force(spans_raw, excl_raw, p0: int, plen: int, now: int) -> None:
    spans, excl = _spans(1, spans_raw), _exclusions(1, excl_raw)
    period = Period(_m(p0), _m(p0 + plen))
    window = max(0, min(p0 + plen, now) - p0) * 60
    t = camera_availability(spans, excl, C1, period, _m(now))
    t0 = camera_availability(spans, excl, C1, period, _m(now), apply_exclusions=False)
    for x in (t, t0):
        assert x.online_s + x.offline_s + x.unknown_s + x.excluded_s == window
        assert x.eligible_s == x.online_s + x.offline_s and 0 <= x.intact_s <= x.online_s
        assert min(x.unknown_s, x.offline_s, x.excluded_s) >= 0
    assert t0.excluded_s == 0 and t.eligible_s <= t0.eligible_s

    # brute force, minute by minute: the state of the last span started at or before m (ties:
    # the later given), when it has not ended; exclusions first.
    order = sorted(range(len(spans_raw)), key=lambda i: spans_raw[i][1])
    expect = {"online": 0, "intact": 0, "offline": 0, "excluded": 0}
    for m in range(p0, min(p0 + plen, now)):
        if any(a <= m and (n is None or m < a + n) and scope != "other" for a, n, scope in excl_raw):
            expect["excluded"] += 60
            continue
        started = [i for i in order if spans_raw[i][1] <= m]
        if not started:
            continue
        state, a, n = spans_raw[started[-1]]
        if n is not None and m >= a + n:
            continue
        if state in ("online", "degraded"):
            expect["online"] += 60
            expect["intact"] += 60 * (state == "online")
        elif state == "offline":
            expect["offline"] += 60
    assert (t.online_s, t.intact_s, t.offline_s, t.excluded_s) == (
        expect["online"], expect["intact"], expect["offline"], expect["excluded"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.lists(_span, max_size=5), st.lists(_excl, max_size=2),
                          st.sampled_from(["V1", "V2"])), min_size=1, max_size=6),
       st.integers(0, 150))
def test_aggregate_equals_sum_based_ratio(cams_raw, now: int) -> None:
    cams, spans, excl = [], [], []
    for i, (spans_raw, excl_raw, village) in enumerate(cams_raw):
        cams.append(CameraRef(i, i, village, "T1", "K", contractor="A"))
        spans += _spans(i, spans_raw)
        excl += _exclusions(i, excl_raw)
    period = Period(_m(0), _m(120))
    per_cam = {c.camera_id: camera_availability(spans, excl, c, period, _m(now)) for c in cams}
    for row in rates_by("village", cams, spans, excl, period, _m(now)):
        members = [per_cam[c.camera_id] for c in cams if c.village == row.key]
        on = sum(Fraction(x.online_s) for x in members)
        el = sum(Fraction(x.eligible_s) for x in members)
        assert row.cameras == len(members)
        assert row.ratio == (round_ratio(on / el) if el else None)
    county = rates_by("county", cams, spans, excl, period, _m(now))[0]
    assert county.eligible_s == sum(x.eligible_s for x in per_cam.values())
