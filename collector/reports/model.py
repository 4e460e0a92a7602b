"""A report's figures as typed values (DESIGN §12), independent of language and of the workbook.

A :class:`Report` holds everything a monthly or quarterly report shows: per county and township
the rates (as ``camwatch rates --json`` gives them: ratios 0..1, rounded to 0.01 pp), coverage,
target, verdict and rank; every village's coverage; the cameras over the fault-hours threshold;
the period's work orders and exclusions; the monitoring completeness (known time) per region;
and the contract score. Words (Chinese or English) are added only by the renderers.

:func:`to_json` is a stable encoding (sorted keys, no whitespace, UTC ISO times): a closed month
is stored as that text and its sha256 (:func:`content_hash`); :func:`from_json` gives back an
equal :class:`Report`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

SCHEMA = 1  # bump when a field changes meaning; from_json refuses other schemas
LATER = "camwatch_later"  # field metadata: added after months were first closed (see :func:`later`)


def later(default: Any) -> Any:
    """A field added after months were first closed: left out of the stable text
    (:func:`to_json`) while it holds *default*, so a snapshot frozen before it (no such key: read
    back as *default*) still reads and hashes as stored; :func:`to_dict` has it always."""
    return dataclasses.field(default=default, metadata={LATER: True})


def later_defaults(cls: type) -> dict[str, Any]:
    """The :func:`later` fields of a row type, with their defaults (a frozen snapshot's "not recorded")."""
    return {f.name: f.default for f in dataclasses.fields(cls) if f.metadata.get(LATER)}


class Kind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A local calendar month (``2026-11``) or quarter (``2026Q4``) in ``timezone``, as the UTC
    half-open interval [start, end)."""

    kind: Kind
    label: str
    start: dt.datetime
    end: dt.datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class RegionRow:
    """A county or township on the summary and ranking sheets. Ratios are 0..1 (None: no data)."""

    code: str
    name: str
    level: str  # county | township
    parent: str  # the county of a township; "" for a county
    cameras: int
    rate: float | None  # time-weighted, exclusions applied
    rate_without_exclusions: float | None
    snapshot_rate: float | None  # mean over the check times
    intact_rate: float | None
    coverage: float | None  # fully covered villages / villages (over the period)
    built_coverage: float | None
    villages: int
    fully_covered_villages: int
    target: float
    met: bool | None  # rate >= target; None without data
    rank: int | None  # among the townships (1 = best rate); None for a county or no data
    previous_rank: int | None  # in the previous period
    rank_change: int | None  # previous_rank - rank: positive = moved up
    uncertainty_pp: float | None  # ± percentage points of the rate (None: not measured)
    verdict_uncertain: bool  # the target lies within rate ± uncertainty


@dataclass(frozen=True, slots=True)
class VillageRow:
    code: str
    name: str
    township: str
    township_name: str
    planned_points: int
    built_points: int
    online_points: int  # covered: a camera up for at least the coverage threshold of the period
    coverage: float | None  # online / counted points; None: no camera measured in the period, or none counted
    built_coverage: float
    fully_covered: bool | None  # None ("—"): no point counted (every one excluded all the period)


@dataclass(frozen=True, slots=True)
class CauseTime:
    cause: str  # a probes.causes code ("unknown_cause" when none was stored)
    seconds: float


@dataclass(frozen=True, slots=True)
class FaultRow:
    """A camera whose offline time in the period (outside exclusions) passed ``fault_hours``."""

    camera_id: int
    camera_name: str
    village: str
    village_name: str
    township: str
    township_name: str
    fault_seconds: float
    causes: tuple[CauseTime, ...]  # largest first


@dataclass(frozen=True, slots=True)
class WorkOrderRow:
    id: int
    title: str
    camera_id: int | None
    region_code: str  # the order's village or township ("" when unknown)
    region_name: str
    township: str
    cause: str | None
    status: str
    opened_at: dt.datetime
    deadline: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    colour: str  # green | yellow | red at the report's end (or generation time, month to date)
    acknowledge_seconds: float | None
    fix_seconds: float | None
    # what the order is about, for its title in another language than the stored (Chinese) one
    # (:mod:`collector.reports.order_words`); defaults: not recorded (a month frozen before them)
    severity: str = later("")  # the alert's: critical | normal | low
    incident_key: str = later("")  # the incident that opened it ("p-...": a picture incident)
    cameras: int = later(0)  # how many cameras it concerns
    camera_name: str = later("")  # its camera's name ("" for a region's order)
    parent_name: str = later("")  # the name of its region's parent (a village's township)
    checks: tuple[str, ...] = later(())  # a picture incident's failed checks


@dataclass(frozen=True, slots=True)
class ExclusionRow:
    id: int
    scope: str  # camera | region
    camera_id: int | None
    region_code: str | None  # the region excluded, or the camera's village
    scope_name: str  # camera name or region name
    township: str  # the township it lies in ("" for a county-wide exclusion)
    start: dt.datetime
    end: dt.datetime
    reason: str
    approver: str


@dataclass(frozen=True, slots=True)
class CompletenessRow:
    """Monitoring completeness: the share of camera time in the period whose state camwatch knew.

    ``window_seconds`` = cameras × period (up to now), less retired cameras' unseen time;
    ``known`` = online + offline (exclusions not applied); ``unknown`` = the rest (collector down,
    never probed). See :mod:`collector.reports.completeness`."""

    code: str
    name: str
    level: str
    cameras: int
    window_seconds: float
    known_seconds: float
    unknown_seconds: float
    known_share: float | None


@dataclass(frozen=True, slots=True)
class Deduction:
    rule: str  # fault_camera | red_work_order | below_target
    subject: str  # camera id, work order id or region code
    subject_name: str
    township: str  # for restricting a report to one township ("" = county-wide)
    quantity: float  # hours of fault, 1 order, or percentage points below target
    points: float


@dataclass(frozen=True, slots=True)
class Score:
    start: float
    floor: float
    deductions: tuple[Deduction, ...]
    total: float


@dataclass(frozen=True, slots=True)
class Report:
    schema: int
    period: ReportPeriod
    closed: bool  # False: month to date (未结)
    generated_at: dt.datetime
    fault_hours: float
    counties: tuple[RegionRow, ...]
    townships: tuple[RegionRow, ...]  # sorted by code
    villages: tuple[VillageRow, ...]
    faults: tuple[FaultRow, ...]
    work_orders: tuple[WorkOrderRow, ...]
    exclusions: tuple[ExclusionRow, ...]
    completeness: tuple[CompletenessRow, ...]  # county first, then townships
    score: Score
    region: str = ""  # the report restricted to this township or county ("" = everything)
    region_name: str = ""

    @property
    def kind(self) -> Kind:
        return self.period.kind


# --- stable JSON ---------------------------------------------------------------------------------

def _plain(value: Any, compact: bool = False) -> Any:
    """*value* as JSON values; ``compact``: :func:`later` fields holding their default left out."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a report")
        return value.astimezone(dt.UTC).isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if not (compact and f.metadata.get(LATER) and v == f.default):
                out[f.name] = _plain(v, compact)
        return out
    if isinstance(value, tuple | list):
        return [_plain(v, compact) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no stable JSON
        raise ValueError("NaN in a report")
    return value


def to_dict(report: Report, *, compact: bool = False) -> dict[str, Any]:
    """*report* as JSON values, every field (``compact``: as :func:`to_json` writes it)."""
    out: dict[str, Any] = _plain(report, compact)
    return out


def to_json(report: Report) -> str:
    """The stable text of *report*: sorted keys, no whitespace, UTF-8 characters kept; a
    :func:`later` field holding its default left out (the text of a month frozen before it)."""
    return json.dumps(to_dict(report, compact=True), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def content_hash(report: Report) -> str:
    return hashlib.sha256(to_json(report).encode("utf-8")).hexdigest()


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    return typing.get_type_hints(tp)


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if value is None:
            return None
        return _build(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        (item, _) = typing.get_args(tp)
        return tuple(_build(item, v) for v in value)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value})
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if tp is float:
            return float(value)
    return value


def from_dict(data: dict[str, Any]) -> Report:
    if data.get("schema") != SCHEMA:
        raise ValueError(f"report schema {data.get('schema')!r} is not {SCHEMA}")
    report: Report = _build(Report, data)
    return report


def from_json(text: str) -> Report:
    return from_dict(json.loads(text))


__all__ = [
    "SCHEMA", "CauseTime", "CompletenessRow", "Deduction", "ExclusionRow", "FaultRow", "Kind", "RegionRow", "Report",
    "ReportPeriod", "Score", "VillageRow", "WorkOrderRow", "content_hash", "from_dict", "from_json", "later",
    "later_defaults", "to_dict", "to_json",
]
