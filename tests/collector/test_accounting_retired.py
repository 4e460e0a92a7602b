"""A retired camera's time after its retirement is no part of the accounting: neither known nor
unknown, nor online/offline, nor excluded (``CameraRef.retired_at``, from ``cameras.retired_at``).

Tables of hand-computed cases for the pure rules (times, ±, snapshot instants, a group's known
share), then the database sums against the pure rules on random timelines with cameras retired
before, inside and after the periods (SQLite and PostgreSQL, with and without the daily rollups).
The hand-computed month through ``camwatch rates``, the API and the report is in
``tests/collector/test_rates_retired.py``.

Pure cases: period P = [0h, 10h) after T0, now = 12h unless a row says otherwise.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import text

from collector.accounting import (
    CameraRef,
    CameraTime,
    ExclusionSpan,
    Level,
    Period,
    StateSpan,
    camera_availability,
    camera_times,
    index_exclusions,
    rates_by,
    snapshot_rates_by,
    to_us,
)
from collector.accounting.sql.camera_times import load_camera_refs, sql_camera_times
from collector.accounting.sql.group_rates import sql_group_times, sql_rates
from collector.accounting.sql.load import load_accounting
from collector.accounting.sql.rollups import build_rollups
from collector.reports.details import cause_times
from collector.reports.snapshot_sums import snapshot_ratios
from tests.collector.test_accounting_sql import (
    DAY_US,
    PERIODS,
    all_exclusions,
    all_spans,
    at,
    inventory_db,
    store_random,
)

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
H = 3600
P = Period(T0, T0 + dt.timedelta(hours=10))


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def cam(retired_h: float | None, *, retired: bool = True, cid: int = 1, village: str = "V1") -> CameraRef:
    return CameraRef(cid, cid, village, "T1", "K", "A", retired=retired,
                     retired_at=None if retired_h is None else h(retired_h))


def s(state: str, start: float, end: float | None, unc_s: int = 0, cid: int = 1) -> StateSpan:
    return StateSpan(cid, state, h(start), None if end is None else h(end), unc_s * 1_000_000)


def ex(start: float, end: float | None) -> ExclusionSpan:
    return ExclusionSpan(h(start), None if end is None else h(end), camera_id=1)


@pytest.mark.parametrize(("retired", "at_h", "hi_h", "want_h"), [
    (True, 5, 10, 5),  # retired inside the window: it ends there
    (True, -3, 10, -3),  # before the window: before its start (nothing of it)
    (True, 15, 10, 10),  # after: the whole window
    (True, None, 10, 10),  # no time recorded: as in service
    (False, 5, 10, 10),  # a time on a camera in service cuts nothing
    (True, 10, 10, 10),
])
def test_accounted_until(retired: bool, at_h: float | None, hi_h: float, want_h: float) -> None:
    assert cam(at_h, retired=retired).accounted_until(to_us(h(hi_h))) == to_us(h(want_h))


# (id, camera, spans, exclusions, now_h, with: (on, intact, elig, excl, unk, off), without: (...))
CASES = [
    ("retired at 5h, state excluded after: nothing unknown", cam(5),
     [s("online", 0, 3), s("offline", 3, 5), s("excluded", 5, None)], [], 12,
     (3 * H, 3 * H, 5 * H, 0, 0, 2 * H), (3 * H, 3 * H, 5 * H, 0, 0, 2 * H)),
    ("the same camera in service: 5h unknown", cam(5, retired=False),
     [s("online", 0, 3), s("offline", 3, 5), s("excluded", 5, None)], [], 12,
     (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H), (3 * H, 3 * H, 5 * H, 0, 5 * H, 2 * H)),
    # the collector saw the retirement 3 h late, the camera already taken down: not its downtime
    ("offline after its retirement: not counted", cam(5),
     [s("online", 0, 5), s("offline", 5, 8), s("excluded", 8, None)], [], 12,
     (5 * H, 5 * H, 5 * H, 0, 0, 0), (5 * H, 5 * H, 5 * H, 0, 0, 0)),
    ("online after its retirement: not counted", cam(4),
     [s("degraded", 0, 9), s("excluded", 9, None)], [], 12,
     (4 * H, 0, 4 * H, 0, 0, 0), (4 * H, 0, 4 * H, 0, 0, 0)),
    # unknown before the retirement (collector down 2h..4h) is still unknown time
    ("unknown before it stays unknown", cam(6),
     [s("online", 0, 2), s("online", 4, 6), s("excluded", 6, None)], [], 12,
     (4 * H, 4 * H, 4 * H, 0, 2 * H, 0), (4 * H, 4 * H, 4 * H, 0, 2 * H, 0)),
    ("retired before the period: nothing", cam(-2), [s("online", -5, -2), s("excluded", -2, None)], [], 12,
     (0,) * 6, (0,) * 6),
    ("retired at the period's start: nothing", cam(0), [s("online", -5, None)], [], 12, (0,) * 6, (0,) * 6),
    ("retired after the period: all of it", cam(15), [s("online", 0, None)], [], 12,
     (10 * H, 10 * H, 10 * H, 0, 0, 0), (10 * H, 10 * H, 10 * H, 0, 0, 0)),
    ("retired without a time: as in service", cam(None), [s("online", 0, 5), s("excluded", 5, None)], [], 12,
     (5 * H, 5 * H, 5 * H, 0, 5 * H, 0), (5 * H, 5 * H, 5 * H, 0, 5 * H, 0)),
    # exclusion 3h..8h across the retirement at 5h: 2h excluded, not 5h
    ("exclusion across the retirement: excluded only to it", cam(5), [s("online", 0, None)], [ex(3, 8)], 12,
     (3 * H, 3 * H, 3 * H, 2 * H, 0, 0), (5 * H, 5 * H, 5 * H, 0, 0, 0)),
    ("exclusion after the retirement: nothing", cam(5), [s("offline", 0, None)], [ex(6, None)], 12,
     (0, 0, 5 * H, 0, 0, 5 * H), (0, 0, 5 * H, 0, 0, 5 * H)),
    # now = 6h, retired at 8h: the window ends at now as for any camera
    ("now before the retirement", cam(8), [s("online", 0, None)], [], 6,
     (6 * H, 6 * H, 6 * H, 0, 0, 0), (6 * H, 6 * H, 6 * H, 0, 0, 0)),
]


def _tuple(t: CameraTime) -> tuple[int, ...]:
    fields = (t.online_s, t.intact_s, t.eligible_s, t.excluded_s, t.unknown_s, t.offline_s)
    assert all(f == int(f) for f in fields)
    return tuple(int(f) for f in fields)


@pytest.mark.parametrize(("camera", "spans", "excl", "now", "with_", "without"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_retired_camera_times(camera: CameraRef, spans: list[StateSpan], excl: list[ExclusionSpan], now: float,
                              with_: tuple[int, ...], without: tuple[int, ...]) -> None:
    got = camera_times([camera], spans, excl, P, h(now))[1]
    assert (_tuple(got.with_exclusions), _tuple(got.without_exclusions)) == (with_, without)
    assert camera_availability(spans, excl, camera, P, h(now)) == got.with_exclusions


@pytest.mark.parametrize(("retired_h", "want_s"), [
    (5, 10 + 20),  # the transitions at 2h and 4h count, the ones at 5h and 7h do not
    (4.5, 10 + 20),
    (3, 10),
    (None, 10 + 20 + 40 + 80),  # in service: all four
    (-1, 0),
])
def test_transitions_after_the_retirement_carry_no_uncertainty(retired_h: float | None, want_s: int) -> None:
    spans = [s("online", 0, 2), s("offline", 2, 4, unc_s=10), s("online", 4, 5, unc_s=20),
             s("offline", 5, 7, unc_s=40), s("excluded", 7, None, unc_s=80)]
    got = camera_times([cam(retired_h, retired=retired_h is not None)], spans, [], P, h(12))[1]
    assert got.with_exclusions.uncertainty_s == got.without_exclusions.uncertainty_s == want_s


def test_a_group_known_share_not_lowered_by_a_retirement() -> None:
    """Township T1: C1 in service online all 10 h; C2 offline 1 h of the 4 h before its retirement
    at 4 h, then excluded. Known 14 h of 14 h (not of 20 h); rate 13/14 = 92.86% (its 6 h after
    the retirement, seen offline in part, count neither way)."""
    c1, c2 = cam(None, retired=False, cid=1), cam(4, cid=2, village="V2")
    spans = [s("online", 0, None, cid=1), s("online", 0, 3, cid=2), s("offline", 3, 6, cid=2),
             s("excluded", 6, None, cid=2)]
    (row,) = rates_by(Level.TOWNSHIP, [c1, c2], spans, [], P, h(12))
    raw = row.time_without_exclusions
    assert (raw.eligible_s, raw.eligible_s + raw.unknown_s + raw.excluded_s) == (14 * H, 14 * H)
    assert row.ratio == Decimal("0.9286") and row.cameras == 2
    (before,) = rates_by(Level.TOWNSHIP, [c1, cam(4, retired=False, cid=2, village="V2")], spans, [], P, h(12))
    assert before.ratio == Decimal("0.8125")  # what it was: 13/16, and 16 h known of 20 h


# check instants of local (Shanghai) days 11-02 and 11-03: 01:00, 07:00, 13:00 UTC each day
SNAP_PERIOD = Period(dt.datetime(2026, 11, 1, 16, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, 16, tzinfo=dt.UTC))


@pytest.mark.parametrize(("retired_utc", "want"), [
    (None, Decimal("0.5000")),  # C2 offline at every instant: 1/2 each
    (dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), Decimal("0.8333")),  # out from 11-02 13:00: (2/3 + 1) / 2
    (dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC), Decimal("0.9167")),  # at an instant: out from it: (5/6 + 1) / 2
    (dt.datetime(2026, 11, 1, 0, tzinfo=dt.UTC), Decimal("1.0000")),  # before the period: never counted
])
def test_snapshot_leaves_a_camera_out_from_its_retirement(retired_utc: dt.datetime | None, want: Decimal) -> None:
    c1 = CameraRef(1, 1, "V1", "T1", "K")
    c2 = CameraRef(2, 2, "V1", "T1", "K", retired=retired_utc is not None, retired_at=retired_utc)
    spans = [StateSpan(1, "online", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
             StateSpan(2, "offline", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))]
    now = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    (row,) = snapshot_rates_by(Level.VILLAGE, [c1, c2], spans, [], SNAP_PERIOD, now)
    if retired_utc == dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC):  # 01:00 counted, 07:00 and 13:00 not
        assert [s.eligible for s in row.days[0].samples] == [2, 1, 1]
    assert row.ratio == want


async def _retire_some(engine, rnd: random.Random, cams: tuple[CameraRef, ...]) -> dict[int, dt.datetime | None]:  # type: ignore[no-untyped-def]
    """Retire a fifth of the cameras at random times around the periods (one without a
    ``retired_at``: its ``updated_at`` then); their timelines go on after it (seen late, or never)."""
    picked = rnd.sample([c.camera_id for c in cams], len(cams) // 5)
    out: dict[int, dt.datetime | None] = {}
    async with engine.begin() as conn:
        for k, cid in enumerate(picked):
            when = at(rnd.randrange(-4 * DAY_US, 14 * DAY_US))
            if k == 0:
                await conn.execute(text("UPDATE cameras SET lifecycle = 'retired', retired_at = NULL,"
                                        " updated_at = :u WHERE id = :c"), {"u": _param(engine, when), "c": cid})
            else:
                await conn.execute(text("UPDATE cameras SET lifecycle = 'retired', retired_at = :r WHERE id = :c"),
                                   {"r": _param(engine, when), "c": cid})
            out[cid] = when
    return out


def _param(engine, when: dt.datetime) -> object:  # type: ignore[no-untyped-def]
    return when.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else when


@pytest.mark.parametrize("seed", [11])
async def test_database_sums_equal_the_pure_rule_with_retirements(db_url: str, seed: int) -> None:
    async with inventory_db(db_url) as (engine, _):
        rnd = random.Random(seed)
        async with engine.connect() as conn:
            before = await load_camera_refs(conn)
        retired = await _retire_some(engine, rnd, before)
        await store_random(engine, rnd, before)
        async with engine.connect() as conn:
            cams = await load_camera_refs(conn)
        assert {c.camera_id: c.retired_at for c in cams if c.retired} == retired  # the loader reads what was written
        excl = await all_exclusions(engine)
        spans = await all_spans(engine)
        cut_somewhere = snap_cut = stale_read = 0
        plain = [CameraRef(c.camera_id, c.point_id, c.village, c.township, c.county, c.contractor) for c in cams]
        for built in (False, True):
            if built:
                await build_rollups(engine, at(12 * DAY_US + 5 * 3_600_000_000), lag=dt.timedelta(hours=1))
            for period, now in PERIODS:
                data = await load_accounting(engine, period)
                assert sorted((c.camera_id, c.retired, c.retired_at) for c in data.cameras) == sorted(
                    (c.camera_id, c.retired, c.retired_at) for c in cams)
                pure = camera_times(cams, spans, excl, period, now)
                got = await sql_camera_times(engine, period, now, exclusions=excl, cameras=cams)
                bad = [cid for cid in pure if got[cid] != pure[cid]]
                assert not bad, (built, period, now, [(got[c], pure[c]) for c in bad[:1]])
                in_service = camera_times([c for c in plain if c.camera_id in retired], spans, excl, period, now)
                cut_somewhere += sum(1 for cid, t in in_service.items() if t != pure[cid])
                for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CONTRACTOR):
                    want = rates_by(level, cams, spans, excl, period, now)
                    assert await sql_rates(engine, level, period, now, exclusions=excl) == want, (built, level, period)
                    light = (await sql_group_times(engine, period, now, exclusions=excl)).ratio_rows(level)
                    assert [(r.key, r.cameras, r.ratio, r.ratio_without_exclusions, r.uncertainty,
                             int(r.time_without_exclusions.eligible_s * 1_000_000),
                             int((r.time_without_exclusions.eligible_s + r.time_without_exclusions.unknown_s
                                  + r.time_without_exclusions.excluded_s) * 1_000_000)) for r in want] == [
                        (r.key, r.cameras, r.ratio, r.ratio_without_exclusions, r.uncertainty, r.known_us, r.total_us)
                        for r in light]
                if not built:  # (the report's snapshot counts and fault causes read the intervals)
                    # open spans cut by a later one that ended before the period: read alone, they would count
                    uncut = [x for x in spans if x.start < period.end and (x.end is None or x.end > period.start)]
                    stale_read += sum(1 for cid, t in camera_times(cams, uncut, excl, period, now).items() if t != pure[cid])
                    # the snapshot rule on every span, as `rates --method snapshot` gives it from the spans it reads
                    # (without exclusions too: a township-wide one sends all its cameras the pure way)
                    for x in (excl, []):
                        snap = {r.key: r.ratio for r in snapshot_rates_by(Level.TOWNSHIP, cams, spans, x, period, now)}
                        assert snap == {r.key: r.ratio for r in snapshot_rates_by(Level.TOWNSHIP, cams, data.spans, x,
                                                                                  period, now)}
                        towns, _ = await snapshot_ratios(engine, cams, index_exclusions(x), period, now,
                                                         check_times=(dt.time(9), dt.time(15), dt.time(21)),
                                                         tz="Asia/Shanghai", parents=data.parents)
                        assert snap == {k: towns.get(k) for k in snap}
                        in_service_snap = snapshot_rates_by(Level.TOWNSHIP, plain, spans, x, period, now)
                        snap_cut += sum(1 for r in in_service_snap if r.ratio != snap[r.key])
                    causes = await cause_times(engine, period, now, cams, index_exclusions(excl))
                    assert {cid: sum(v.values()) for cid, v in causes.items() if sum(v.values())} == {
                        cid: int(t.with_exclusions.offline_s * 1_000_000) for cid, t in pure.items()
                        if t.with_exclusions.offline_s}
        assert cut_somewhere >= 10 and snap_cut >= 2  # the retirements did cut time off in these periods
        assert stale_read >= 2  # and the data has such stale spans

