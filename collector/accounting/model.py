"""Typed inputs and per-camera results of the accounting functions (DESIGN §4)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from collector.accounting.intervals import to_us

STATES = frozenset({"online", "degraded", "offline", "unknown", "excluded"})
UP_STATES = frozenset({"online", "degraded"})


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open period [start, end) being accounted."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if to_us(self.end) < to_us(self.start):
            raise ValueError(f"period ends before it starts: {self.start} .. {self.end}")


@dataclass(frozen=True, slots=True)
class StateSpan:
    """One stored state interval of a camera; ``end=None`` means still going (ends at ``now``)."""

    camera_id: int
    state: str  # online | degraded | offline | unknown | excluded
    start: dt.datetime
    end: dt.datetime | None = None
    uncertainty_us: int = 0  # ± of ``start``: half the probe gap its transition was dated in

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown camera state {self.state!r}")


@dataclass(frozen=True, slots=True)
class ExclusionSpan:
    """An approved exclusion [start, end) (``end=None``: open-ended).

    Scope: one camera (``camera_id``), or every camera whose village, township or county code is
    ``region_code``, or — with both unset — every camera.
    """

    start: dt.datetime
    end: dt.datetime | None
    camera_id: int | None = None
    region_code: str | None = None

    def __post_init__(self) -> None:
        if self.camera_id is not None and self.region_code is not None:
            raise ValueError("an exclusion is scoped to a camera or to a region, not both")


@dataclass(frozen=True, slots=True)
class CameraRef:
    """A camera and where it belongs. ``retired`` cameras count for no coverage.

    ``retired_at``: when a retired camera was retired (the inventory's retirement time). From
    then on it is not to be watched: its time after it is accounted as nothing at all (neither
    online nor offline, nor unknown, nor excluded), so a retirement never lowers the known share
    of the months after it. A retired camera without a time is accounted as one in service.

    ``monitored_from``: when the camera entered monitoring, the other end of the same rule: its
    time before it is accounted as nothing at all, so a camera added in the middle of a month is
    not unknown for the days before it was watched (its time from then on counts as any camera's:
    offline from its first probe if it never came up). The loaders take the start of its first
    stored state interval (:mod:`collector.accounting.sql.entries`), so no span of it lies
    before, and the database sums of its states need no cut. None: no such cut (in monitoring
    since before any window it is accounted over, or never watched at all: all unknown).
    """

    camera_id: int
    point_id: int
    village: str
    township: str
    county: str
    contractor: str | None = None
    retired: bool = False
    retired_at: dt.datetime | None = None
    monitored_from: dt.datetime | None = None

    def accounted_from(self, lo_us: int) -> int:
        """The start (µs) of this camera's part of a window starting at ``lo_us``: when it entered
        monitoring when that comes later, else ``lo_us`` (may lie after the window's end)."""
        if self.monitored_from is None:
            return lo_us
        start = to_us(self.monitored_from)
        return start if start > lo_us else lo_us

    def accounted_until(self, hi_us: int) -> int:
        """The end (µs) of this camera's part of a window ending at ``hi_us``: its retirement
        time when that comes first, else ``hi_us`` (may lie before the window's start)."""
        if not self.retired or self.retired_at is None:
            return hi_us
        cut = to_us(self.retired_at)
        return cut if cut < hi_us else hi_us


@dataclass(frozen=True, slots=True)
class PointRef:
    point_id: int
    village: str
    planned: bool = True


def exact_ratio(num: Decimal | int, den: Decimal | int) -> Fraction | None:
    """num / den exactly; None when den is 0 (never divide by zero, never invent 100%)."""
    if den == 0:
        return None
    return Fraction(num) / Fraction(den)


@dataclass(frozen=True, slots=True)
class CameraTime:
    """Seconds (exact, microsecond resolution, as Decimal) of one camera or a sum of cameras.

    ``online_s + offline_s + unknown_s + excluded_s`` is the accounted window
    [period.start, min(period.end, now)) (only the part after the camera entered monitoring and
    before its retirement, :meth:`CameraRef.accounted_from` / :meth:`CameraRef.accounted_until`); ``eligible_s = online_s + offline_s``;
    ``intact_s`` (state ``online`` only) is part of ``online_s`` (which includes ``degraded``).
    ``uncertainty_s``: the half probe gaps of the transitions dated inside the window (how far
    the times may be off either way; DESIGN §3-§4).
    """

    online_s: Decimal
    intact_s: Decimal
    eligible_s: Decimal
    excluded_s: Decimal
    unknown_s: Decimal
    offline_s: Decimal
    uncertainty_s: Decimal = Decimal(0)

    @property
    def ratio(self) -> Fraction | None:
        """Exact availability online/eligible; round with ``round_ratio`` to report."""
        return exact_ratio(self.online_s, self.eligible_s)

    @property
    def intact_ratio(self) -> Fraction | None:
        return exact_ratio(self.intact_s, self.eligible_s)

    @property
    def uncertainty(self) -> Fraction | None:
        """How far either ratio may be off, as a ratio: the transitions' half gaps / eligible time."""
        return exact_ratio(self.uncertainty_s, self.eligible_s)

    def __add__(self, other: CameraTime) -> CameraTime:
        return CameraTime(
            self.online_s + other.online_s,
            self.intact_s + other.intact_s,
            self.eligible_s + other.eligible_s,
            self.excluded_s + other.excluded_s,
            self.unknown_s + other.unknown_s,
            self.offline_s + other.offline_s,
            self.uncertainty_s + other.uncertainty_s,
        )


ZERO = Decimal(0)
ZERO_TIME = CameraTime(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
_MICRO = Decimal("1E-6")


def us_seconds(us: int) -> Decimal:
    """Integer microseconds as exact Decimal seconds (a product: faster than ``scaleb(-6)``, same value)."""
    return Decimal(us) * _MICRO


def time_from_us(window: int, intact: int, degraded: int, down: int, excluded: int = 0,
                 uncertainty: int = 0) -> CameraTime:
    """A :class:`CameraTime` from integer microseconds; the rest of ``window`` is unknown."""
    up = intact + degraded
    return CameraTime(online_s=us_seconds(up), intact_s=us_seconds(intact), eligible_s=us_seconds(up + down),
                      excluded_s=us_seconds(excluded), unknown_s=us_seconds(window - up - down - excluded),
                      offline_s=us_seconds(down), uncertainty_s=us_seconds(uncertainty))


@dataclass(frozen=True, slots=True)
class CameraTimes:
    """One camera's (or group's) time accounted with and without the exclusions."""

    with_exclusions: CameraTime
    without_exclusions: CameraTime

