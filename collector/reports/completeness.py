"""Monitoring completeness (监测完整性) of a report's regions, pure.

Per county and township: the camera-time of the period camwatch was to watch, the time it knew
the state (online + offline: ``known_s`` of ``camwatch rates --json``) and the unknown rest
(collector down, never probed). Both are taken *without* exclusions, so that the three columns
add up (window = known + unknown) and an exclusion approved later moves none of them.

A retired camera is not to be watched after its retirement (``cameras.retired_at``; its state is
``excluded`` from then on): that part of the period, as far as camwatch saw it neither online nor
offline, is taken out of the window instead of being counted unknown — else every camera ever retired would lower
every later month's completeness, and the score would carry the 监测完整率 warning for ever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from collector.accounting import CameraRef, CameraTime, CameraTimes, Period, round_ratio, to_us, us_seconds

ZERO = Decimal(0)


def retired_seconds(cameras: Iterable[CameraRef], times: Mapping[int, CameraTimes], window: Period,
                    retired_at: Mapping[int, dt.datetime | None]) -> dict[str, Decimal]:
    """Per township and county code: the seconds of its retired cameras after their retirement
    (``retired_at``) in *window* that camwatch saw them neither online nor offline; a retired camera
    without a retirement time: all its unseen time; without times: the whole window."""
    lo, hi = to_us(window.start), to_us(window.end)
    out: dict[str, Decimal] = {}
    for c in cameras:
        if not c.retired:
            continue
        t = times.get(c.camera_id)
        gone = us_seconds(hi - lo) if t is None else t.without_exclusions.unknown_s
        at = retired_at.get(c.camera_id)
        if at is not None:
            gone = min(gone, us_seconds(max(0, hi - max(lo, to_us(at)))))
        if not gone:
            continue
        for code in {c.township, c.county} - {""}:
            out[code] = out.get(code, ZERO) + gone
    return out


def completeness_figures(raw: CameraTime, retired_s: Decimal) -> tuple[Decimal, Decimal, Decimal, float | None]:
    """(window, known, unknown, known share) of a region from its time without exclusions and its
    retired cameras' unseen seconds; the share rounded as the rates' (None: nothing to watch)."""
    known = raw.eligible_s
    window = raw.eligible_s + raw.unknown_s + raw.excluded_s - retired_s
    unknown = window - known
    share = None if window <= 0 else float(round_ratio(known / window))
    return window, known, unknown, share


__all__ = ["completeness_figures", "retired_seconds"]
