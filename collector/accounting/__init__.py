"""Accounting (DESIGN §4): pure functions over state spans, exclusions and the inventory.

Time is handled as exact integer microseconds; seconds are exposed as ``Decimal`` and ratios as
exact ``Fraction`` until :func:`round_ratio` reports them to 0.01 percentage points, half up.
Nothing here touches a database, a clock or a logger.
"""

from collector.accounting.coverage import (
    DEFAULT_THRESHOLD,
    RegionCoverage,
    VillageCoverage,
    township_coverage,
    village_coverage,
    village_coverage_over,
)
from collector.accounting.exclusions import ExclusionIndex, index_exclusions
from collector.accounting.intervals import clip, duration, from_us, subtract, to_us, total_us, union
from collector.accounting.model import (
    CameraRef,
    CameraTime,
    CameraTimes,
    ExclusionSpan,
    Level,
    Period,
    PointRef,
    StateSpan,
    exact_ratio,
    time_from_us,
    us_seconds,
)
from collector.accounting.rates import RateRow, aggregate, camera_availability, camera_times, rates_by
from collector.accounting.rounding import percent, round_ratio, round_us_ratio
from collector.accounting.snapshots import (
    DEFAULT_CHECK_TIMES,
    DEFAULT_TZ,
    CheckInstant,
    DaySnapshot,
    Sample,
    SnapshotRow,
    check_instants,
    snapshot_rates_by,
)
from collector.accounting.targets import (
    DEFAULT_TARGET,
    ContractorRef,
    RegionPath,
    Targets,
    compliant,
    target_for,
)
from collector.accounting.timeline import group_spans

__all__ = [
    "DEFAULT_CHECK_TIMES",
    "DEFAULT_TARGET",
    "DEFAULT_THRESHOLD",
    "DEFAULT_TZ",
    "CameraRef",
    "CameraTime",
    "CameraTimes",
    "CheckInstant",
    "ContractorRef",
    "DaySnapshot",
    "ExclusionIndex",
    "ExclusionSpan",
    "Level",
    "Period",
    "PointRef",
    "RateRow",
    "RegionCoverage",
    "RegionPath",
    "Sample",
    "SnapshotRow",
    "StateSpan",
    "Targets",
    "VillageCoverage",
    "aggregate",
    "camera_availability",
    "camera_times",
    "check_instants",
    "clip",
    "compliant",
    "duration",
    "exact_ratio",
    "from_us",
    "group_spans",
    "index_exclusions",
    "percent",
    "rates_by",
    "round_ratio",
    "round_us_ratio",
    "time_from_us",
    "us_seconds",
    "snapshot_rates_by",
    "subtract",
    "target_for",
    "to_us",
    "total_us",
    "township_coverage",
    "union",
    "village_coverage",
    "village_coverage_over",
]
