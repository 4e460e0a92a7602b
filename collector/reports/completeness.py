"""Monitoring completeness (监测完整性) of a report's regions, pure.

Per county and township: the camera-time of the period camwatch was to watch, the time it knew
the state (online + offline: ``known_s`` of ``camwatch rates --json``) and the unknown rest
(collector down, never probed). Both are taken *without* exclusions, so that the three columns
add up (window = known + unknown) and an exclusion approved later moves none of them.

A retired camera is not to be watched after its retirement (``cameras.retired_at``): the shared
accounting already leaves that part of the period out of its time (:meth:`collector.accounting.
CameraRef.accounted_until`), instead of counting it unknown — else every camera ever retired would
lower every later month's completeness, and the score would carry the 监测完整率 warning for ever.
The figures here are therefore the same as ``known_s`` / ``known_share`` of the rate table.
"""

from __future__ import annotations

from decimal import Decimal

from collector.accounting import CameraTime, round_ratio


def completeness_figures(raw: CameraTime) -> tuple[Decimal, Decimal, Decimal, float | None]:
    """(window, known, unknown, known share) of a region from its time without exclusions; the
    share rounded as the rates' (None: nothing to watch)."""
    known = raw.eligible_s
    window = raw.eligible_s + raw.unknown_s + raw.excluded_s
    unknown = window - known
    share = None if window <= 0 else float(round_ratio(known / window))
    return window, known, unknown, share


__all__ = ["completeness_figures"]
