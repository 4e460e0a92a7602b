"""What an import plan is: the changes it would write, and the issues that stop it.

Built by :func:`inventory.plan.build_plan`, written by :func:`inventory.apply.apply_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inventory.messages import Issue, Severity
from inventory.models import RegionLevel
from inventory.record import CameraRecord, PointValues
from inventory.state import DeviceRow

# Parents before children.
LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)


@dataclass(frozen=True, slots=True)
class RegionNew:
    """A region not stored yet; ``derived``: its code was derived from names."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    derived: bool
    row: int


@dataclass(frozen=True, slots=True)
class RegionChange:
    """A stored region whose name or parent the file changes."""

    code: str
    name: str
    parent_code: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PointNew:
    """A point the file names that is not stored yet (``row``: the first row naming it)."""

    village_code: str
    name: str
    values: PointValues
    row: int


@dataclass(frozen=True, slots=True)
class PointChange:
    """A stored point after the import (no longer retired, if it was)."""

    id: int
    village_code: str
    name: str
    values: PointValues
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceNew:
    """An upstream device first named on ``row``, placed in that row's village."""

    host: str
    name: str
    region_code: str
    row: int


@dataclass(frozen=True, slots=True)
class CameraValues:
    """Every stored field of a camera after the import; the point and parent by key."""

    point_key: tuple[str, str]
    parent_host: str | None
    record: CameraRecord
    credential_ref: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class CameraNew:
    """A camera of ``row`` that matches no stored camera."""

    values: CameraValues
    row: int


@dataclass(frozen=True, slots=True)
class CameraChange:
    """A stored camera (``id``) whose ``fields`` the row of ``row`` changes."""

    id: int
    values: CameraValues
    fields: tuple[str, ...]
    row: int


@dataclass(frozen=True, slots=True)
class Retire:
    """A stored point or camera the file no longer lists; ``detail`` says where or what it was."""

    id: int
    name: str
    detail: str


@dataclass(slots=True, repr=False)
class Plan:
    issues: list[Issue] = field(default_factory=list)
    counties: set[str] = field(default_factory=set)
    region_new: list[RegionNew] = field(default_factory=list)
    region_changed: list[RegionChange] = field(default_factory=list)
    point_new: list[PointNew] = field(default_factory=list)
    point_changed: list[PointChange] = field(default_factory=list)
    point_retired: list[Retire] = field(default_factory=list)
    device_new: list[DeviceNew] = field(default_factory=list)
    device_changed: list[DeviceRow] = field(default_factory=list)  # renamed devices, as they will be
    camera_new: list[CameraNew] = field(default_factory=list)
    camera_changed: list[CameraChange] = field(default_factory=list)
    camera_retired: list[Retire] = field(default_factory=list)
    camera_unchanged: int = 0
    rows: int = 0  # the file's data rows, with errors or not
    rows_with_errors: int = 0  # of those, the rows with an error

    def __repr__(self) -> str:
        # Counts only: a plan of 100k cameras must not be turned into text by accident.
        return (f"Plan(rows={self.rows}, issues={len(self.issues)}, regions +{len(self.region_new)}"
                f" ~{len(self.region_changed)}, points +{len(self.point_new)} ~{len(self.point_changed)}"
                f" -{len(self.point_retired)}, cameras +{len(self.camera_new)} ~{len(self.camera_changed)}"
                f" -{len(self.camera_retired)} ={self.camera_unchanged})")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        return not any(
            (self.region_new, self.region_changed, self.point_new, self.point_changed,
             self.point_retired, self.device_new, self.device_changed, self.camera_new,
             self.camera_changed, self.camera_retired)
        )
