"""Time-weighted availability and intact rate per camera, and their sums per level (DESIGN §4).

For camera c over the window W = [period.start, min(period.end, now)), cut where c entered
monitoring and at c's retirement (its time before the one and after the other is no part of its
window: neither known nor unknown, :meth:`CameraRef.accounted_from` / ``accounted_until``):
excluded = W ∩ (exclusions of c) (only when exclusions are applied);
unknown = the rest of W not in an online/degraded/offline span (state ``unknown`` or ``excluded``,
before the first span, gaps while the collector was down);
eligible = online + offline. Unknown time leaves numerator and denominator.
A group's rate is sum(online) / sum(eligible), None when nothing was eligible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from collector.accounting.exclusions import ExclusionIndex, Exclusions, index_exclusions
from collector.accounting.intervals import subtract, to_us, total_us
from collector.accounting.levels import Level, cameras_by
from collector.accounting.model import ZERO_TIME, CameraRef, CameraTime, CameraTimes, Period, StateSpan, time_from_us
from collector.accounting.rounding import round_ratio
from collector.accounting.timeline import Spans, as_grouped, segments


def _camera_times(
    spans: Iterable[StateSpan], index: ExclusionIndex, camera: CameraRef, lo: int, hi: int, now: int
) -> CameraTimes:
    lo = camera.accounted_from(lo)  # (a camera's time before it entered monitoring is not its)
    hi = camera.accounted_until(hi)  # (a retired camera's time after its retirement is not its)
    if hi <= lo:
        return CameraTimes(ZERO_TIME, ZERO_TIME)
    intact: list[tuple[int, int]] = []
    degraded: list[tuple[int, int]] = []
    down: list[tuple[int, int]] = []
    for start, end, state in segments(spans, camera.camera_id, now):
        s = start if start > lo else lo
        e = hi if end is None or end > hi else end
        if s >= e:
            continue
        if state == "online":
            intact.append((s, e))
        elif state == "degraded":
            degraded.append((s, e))
        elif state == "offline":
            down.append((s, e))
    window = hi - lo
    unc = transitions_us(spans, camera.camera_id, lo, hi)
    raw_intact, raw_degraded, raw_down = total_us(intact), total_us(degraded), total_us(down)
    raw = time_from_us(window, raw_intact, raw_degraded, raw_down, 0, unc)
    excl = index.for_camera(camera, lo, hi)
    if not excl:
        return CameraTimes(raw, raw)
    ex_intact = total_us(subtract(intact, excl))
    ex_degraded = total_us(subtract(degraded, excl))
    ex_down = total_us(subtract(down, excl))
    applied = time_from_us(window, ex_intact, ex_degraded, ex_down, total_us(excl), unc)
    return CameraTimes(applied, raw)


def transitions_us(spans: Iterable[StateSpan], camera_id: int, lo: int, hi: int) -> int:
    """The half probe gaps (µs) of the camera's transitions dated in [lo, hi): what its times may
    be off by. Counted the same with and without exclusions."""
    return sum(s.uncertainty_us for s in spans
               if s.uncertainty_us and s.camera_id == camera_id and lo <= to_us(s.start) < hi)


def _window(period: Period, now: int) -> tuple[int, int]:
    lo, end = to_us(period.start), to_us(period.end)
    return lo, min(end, now)


def camera_availability(
    spans: Iterable[StateSpan],
    exclusions: Exclusions,
    camera: CameraRef,
    period: Period,
    now: dt.datetime,
    *,
    apply_exclusions: bool = True,
) -> CameraTime:
    """One camera's time over ``period`` (spans of other cameras are ignored)."""
    now_us = to_us(now)
    lo, hi = _window(period, now_us)
    index = index_exclusions(exclusions)
    times = _camera_times(spans, index, camera, lo, hi, now_us)
    return times.with_exclusions if apply_exclusions else times.without_exclusions


def camera_times(cameras: Iterable[CameraRef], spans: Spans, exclusions: Exclusions, period: Period,
                 now: dt.datetime) -> dict[int, CameraTimes]:
    """Every camera's time with and without exclusions; spans grouped and exclusions indexed once."""
    grouped = as_grouped(spans)
    index = index_exclusions(exclusions)
    now_us = to_us(now)
    lo, hi = _window(period, now_us)
    return {
        cam.camera_id: _camera_times(grouped.get(cam.camera_id, ()), index, cam, lo, hi, now_us)
        for cam in cameras
    }


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row of a rate table; ratios rounded to 0.01 percentage points (None: nothing eligible).
    ``uncertainty``: ± of ``ratio`` and ``intact_ratio`` (the transitions' half probe gaps over
    eligible time), rounded the same way."""

    level: Level
    key: int | str
    cameras: int
    time: CameraTime  # exclusions applied
    time_without_exclusions: CameraTime
    ratio: Decimal | None
    intact_ratio: Decimal | None
    ratio_without_exclusions: Decimal | None
    intact_ratio_without_exclusions: Decimal | None

    @property
    def online_s(self) -> Decimal:
        return self.time.online_s

    @property
    def uncertainty(self) -> Decimal | None:
        return round_ratio(self.time.uncertainty)

    @property
    def uncertainty_without_exclusions(self) -> Decimal | None:
        return round_ratio(self.time_without_exclusions.uncertainty)

    @property
    def eligible_s(self) -> Decimal:
        return self.time.eligible_s


def aggregate(
    level: Level | str, cameras: Iterable[CameraRef], times: Mapping[int, CameraTimes]
) -> tuple[RateRow, ...]:
    """Sum per-camera times into rows keyed at ``level``, sorted by key.

    Cameras missing from ``times`` add nothing but are counted in ``cameras``; at contractor level
    cameras without a contractor have no row. ``times`` may come from :func:`camera_times` or from
    stored daily rollups summed per camera.
    """
    lvl = Level(level)
    rows = []
    for key, group in cameras_by(lvl, cameras):
        applied = raw = ZERO_TIME
        for cam in group:
            t = times.get(cam.camera_id)
            if t is not None:
                applied = applied + t.with_exclusions
                raw = raw + t.without_exclusions
        rows.append(
            RateRow(
                level=lvl,
                key=key,
                cameras=len(group),
                time=applied,
                time_without_exclusions=raw,
                ratio=round_ratio(applied.ratio),
                intact_ratio=round_ratio(applied.intact_ratio),
                ratio_without_exclusions=round_ratio(raw.ratio),
                intact_ratio_without_exclusions=round_ratio(raw.intact_ratio),
            )
        )
    return tuple(rows)


def rates_by(level: Level | str, cameras: Iterable[CameraRef], spans: Spans, exclusions: Exclusions, period: Period,
             now: dt.datetime) -> tuple[RateRow, ...]:
    """Time-weighted online and intact rates at ``level``, with and without exclusions."""
    cams = tuple(cameras)
    return aggregate(level, cams, camera_times(cams, spans, exclusions, period, now))
