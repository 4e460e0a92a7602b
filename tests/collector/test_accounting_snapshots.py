"""Snapshot rates at the assessors' check times (default 09:00, 15:00, 21:00 Asia/Shanghai).

Period: local days 2026-11-02 and 2026-11-03 in Shanghai (UTC+8, no DST), i.e. UTC
[11-01 16:00, 11-03 16:00). Check instants in UTC: 11-02 01:00, 07:00, 13:00; 11-03 01:00,
07:00, 13:00. now = 11-03 10:00 local = 02:00 UTC, so on 11-03 only 09:00 is counted.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

from collector.accounting import CameraRef, ExclusionSpan, Period, StateSpan, check_instants, snapshot_rates_by

SH = ZoneInfo("Asia/Shanghai")


def utc(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


PERIOD = Period(dt.datetime(2026, 11, 2, tzinfo=SH), dt.datetime(2026, 11, 4, tzinfo=SH))
NOW = dt.datetime(2026, 11, 3, 10, tzinfo=SH)

C1 = CameraRef(1, 1, "V1", "T1", "K", "A")
C2 = CameraRef(2, 2, "V1", "T1", "K", "A")
C3 = CameraRef(3, 3, "V1", "T1", "K", "B")
C4 = CameraRef(4, 4, "V2", "T1", "K", "B")  # never seen: no spans at all
CAMS = [C1, C2, C3, C4]
SPANS = [
    StateSpan(1, "online", utc(1, 0), None),
    StateSpan(2, "online", utc(1, 0), utc(2, 5)),
    StateSpan(2, "offline", utc(2, 5), utc(2, 12)),  # down at 11-02 07:00 UTC (15:00 local)
    StateSpan(2, "online", utc(2, 12), utc(2, 23)),
    StateSpan(2, "offline", utc(2, 23), None),  # down at 11-03 01:00 UTC ...
    StateSpan(3, "degraded", utc(2, 10), None),  # unknown before 11-02 10:00 UTC
]
EXCL = [ExclusionSpan(utc(3, 0), utc(3, 6), camera_id=2)]  # ... but excluded then


def test_check_instants_shanghai_and_future_ones_dropped() -> None:
    got = check_instants(PERIOD, NOW)
    assert [(c.day.isoformat(), c.at) for c in got] == [
        ("2026-11-02", utc(2, 1)),
        ("2026-11-02", utc(2, 7)),
        ("2026-11-02", utc(2, 13)),
        ("2026-11-03", utc(3, 1)),  # 15:00 and 21:00 on 11-03 are after now
    ]


def test_check_instants_in_a_dst_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # CET (UTC+1) until 2026-03-29 02:00, then CEST (UTC+2)
    period = Period(dt.datetime(2026, 3, 28, tzinfo=berlin), dt.datetime(2026, 3, 30, tzinfo=berlin))
    got = check_instants(period, utc(30, 0).replace(month=4), check_times=[dt.time(9)], tz=berlin)
    assert [c.at for c in got] == [dt.datetime(2026, 3, 28, 8, tzinfo=dt.UTC),
                                   dt.datetime(2026, 3, 29, 7, tzinfo=dt.UTC)]


def test_village_snapshot_with_exclusions() -> None:
    v1, v2 = snapshot_rates_by("village", CAMS, SPANS, EXCL, PERIOD, NOW)
    # 11-02 09:00: C1 up, C2 up, C3 unknown (out)  -> 2/2
    #       15:00: C1 up, C2 down, C3 out         -> 1/2
    #       21:00: C1, C2 up, C3 degraded (up)    -> 3/3   day = (1 + 1/2 + 1) / 3 = 5/6
    # 11-03 09:00: C1 up, C2 excluded (out), C3 up -> 2/2  day = 1
    # period = (5/6 + 1) / 2 = 11/12 = 0.91666.. -> 0.9167
    assert v1.key == "V1"
    assert [(s.online, s.eligible) for d in v1.days for s in d.samples] == [(2, 2), (1, 2), (3, 3), (2, 2)]
    assert [d.exact for d in v1.days] == [Fraction(5, 6), Fraction(1)]
    assert [str(d.ratio) for d in v1.days] == ["0.8333", "1.0000"]
    assert v1.exact == Fraction(11, 12) and str(v1.ratio) == "0.9167"
    # V2 has only a camera never seen: no eligible camera at any check -> no rate, not 100%
    assert v2.key == "V2" and v2.ratio is None and all(d.ratio is None for d in v2.days)


def test_village_snapshot_without_exclusions() -> None:
    (v1, _v2) = snapshot_rates_by("village", CAMS, SPANS, EXCL, PERIOD, NOW, apply_exclusions=False)
    # 11-03 09:00: C2 is offline and counts now -> 2/3; period = (5/6 + 2/3) / 2 = 3/4
    assert v1.days[1].exact == Fraction(2, 3)
    assert v1.exact == Fraction(3, 4) and str(v1.ratio) == "0.7500"


def test_camera_and_contractor_snapshot() -> None:
    rows = {r.key: r for r in snapshot_rates_by("camera", CAMS, SPANS, EXCL, PERIOD, NOW)}
    # C3: out at the two first checks of 11-02, up at 21:00 -> day 1; 11-03 up -> 1
    assert [s.eligible for s in rows[3].days[0].samples] == [0, 0, 1]
    assert rows[3].exact == 1
    # C2: 11-02: 1, 0, 1 -> 2/3; 11-03 excluded -> no rate that day; period = 2/3 -> 0.6667
    assert [d.exact for d in rows[2].days] == [Fraction(2, 3), None]
    assert str(rows[2].ratio) == "0.6667"
    by_contractor = {r.key: r for r in snapshot_rates_by("contractor", CAMS, SPANS, EXCL, PERIOD, NOW)}
    # A = C1 + C2: 11-02: 2/2, 1/2, 2/2 -> 5/6; 11-03: C1 only 1/1 -> 1; mean 11/12
    assert by_contractor["A"].exact == Fraction(11, 12)
    # B = C3 + C4 (never seen): 11-02: -, -, 1/1 -> 1; 11-03: 1/1 -> 1
    assert by_contractor["B"].exact == 1


def test_check_at_now_sees_open_span() -> None:
    now = dt.datetime(2026, 11, 2, 9, tzinfo=SH)  # exactly the first check
    (v1, _v2) = snapshot_rates_by("village", CAMS, SPANS, EXCL, PERIOD, now)
    assert [(s.online, s.eligible) for d in v1.days for s in d.samples] == [(2, 2)]
