"""The inventory as stored: a read-only snapshot loaded in a few bulk queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.models import Camera, Device, Lifecycle, Point, Region, RegionLevel


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
    kind: str | None
    lon: float | None
    lat: float | None
    planned: bool
    retired: bool


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    name: str
    host: str


@dataclass(frozen=True, slots=True)
class CameraRow:
    id: int
    point_id: int
    name: str
    gb_id: str | None
    host: str
    rtsp_port: int
    rtsp_path: str
    onvif_port: int | None
    username: str | None
    credential_ref: str | None
    vendor: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    mac: str | None
    contractor: str | None
    lifecycle: Lifecycle
    parent_device_id: int | None
    installed_on: dt.date | None

    @property
    def address(self) -> tuple[str, int, str]:
        return (self.host, self.rtsp_port, self.rtsp_path)


CAMERA_FIELDS = tuple(f for f in CameraRow.__dataclass_fields__ if f != "id")


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
        p.id: PointRow(p.id, p.village_code, p.name, p.kind, p.lon, p.lat, bool(p.planned), bool(p.retired))
        for p in (await session.execute(select(Point.id, Point.village_code, Point.name, Point.kind, Point.lon, Point.lat, Point.planned, Point.retired))).all()
    }
    devices = {
        d.id: DeviceRow(d.id, d.name, d.host)
        for d in (await session.execute(select(Device.id, Device.name, Device.host))).all()
    }
    cols = [getattr(Camera, f) for f in ("id", *CAMERA_FIELDS)]
    cameras = {}
    for row in (await session.execute(select(*cols))).all():
        values = dict(zip(("id", *CAMERA_FIELDS), row, strict=True))
        values["lifecycle"] = Lifecycle(values["lifecycle"])
        cameras[values["id"]] = CameraRow(**values)
    return InventoryState(regions, points, devices, cameras)
