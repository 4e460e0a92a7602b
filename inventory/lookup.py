"""Turning stored cameras into probe targets (with their credentials resolved)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.access import Access
from inventory.models import Camera, Device, InventoryRevision, Point, Region
from inventory.monitored import Lifecycle, MonitoredCamera, MonitoredDevice, RegionLabels, shared_ports
from inventory.secrets import SecretBox, SecretError
from probes.base import ProbeTarget


class CameraNoAddress(LookupError):
    """A GB28181-only camera stored without an address: nothing to probe directly."""

    def __init__(self, camera_id: int) -> None:
        super().__init__(f"camera {camera_id} has no address (GB28181 only)")
        self.camera_id = camera_id


class CameraNotFound(LookupError):
    def __init__(self, camera_id: int) -> None:
        super().__init__(f"no camera with id {camera_id}")
        self.camera_id = camera_id


class StoredAddress(Protocol):
    """What a probe target is made of: a :class:`Camera` or a row of its columns."""

    id: int
    host: str | None
    rtsp_port: int
    rtsp_path: str
    onvif_port: int | None
    username: str | None
    credential_ref: str | None


def target_of(camera: StoredAddress, box: SecretBox) -> ProbeTarget:
    """The camera's probe target, its password revealed (:class:`SecretError` when it cannot be)."""
    return ProbeTarget(
        host=camera.host or "",  # "": a GB28181-only camera without an address (never probed)
        rtsp_port=camera.rtsp_port,
        rtsp_path=camera.rtsp_path,
        onvif_port=camera.onvif_port,
        username=camera.username,
        password=box.reveal(camera.credential_ref),
        camera_id=camera.id,
    )


async def load_probe_target(engine: AsyncEngine, box: SecretBox, camera_id: int) -> ProbeTarget:
    async with AsyncSession(engine) as session:
        cam = (await session.execute(select(Camera).where(Camera.id == camera_id))).scalar_one_or_none()
    if cam is None:
        raise CameraNotFound(camera_id)
    if cam.host is None:
        raise CameraNoAddress(camera_id)
    return target_of(cam, box)


_MONITORED_COLUMNS = (Camera.id, Camera.name, Camera.point_id, Camera.host, Camera.rtsp_port, Camera.rtsp_path,
                      Camera.onvif_port, Camera.username, Camera.credential_ref, Camera.parent_device_id,
                      Camera.contractor, Camera.lifecycle, Camera.gb_id, Camera.access)


async def inventory_revision(engine: AsyncEngine) -> int:
    """The inventory's revision: it moves at every write to cameras, points, regions or devices
    (database triggers, migration 0013), so an unchanged value means an unchanged inventory."""
    async with engine.connect() as conn:
        return int((await conn.execute(select(InventoryRevision.revision).where(InventoryRevision.id == 1))).scalar_one())


async def load_monitored(engine: AsyncEngine, box: SecretBox) -> tuple[list[MonitoredCamera], list[MonitoredDevice]]:
    """Every non-retired camera with its resolved credentials and region labels, and the upstream devices."""
    async with AsyncSession(engine) as s:
        regions = {r.code: r for r in (await s.execute(select(Region.code, Region.name, Region.parent_code))).all()}
        point_rows = (await s.execute(select(Point.id, Point.village_code, Point.name, Point.lon, Point.lat))).all()
        points = {p.id: p.village_code for p in point_rows}
        places = {p.id: (p.name, p.lon, p.lat) for p in point_rows}
        # rows of columns, not ORM objects: a reload (every 30 s) of 100k cameras made ~150 MB of those
        cams = (await s.execute(select(*_MONITORED_COLUMNS).where(Camera.lifecycle != Lifecycle.RETIRED))).all()
        devices = [MonitoredDevice(d.id, d.name, d.host) for d in (await s.execute(select(Device))).scalars()]
    out: list[MonitoredCamera] = []
    # A collector keeps these for every camera as long as it runs: one labels object per village,
    # and one copy of the texts that many cameras share (stream path, user name, contractor). (Not
    # the names: nearly one per camera, interning them costs as much as it saves.)
    shared_labels: dict[str, RegionLabels] = {}
    intern = sys.intern
    # one object for each port number and each password that many cameras share (a county's cameras
    # often have one default password per contractor); local to this load, never interned
    ports: dict[int, int] = {}
    passwords: dict[str | None, str | None] = {}
    # and one int object per point and upstream device (each row's id is an object of its own: 28 bytes)
    point_ids = {p.id: p.id for p in point_rows}
    device_ids = {d.id: d.id for d in devices}
    for c in cams:
        village_code = points.get(c.point_id, "")
        labels = shared_labels.get(village_code)
        if labels is None:
            v = regions.get(village_code)
            t = regions.get(v.parent_code) if v is not None and v.parent_code else None
            k = regions.get(t.parent_code) if t is not None and t.parent_code else None
            labels = shared_labels[village_code] = RegionLabels(
                v.code if v else "", v.name if v else "", t.code if t else "", t.name if t else "",
                k.code if k else "", k.name if k else "",
            )
        credential_error = None
        try:
            target = target_of(c, box)
        except SecretError as exc:  # (its message names no secret: the variable's name at most)
            credential_error = str(exc)
            target = ProbeTarget(c.host or "", c.rtsp_port, c.rtsp_path, c.onvif_port, None, None, c.id)
        rtsp_port, onvif_port = shared_ports(target, ports)
        target = replace(target, rtsp_path=intern(target.rtsp_path),
                         username=None if target.username is None else intern(target.username),
                         rtsp_port=rtsp_port, onvif_port=onvif_port,
                         password=passwords.setdefault(target.password, target.password), camera_id=c.id)
        p_name, lon, lat = places.get(c.point_id, ("", None, None))
        parent = c.parent_device_id
        out.append(MonitoredCamera(c.id, c.name, point_ids.get(c.point_id, c.point_id), target,
                                   None if parent is None else device_ids.get(parent, parent),
                                   None if c.contractor is None else intern(c.contractor), Lifecycle(c.lifecycle), labels,
                                   p_name, lon, lat, credential_error, c.gb_id, Access(c.access)))
    return out, devices


@dataclass(frozen=True, slots=True)
class CredentialReport:
    """The cameras whose stored credential cannot be resolved: how many, why, a few of them."""

    count: int
    reasons: dict[str, int]  # reason -> cameras
    examples: tuple[tuple[int, str], ...]  # (id, name) of the first few

    @classmethod
    def of(cls, cameras: list[MonitoredCamera], examples: int = 5) -> CredentialReport:
        bad = [c for c in cameras if c.credential_error is not None]
        reasons: dict[str, int] = {}
        for c in bad:
            reason = c.credential_error or ""
            reasons[reason] = reasons.get(reason, 0) + 1
        return cls(len(bad), reasons, tuple((c.id, c.name) for c in bad[:examples]))


async def unresolved_credentials(engine: AsyncEngine, box: SecretBox) -> list[tuple[int, str, SecretError]]:
    """(id, name, why) of every monitored camera whose stored credential cannot be resolved."""
    async with AsyncSession(engine) as s:
        rows = (await s.execute(select(Camera.id, Camera.name, Camera.credential_ref)
                                .where(Camera.lifecycle != Lifecycle.RETIRED, Camera.credential_ref.is_not(None))
                                .order_by(Camera.id))).all()
    out: list[tuple[int, str, SecretError]] = []
    for cid, name, ref in rows:
        try:
            box.reveal(ref)
        except SecretError as exc:
            out.append((cid, name, exc))
    return out
