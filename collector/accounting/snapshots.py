"""Snapshot online rate at the assessors' check times (DESIGN §4).

At an instant t: online (incl. degraded) / eligible cameras, where cameras unknown or excluded at t
(no span, state unknown/excluded, or an exclusion in force), not yet in monitoring at t or retired
by t are out of both counts.
A day's rate is the mean over its configured local check times (default 09:00, 15:00, 21:00,
Asia/Shanghai) that lie in the period, are not after ``now`` and have at least one eligible camera.
A period's rate is the unweighted mean of its days' rates (days without any rate are left out),
as assessors average daily figures; all means are exact fractions before rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from collector.accounting.exclusions import ExclusionIndex, Exclusions, index_exclusions
from collector.accounting.intervals import from_us, to_us
from collector.accounting.levels import Level, cameras_by
from collector.accounting.model import UP_STATES, CameraRef, Period, StateSpan
from collector.accounting.rounding import round_ratio
from collector.accounting.timeline import Spans, as_grouped, segments

DEFAULT_CHECK_TIMES: tuple[dt.time, ...] = (dt.time(9), dt.time(15), dt.time(21))
DEFAULT_TZ = "Asia/Shanghai"

OUT, DOWN, UP = -1, 0, 1


@dataclass(frozen=True, slots=True)
class CheckInstant:
    day: dt.date  # local date in the check-time zone
    at: dt.datetime  # UTC


@dataclass(frozen=True, slots=True)
class Sample:
    at: dt.datetime
    online: int
    eligible: int

    @property
    def exact(self) -> Fraction | None:
        return Fraction(self.online, self.eligible) if self.eligible else None


@dataclass(frozen=True, slots=True)
class DaySnapshot:
    day: dt.date
    samples: tuple[Sample, ...]  # every check instant of the day (eligible may be 0)
    exact: Fraction | None  # mean of the samples with eligible >= 1
    ratio: Decimal | None  # rounded to 0.01 percentage points


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    level: Level
    key: int | str
    days: tuple[DaySnapshot, ...]
    exact: Fraction | None  # mean of the days' exact rates
    ratio: Decimal | None


def _mean(values: Sequence[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None


def check_instants(
    period: Period,
    now: dt.datetime,
    *,
    check_times: Sequence[dt.time] = DEFAULT_CHECK_TIMES,
    tz: ZoneInfo | str = DEFAULT_TZ,
) -> tuple[CheckInstant, ...]:
    """Local check times of each local day, as UTC instants in [period.start, period.end) and <= now."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    lo, hi, now_us = to_us(period.start), to_us(period.end), to_us(now)
    times = sorted(check_times)
    day = period.start.astimezone(zone).date()
    last = period.end.astimezone(zone).date()
    out: list[CheckInstant] = []
    while day <= last:
        for t in times:
            local = dt.datetime.combine(day, t.replace(tzinfo=None), tzinfo=zone)
            us = to_us(local)
            if lo <= us < hi and us <= now_us:
                out.append(CheckInstant(day, from_us(us)))
        day += dt.timedelta(days=1)
    return tuple(out)


def camera_codes_at(
    spans: Iterable[StateSpan],
    index: ExclusionIndex,
    camera: CameraRef,
    instants_us: Sequence[int],
    now_us: int,
    *,
    apply_exclusions: bool = True,
) -> list[int]:
    """UP / DOWN / OUT for each instant (sorted, each <= now); linear in spans + instants. Before
    the camera entered monitoring, and from a retired camera's retirement on, OUT."""
    if not instants_us:
        return []
    segs = segments(spans, camera.camera_id, now_us)
    if not segs:
        return [OUT] * len(instants_us)
    begin = camera.accounted_from(instants_us[0])
    until = camera.accounted_until(instants_us[-1] + 1)
    excl = index.for_camera(camera, instants_us[0], instants_us[-1] + 1) if apply_exclusions else []
    out: list[int] = []
    i = j = 0
    for t in instants_us:
        if t >= until or t < begin:
            out.append(OUT)
            continue
        while i + 1 < len(segs) and segs[i + 1][0] <= t:
            i += 1
        while j < len(excl) and excl[j][1] <= t:
            j += 1
        if j < len(excl) and excl[j][0] <= t:
            out.append(OUT)
            continue
        start, end, state = segs[i]
        if start <= t and (end is None or t < end):
            out.append(UP if state in UP_STATES else DOWN if state == "offline" else OUT)
        else:
            out.append(OUT)
    return out


def snapshot_rates_by(level: Level | str, cameras: Iterable[CameraRef], spans: Spans, exclusions: Exclusions,
                      period: Period, now: dt.datetime, *, check_times: Sequence[dt.time] = DEFAULT_CHECK_TIMES,
                      tz: ZoneInfo | str = DEFAULT_TZ, apply_exclusions: bool = True) -> tuple[SnapshotRow, ...]:
    """Snapshot rates per day and over the period, one row per key at ``level``, sorted by key."""
    lvl = Level(level)
    grouped = as_grouped(spans)
    index = index_exclusions(exclusions)
    instants = check_instants(period, now, check_times=check_times, tz=tz)
    inst_us = [to_us(c.at) for c in instants]
    now_us = to_us(now)
    n = len(inst_us)
    rows = []
    for key, group in cameras_by(lvl, cameras):
        up, eligible = [0] * n, [0] * n
        for cam in group:
            codes = camera_codes_at(
                grouped.get(cam.camera_id, ()), index, cam, inst_us, now_us,
                apply_exclusions=apply_exclusions,
            )
            for k, code in enumerate(codes):
                if code != OUT:
                    eligible[k] += 1
                    up[k] += code
        days: list[DaySnapshot] = []
        k = 0
        while k < n:
            day = instants[k].day
            samples = []
            while k < n and instants[k].day == day:
                samples.append(Sample(instants[k].at, up[k], eligible[k]))
                k += 1
            exact = _mean([s.exact for s in samples if s.exact is not None])
            days.append(DaySnapshot(day, tuple(samples), exact, round_ratio(exact)))
        exact = _mean([d.exact for d in days if d.exact is not None])
        rows.append(SnapshotRow(lvl, key, tuple(days), exact, round_ratio(exact)))
    return tuple(rows)
