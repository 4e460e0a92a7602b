"""The contract score (考核得分): pure rules over a report's figures.

A period starts with ``score.start`` points; each camera over the fault threshold, each red work
order and each percentage point a region's rate lies below its target takes off the configured
points, each deduction listed with what it is for; the total never goes below ``score.floor``.
Deductions are rounded to 0.01 points, half up, and the total is their exact sum taken off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from collector.reports import words
from collector.reports.config import ScoreSettings
from collector.reports.model import CompletenessRow, Deduction, FaultRow, RegionRow, Score, WorkOrderRow

FAULT_CAMERA = "fault_camera"
RED_WORK_ORDER = "red_work_order"
BELOW_TARGET = "below_target"
RULES = (FAULT_CAMERA, RED_WORK_ORDER, BELOW_TARGET)

_CENT = Decimal("0.01")

# Below this share of known camera time (camwatch watching: DESIGN §4) a score says little about
# the contractor: an unmonitored month loses no points. The report says so beside the score.
MIN_KNOWN_SHARE = 0.95


def _r2(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _d(value: float) -> Decimal:
    return Decimal(repr(value))


def shortfall_pp(rate: float, target: float) -> Decimal:
    """Percentage points *rate* lies below *target* (0 when met), exact on the 0.01 pp grid."""
    gap = (_d(target) - _d(rate)) * 100
    return gap if gap > 0 else Decimal(0)


def deductions(rules: ScoreSettings, *, faults: Iterable[FaultRow], work_orders: Iterable[WorkOrderRow],
               counties: Sequence[RegionRow], townships: Sequence[RegionRow]) -> tuple[Deduction, ...]:
    out: list[Deduction] = []
    per_fault, per_red, per_pp = _d(rules.per_fault_camera), _d(rules.per_red_work_order), _d(rules.per_pp_below_target)
    if per_fault:
        for f in sorted(faults, key=lambda f: (-f.fault_seconds, f.camera_id)):
            out.append(Deduction(FAULT_CAMERA, str(f.camera_id), f.camera_name, f.township,
                                 _r2(Decimal(repr(f.fault_seconds)) / 3600), _r2(per_fault)))
    if per_red:
        for w in sorted(work_orders, key=lambda w: w.id):
            if w.colour == "red":
                out.append(Deduction(RED_WORK_ORDER, str(w.id), w.title, w.township, 1.0, _r2(per_red)))
    if per_pp:
        regions = counties if rules.below_target_level == "county" else townships
        for r in regions:
            if r.rate is None:
                continue
            gap = shortfall_pp(r.rate, r.target)
            if gap > 0:
                out.append(Deduction(BELOW_TARGET, r.code, r.name, "" if r.level == "county" else r.code,
                                     _r2(gap), _r2(gap * per_pp)))
    return tuple(out)


def total(start: float, floor: float, items: Iterable[Deduction]) -> float:
    off = sum((_d(d.points) for d in items), Decimal(0))
    return _r2(max(_d(floor), _d(start) - off))


def score(rules: ScoreSettings, *, faults: Iterable[FaultRow], work_orders: Iterable[WorkOrderRow],
          counties: Sequence[RegionRow], townships: Sequence[RegionRow]) -> Score:
    items = deductions(rules, faults=faults, work_orders=work_orders, counties=counties, townships=townships)
    return Score(rules.start, rules.floor, items, total(rules.start, rules.floor, items))


def monitoring_gap(completeness: Sequence[CompletenessRow]) -> float | None:
    """The report's known share when it is below :data:`MIN_KNOWN_SHARE` (its first region: the
    county, or the township it is cut to), else None. None too when nothing was to be watched."""
    if not completeness:
        return None
    share = completeness[0].known_share
    return share if share is not None and share < MIN_KNOWN_SHARE else None


def unmonitored(completeness: Sequence[CompletenessRow]) -> bool:
    """Nothing of the period was watched: it gets no score at all; a full score for a month nobody
    watched would read as a perfect one. So both when camwatch knew nothing of the cameras' time
    (known share 0) and when there was no camera-time to watch at all (known share None: a month
    before any camera entered monitoring, its time before that being no part of it, or one after
    every camera was retired)."""
    if not completeness:
        return False
    share = completeness[0].known_share
    return share is None or share == 0.0


def score_note(completeness: Sequence[CompletenessRow], lang: str) -> str | None:
    """The warning beside the score (workbook, page, delivery mail) when the period was not watched
    enough for the score to mean much: no score when nothing was watched (:func:`unmonitored`),
    else the known share below :data:`MIN_KNOWN_SHARE`; None when the period was watched enough."""
    if unmonitored(completeness):
        return words.word("score_none", lang)
    gap = monitoring_gap(completeness)
    if gap is None:
        return None
    return words.word("score_gap", lang, share=f"{gap:.2%}", min=f"{MIN_KNOWN_SHARE:.0%}")


def restricted(s: Score, keep: Iterable[Deduction]) -> Score:
    """The score with only the deductions *keep* (a report restricted to one township)."""
    items = tuple(keep)
    return Score(s.start, s.floor, items, total(s.start, s.floor, items))


__all__ = ["BELOW_TARGET", "FAULT_CAMERA", "MIN_KNOWN_SHARE", "RED_WORK_ORDER", "RULES", "deductions", "monitoring_gap",
           "score_note", "unmonitored",
           "restricted", "score",
           "shortfall_pp", "total"]
