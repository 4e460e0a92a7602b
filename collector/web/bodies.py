"""The API's JSON bodies as ``TypedDict`` types: the handlers' JSON helpers return them (mypy checks
every key and value) and the OpenAPI document's schemas are made from them
(:func:`collector.web.spec.schema_of`). Times are ISO 8601 strings in UTC; ratios 0..1. Request
bodies are pydantic models in :mod:`collector.web.inputs` (validated there).
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from collector.accounting import Level
from collector.accounting.sql.rate_tables import CoverageLevel, Method
from collector.alerting.workorders import Color, OrderStatus
from collector.runtime.camera_state import State
from collector.web.spec import meta
from inventory.models import ExclusionStatus, Lifecycle, RegionLevel
from probes.base import Cause, Stage

TIME = meta(format="date-time")
Time = Annotated[str, TIME]
OptTime = Annotated[str | None, TIME]
Ratio = Annotated[float | None, meta(minimum=0, maximum=1)]
OptCause = Annotated[str | None, Cause]


class ErrorDetail(TypedDict):
    code: str
    message: str


class Error(TypedDict):
    error: ErrorDetail


class Unwatched(TypedDict):
    """A gap in camwatch's watch (stopped, restarted, a replica's shards taken over): the state unknown."""

    start: Time
    end: Annotated[str, TIME, "the first probe after it, which saw the camera in the same state again"]


class Camera(TypedDict):
    id: int
    name: str
    state: Annotated[str, State, "shown state: excluded while an exclusion is in force"]
    probed_state: Annotated[str, State, "the state found by probing, also while excluded"]
    cause: OptCause
    since: Annotated[str | None, TIME, "when the current state interval began (after a gap in the watch: at the first probe after it)"]
    state_since: Annotated[str | None, TIME, "when the current state began: for a camera offline or degraded (same cause) "
                           "before a gap in the watch and seen so again after it, before the gap (see unwatched); else since"]
    unwatched: Annotated[Unwatched | None, "with state_since before since: the gap in the watch in between"]
    flapping: bool
    village: str
    village_name: str
    township: str
    township_name: str
    county: str
    county_name: str
    last_probe_at: OptTime
    video_ok: bool | None


class Interval(TypedDict):
    """A stored state interval, newest first. Its end is where it really ended: the stored end, cut
    at the start of the camera's next interval (an interval left open by a crash ends where the
    next one starts), so the intervals never overlap and only the current one has no end."""

    state: Annotated[str, State]
    cause: str | None
    start: Time
    end: Annotated[str | None, TIME, "the effective end: the stored end, or the start of the camera's next "
                   "interval if that is earlier (also when the stored interval was left open); "
                   "null only while the interval is still going"]


class StageResult(TypedDict):
    stage: Annotated[str, Stage]
    ok: bool
    ms: float
    cause: OptCause
    detail: str


class LastProbe(TypedDict):
    at: OptTime
    state: Literal["online", "degraded", "offline"]
    cause: OptCause
    stages: list[StageResult]


class CameraDetail(Camera):
    contractor: str | None
    lifecycle: Annotated[str, Lifecycle]
    pending: bool
    video_failed: list[str]
    recent_intervals: list[Interval]
    last_probe: LastProbe | None
    last_video_probe: LastProbe | None  # the video tier's (decoded picture) last probe while it fails, else null
    clock_offset_s: float | None
    warnings: list[str]


class Counts(TypedDict):
    total: int
    online: int
    degraded: int
    offline: int
    unknown: int
    excluded: int


Availability = TypedDict("Availability", {
    "from": Time, "to": Time, "ratio": Ratio, "ratio_without_exclusions": Ratio,
    "intact_ratio": Ratio, "intact_ratio_without_exclusions": Ratio})


class VillageCoverage(TypedDict):
    planned_points: int
    covered_points: int
    built_points: int
    ratio: float | None
    built_ratio: float | None
    fully_covered: bool
    fully_built: bool


class RegionCoverage(TypedDict):
    villages: int
    fully_covered: int
    fully_built: int
    ratio: float | None
    built_ratio: float | None


class RegionChild(TypedDict):
    code: Annotated[str, "region code, or the camera id for the cameras of a village"]
    name: str
    level: Literal["township", "village", "camera"]
    state: NotRequired[Annotated[str, State, "cameras only"]]
    cameras: Counts
    online_ratio: Ratio
    availability: Availability | None
    coverage: VillageCoverage | RegionCoverage | None


class Region(TypedDict):
    code: str
    name: str
    level: Annotated[str, RegionLevel]
    parent: str | None
    cameras: Counts
    online_ratio: Ratio
    availability: Availability | None
    coverage: VillageCoverage | RegionCoverage | None
    children_level: Literal["township", "village", "camera"]
    children: list[RegionChild]
    at: Time


class RateRow(TypedDict):
    key: str | int
    name: str
    cameras: int | None
    ratio: Ratio
    ratio_without_exclusions: Ratio
    target: float
    compliant: bool | None
    uncertainty_pp: Annotated[float | None, "± of ratio in percentage points: the half probe gaps of the "
                              "transitions in the period over eligible time (null: snapshot rates, or nothing eligible)"]
    uncertainty_pp_without_exclusions: float | None
    known_s: Annotated[float, "seconds the state was known (online + offline; unknown time left out)"]
    known_share: Annotated[float | None, "known time over the period times the cameras, a retired camera's "
                           "only up to its retirement (0..1)"]
    rank: NotRequired[Annotated[int | None, "with rank=1: 1 = best ratio, ties share; null: no ratio"]]
    rank_change: NotRequired[Annotated[int | None, "with rank=1: places gained since the previous period (negative: lost)"]]


PeriodBounds = TypedDict("PeriodBounds", {"from": Time, "to": Time})

RateTable = TypedDict("RateTable", {
    "level": Annotated[str, Level], "method": Annotated[str, Method], "from": Time, "to": Time,
    "rows": list[RateRow], "previous": NotRequired[PeriodBounds]})


class CoverageRow(TypedDict):
    code: str
    name: str
    planned_points: NotRequired[int]
    covered_points: NotRequired[int]
    built_points: NotRequired[int]
    villages: NotRequired[int]
    fully_covered: Annotated[bool | int | None, "a village's 全覆盖 (null over a period: no point counted, every one "
                             "excluded all of it); a township's fully covered villages"]
    fully_built: NotRequired[int]
    ratio: Annotated[float | None, "null over a period without data"]
    built_ratio: float


class CoverageTable(TypedDict):
    level: Annotated[str, CoverageLevel]
    over_period: bool
    rows: list[CoverageRow]


class Exclusion(TypedDict):
    id: int
    camera_id: int | None
    region_code: str | None
    start: Time
    end: Time
    reason: str
    approver: Annotated[str, "who approved it (an exclusion added directly), or the decider of a proposal"]
    created_at: OptTime
    status: Annotated[str, ExclusionStatus, "only approved (and ended) ones count"]
    proposer: Annotated[str | None, "the account that proposed it (报备申请), if proposed"]
    decider: str | None
    decided_at: OptTime
    decision_note: str | None
    warning: NotRequired[Annotated[ClosedMonthWarning, "an exclusion just added over a month already closed: kept, its signed figures unchanged"]]


class ClosedMonthWarning(TypedDict):
    code: Literal["closed_month"]
    months: list[str]
    zh: str
    en: str


class WorkOrder(TypedDict):
    id: int
    incident: str
    title: str | None
    status: Annotated[str, OrderStatus]
    color: Annotated[str, Color]
    severity: str
    cause: str | None
    camera_id: int | None
    region_code: str | None
    cameras: int
    opened_at: OptTime
    deadline: OptTime
    acknowledged_at: OptTime
    resolved_at: OptTime
    resolution: str | None
    note: str | None
    response_s: float | None
    repair_s: float | None


class Silence(TypedDict):
    id: int
    camera_id: int | None
    region_code: str | None
    until: OptTime
    reason: str


class CameraPage(TypedDict):
    items: list[Camera]
    total: int
    limit: int
    offset: int


class ExclusionPage(TypedDict):
    items: list[Exclusion]
    total: int
    limit: int
    offset: int


class WorkOrderPage(TypedDict):
    items: list[WorkOrder]
    total: int
    limit: int
    offset: int


class SilencePage(TypedDict):
    items: list[Silence]
    total: int
    limit: int
    offset: int
