"""The inventory as stored: a read-only snapshot loaded in a few bulk queries.

A camera's snapshot is its :class:`~inventory.record.CameraRecord`: the columns selected are
those of the field table (:data:`inventory.fields.CAMERA_RECORD`), plus its links.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.models import Camera, Device, Lifecycle, Point, Region, RegionLevel
from inventory.record import ATTRS, INDEX, CameraRecord, PointValues


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    derived: bool


@dataclass(frozen=True, slots=True)
class PointRow:
    id: int
    village_code: str
    name: str
    values: PointValues
    retired: bool


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    name: str
    host: str


@dataclass(frozen=True, slots=True)
class CameraRow:
    """A stored camera: its record (the table's camera fields) and the links the plan resolves."""

    id: int
    point_id: int
    credential_ref: str | None
    parent_device_id: int | None
    record: CameraRecord

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def gb_id(self) -> str | None:
        return self.record.gb_id

    @property
    def lifecycle(self) -> Lifecycle:
        return self.record.lifecycle

    @property
    def address(self) -> tuple[str | None, int, str]:
        return self.record.address


@dataclass(frozen=True, slots=True)
class InventoryState:
    regions: dict[str, RegionRow]
    points: dict[int, PointRow]
    devices: dict[int, DeviceRow]
    cameras: dict[int, CameraRow]

    def county_of(self, region_code: str) -> str | None:
        seen = 0
        code: str | None = region_code
        while code is not None and seen < 4:
            r = self.regions.get(code)
            if r is None:
                return None
            if r.level is RegionLevel.COUNTY:
                return r.code
            code = r.parent_code
            seen += 1
        return None


async def load_state(session: AsyncSession) -> InventoryState:
    regions = {
        r.code: RegionRow(r.code, r.name, RegionLevel(r.level), r.parent_code, bool(r.derived))
        for r in (await session.execute(select(Region.code, Region.name, Region.level, Region.parent_code, Region.derived))).all()
    }
    points = {
        p.id: PointRow(p.id, p.village_code, p.name, PointValues(p.kind, p.lon, p.lat, bool(p.planned)), bool(p.retired))
        for p in (await session.execute(select(Point.id, Point.village_code, Point.name, Point.kind, Point.lon, Point.lat, Point.planned, Point.retired))).all()
    }
    devices = {
        d.id: DeviceRow(d.id, d.name, d.host)
        for d in (await session.execute(select(Device.id, Device.name, Device.host))).all()
    }
    links = (Camera.id, Camera.point_id, Camera.credential_ref, Camera.parent_device_id)
    lc = len(links) + INDEX["lifecycle"]
    cameras = {}
    for row in (await session.execute(select(*links, *(getattr(Camera, a) for a in ATTRS)))).all():
        values = tuple(row)
        if not isinstance(values[lc], Lifecycle):
            values = (*values[:lc], Lifecycle(values[lc]), *values[lc + 1 :])
        cameras[row[0]] = CameraRow(row[0], row[1], row[2], row[3], CameraRecord(values[len(links) :]))
    return InventoryState(regions, points, devices, cameras)
