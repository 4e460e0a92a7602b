"""The API's JSON body of a closed month's report (``GET /api/v1/reports/{period}``) as ``TypedDict``
types, field for field the report model (:mod:`collector.reports.model`, encoded by its
``to_dict``; ``tests/collector/test_web_reports.py`` checks the two stay alike). Kept beside
:mod:`collector.web.bodies` (the product's 400-line limit). Times ISO 8601 UTC; ratios 0..1.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from collector.web.spec import meta

Time = Annotated[str, meta(format="date-time")]
OptTime = Annotated[str | None, meta(format="date-time")]
Ratio = Annotated[float | None, meta(minimum=0, maximum=1)]


class ReportPeriodBody(TypedDict):
    kind: Literal["monthly", "quarterly"]
    label: Annotated[str, "2026-11 or 2026Q4"]
    start: Time
    end: Time
    timezone: str


class ReportRegionRow(TypedDict):
    """A county or township: rates with and without exclusions, coverage, target, verdict and rank."""

    code: str
    name: str
    level: Literal["county", "township"]
    parent: str
    cameras: int
    rate: Ratio
    rate_without_exclusions: Ratio
    snapshot_rate: Ratio
    intact_rate: Ratio
    coverage: Ratio
    built_coverage: Ratio
    villages: int
    fully_covered_villages: int
    target: float
    met: bool | None
    rank: int | None
    previous_rank: int | None
    rank_change: Annotated[int | None, "previous rank - rank: positive = moved up"]
    uncertainty_pp: Annotated[float | None, "± percentage points of the rate"]
    verdict_uncertain: Annotated[bool, "the target lies within rate ± uncertainty"]


class ReportVillageRow(TypedDict):
    code: str
    name: str
    township: str
    township_name: str
    planned_points: int
    built_points: int
    online_points: int
    coverage: Ratio
    built_coverage: float
    fully_covered: bool | None  # None: no counted time in the period (all excluded): "—"


class ReportCauseTime(TypedDict):
    cause: str
    seconds: float


class ReportFaultRow(TypedDict):
    """A camera whose fault time in the period (outside exclusions) passed ``reports.fault_hours``."""

    camera_id: int
    camera_name: str
    village: str
    village_name: str
    township: str
    township_name: str
    fault_seconds: float
    causes: list[ReportCauseTime]


class ReportWorkOrderRow(TypedDict):
    id: int
    title: str
    camera_id: int | None
    region_code: str
    region_name: str
    township: str
    cause: str | None
    status: str
    opened_at: Time
    deadline: Time
    acknowledged_at: OptTime
    resolved_at: OptTime
    colour: Literal["green", "yellow", "red"]
    acknowledge_seconds: float | None
    fix_seconds: float | None
    # what the order is about (an English report's title is built from them; the title above is as stored)
    severity: Annotated[str, "critical | normal | low; empty: not recorded (a month frozen before these fields)"]
    incident_key: Annotated[str, "the incident that opened it (p-...: a picture incident); empty: not recorded"]
    cameras: Annotated[int, "cameras the order concerns; 0: not recorded"]
    camera_name: str
    parent_name: Annotated[str, "the name of the order's region's parent (a village's township)"]
    checks: Annotated[list[str], "a picture incident's failed checks"]


class ReportExclusionRow(TypedDict):
    id: int
    scope: Literal["camera", "region"]
    camera_id: int | None
    region_code: str | None
    scope_name: str
    township: str
    start: Time
    end: Time
    reason: str
    approver: str


class ReportCompletenessRow(TypedDict):
    """The share of camera time in the period whose state camwatch knew (unknown time made visible)."""

    code: str
    name: str
    level: str
    cameras: int
    window_seconds: float
    known_seconds: float
    unknown_seconds: float
    known_share: Ratio


class ReportDeduction(TypedDict):
    rule: Literal["fault_camera", "red_work_order", "below_target"]
    subject: str
    subject_name: str
    township: str
    quantity: float
    points: float


class ReportScore(TypedDict):
    start: float
    floor: float
    deductions: list[ReportDeduction]
    total: float


class ReportBody(TypedDict):
    """The report's figures, as frozen (the workbook is made from the same)."""

    schema: int
    period: ReportPeriodBody
    closed: bool
    generated_at: Time
    fault_hours: float
    counties: list[ReportRegionRow]
    townships: list[ReportRegionRow]
    villages: list[ReportVillageRow]
    faults: list[ReportFaultRow]
    work_orders: list[ReportWorkOrderRow]
    exclusions: list[ReportExclusionRow]
    completeness: list[ReportCompletenessRow]
    score: ReportScore
    region: Annotated[str, "the township (or county) the report is restricted to; empty: the whole county"]
    region_name: str


class ClosedReport(TypedDict):
    """A closed month: its frozen report (restricted to the region asked for, or to the reader's
    township) and the sha256 of the whole month's snapshot."""

    period: str
    kind: Literal["monthly", "quarterly"]
    closed_at: Time
    content_hash: Annotated[str, "sha256 of the month's snapshot (the whole county's figures)"]
    region: str
    report: ReportBody


__all__ = ["ClosedReport", "ReportBody"]
