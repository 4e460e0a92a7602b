"""Accounting (DESIGN §4): the rules that turn state intervals into the rates contracts pay on.

Two layers:

* **here, the pure rules**: functions of typed values (state spans, exclusions, cameras, a period
  and ``now`` passed in), nothing else; no database, no clock, no logger (``tests/collector/
  test_accounting_layout.py`` holds them to it). ``model`` (inputs and per-camera times),
  ``intervals`` (half-open interval arithmetic), ``timeline`` (a camera's spans as clean
  segments), ``exclusions`` (exclusions indexed by scope), ``levels`` (row keys: camera, point,
  village, township, county, contractor), ``rates`` (time-weighted and intact rates),
  ``snapshots`` (rates at the assessors' check times), ``coverage`` (覆盖率 / 全覆盖),
  ``targets`` (考核目标), ``rounding`` (0.01 percentage points, half up).
* **``sql/``, the database side**: loads what a period needs, pushes the same sums into SQLite or
  PostgreSQL, keeps the daily rollups, and shapes the tables the CLI and the API print; it must
  give exactly the numbers of the pure rules (see :mod:`collector.accounting.sql`).

Time is handled as exact integer microseconds; seconds are exposed as ``Decimal`` and ratios as
exact ``Fraction`` until :func:`round_ratio` reports them to 0.01 percentage points, half up.
"""

from collector.accounting.coverage import (
    DEFAULT_THRESHOLD,
    RegionCoverage,
    VillageCoverage,
    township_coverage,
    village_coverage,
    village_coverage_over,
)
from collector.accounting.exclusions import ExclusionIndex, Exclusions, index_exclusions
from collector.accounting.intervals import clip, duration, from_us, subtract, to_us, total_us, union
from collector.accounting.levels import Level, cameras_by, group_by
from collector.accounting.model import (
    CameraRef,
    CameraTime,
    CameraTimes,
    ExclusionSpan,
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
from collector.accounting.targets import DEFAULT_TARGET, ContractorRef, RegionPath, Targets, compliant, target_for
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
    "Exclusions",
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
    "cameras_by",
    "check_instants",
    "clip",
    "compliant",
    "duration",
    "exact_ratio",
    "from_us",
    "group_by",
    "group_spans",
    "index_exclusions",
    "percent",
    "rates_by",
    "round_ratio",
    "round_us_ratio",
    "time_from_us",
    "snapshot_rates_by",
    "subtract",
    "target_for",
    "to_us",
    "total_us",
    "township_coverage",
    "union",
    "us_seconds",
    "village_coverage",
    "village_coverage_over",
]
