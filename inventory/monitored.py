"""What the collector keeps of each camera while it runs: plain frozen values, no database.

The probe worker processes (``collector.workers``) hold these for their cameras; this module
imports neither SQLAlchemy nor pydantic, so a worker does not pay for them (tens of MB each).
:mod:`inventory.lookup` builds them from the database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from inventory.access import Access
from probes.base import ProbeTarget


class Lifecycle(enum.StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class RegionLabels:
    """A camera's place: codes and names of its village, township and county."""

    village: str
    village_name: str
    township: str
    township_name: str
    county: str
    county_name: str


@dataclass(frozen=True, slots=True)
class MonitoredCamera:
    id: int
    name: str
    point_id: int
    target: ProbeTarget
    parent_device_id: int | None
    contractor: str | None
    lifecycle: Lifecycle
    labels: RegionLabels
    point_name: str = ""
    lon: float | None = None
    lat: float | None = None
    # Why its stored password cannot be read (no key, wrong key, env variable unset), or None.
    # Such a camera's target carries no credentials and the collector attempts no login with it.
    credential_error: str | None = None
    gb_id: str | None = None  # its GB/T 28181 ID (20 digits), if any
    access: Access = Access.DIRECT  # 接入方式: a GB28181-only camera is never probed directly

    @property
    def probed(self) -> bool:
        """Whether the scheduler probes it directly (direct or both, with an address); else only
        signalling tells its state. A camera without an address is never probed, whatever its access."""
        return self.access is not Access.GB28181 and bool(self.target.host)


@dataclass(frozen=True, slots=True)
class MonitoredDevice:
    id: int
    name: str
    host: str


NOWHERE = RegionLabels("", "", "", "", "", "")


def for_probing(cam: MonitoredCamera) -> MonitoredCamera:
    """*cam* with only what probing it needs (id, address, credentials, access, upstream device):
    what a probe worker process keeps of it. Names, place, point, contractor and GB/T 28181 ID
    (signalling is the collector's) stay with the collector (~0.35 KB a camera less in the workers)."""
    return replace(cam, name="", point_id=0, labels=NOWHERE, contractor=None, point_name="", lon=None, lat=None,
                   gb_id=None)


def shared_ports(target: ProbeTarget, ports: dict[int, int]) -> tuple[int, int | None]:
    """*target*'s RTSP and ONVIF ports as the objects kept in *ports*: one int object per port number
    for all the cameras that use it (each camera read from the database, or unpickled, has its own)."""
    rtsp = ports.setdefault(target.rtsp_port, target.rtsp_port)
    onvif = target.onvif_port
    return rtsp, None if onvif is None else ports.setdefault(onvif, onvif)


def keep_unchanged(old: Iterable[MonitoredCamera], new: list[MonitoredCamera]) -> list[MonitoredCamera]:
    """*new*, each camera equal to its previous self replaced by that object: an inventory reload
    (every 30 s) then keeps nothing new for an unchanged camera, and whoever holds the previous
    one (scheduler slots, the workers' lists, the metrics, which compare by identity) holds this."""
    prev = {c.id: c for c in old}
    return [p if (p := prev.get(c.id)) is not None and p == c else c for c in new]


__all__ = ["NOWHERE", "Lifecycle", "MonitoredCamera", "MonitoredDevice", "RegionLabels", "for_probing", "keep_unchanged", "shared_ports"]
