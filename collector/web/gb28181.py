"""``GET /api/v1/gb28181/devices``: what the running collector's GB/T 28181 access platform knows —
the devices registered (or that tried), their catalogs with each channel's verdict and the
inventory camera it feeds; with ``unlisted=true`` the devices the inventory does not list (kept
for import, never counted). Admin and assessor only (other roles 403): the list names device
addresses and IDs outside any region's scope; anonymous reads, where open, read it as any other."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, TypedDict

from aiohttp import web

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState, GbVerdict
from collector.gb28181.verdict import channel_verdict, device_verdict
from collector.web.auth import forbidden
from collector.web.common import camwatch, json_response
from collector.web.params import flag
from collector.web.principal import Role, principal_of
from collector.web.spec import meta

Time = Annotated[str | None, meta(format="date-time")]
Verdict = Annotated[str | None, GbVerdict]


class GbChannel(TypedDict):
    channel_id: str
    name: str
    manufacturer: str
    model: str
    civil_code: str
    address: str
    parental: bool
    parent_id: str
    status: Annotated[str, "the catalog's Status: ON, OFF or empty (not told)"]
    verdict: Verdict
    camera_id: Annotated[int | None, "the inventory camera with this GB ID"]


class GbDevice(TypedDict):
    device_id: str
    listed: bool
    trusted: Annotated[bool, "false: gb28181.trusted_devices is set and does not name it, so its catalog's entries "
                       "for inventory cameras are ignored (未受信任; a camera registering as itself still tells its own state)"]
    verdict: Verdict
    registered: bool
    transport: str | None
    address: Annotated[str | None, "where its REGISTER came from (host:port)"]
    registered_at: Time
    expires_at: Time
    last_seen: Time
    last_keepalive: Time
    catalog_at: Time
    name: str
    manufacturer: str
    model: str
    firmware: str
    camera_id: Annotated[int | None, "the inventory camera with this GB ID (a camera registering as itself)"]
    channels: list[GbChannel]


class GbDevicePage(TypedDict):
    enabled: Annotated[bool, "gb28181.enabled: the platform runs in this collector (replicas: on the leader, see host)"]
    host: Annotated[str | None, "replicas: the replica hosting the platform (the leader) when it is another one: its API lists the devices"]
    unlisted: bool
    devices: list[GbDevice]


def _time(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def device_body(dev: DeviceState, now: float, s: Gb28181Settings, cameras: dict[str, int], *,
                trusted: bool = True) -> GbDevice:
    chans: list[GbChannel] = []
    for ch in sorted(dev.channels.values(), key=lambda c: c.channel_id):
        v = channel_verdict(dev, ch.channel_id, now, s)
        chans.append({"channel_id": ch.channel_id, "name": ch.name, "manufacturer": ch.manufacturer,
                      "model": ch.model, "civil_code": ch.civil_code, "address": ch.address,
                      "parental": ch.parental, "parent_id": ch.parent_id, "status": ch.status,
                      "verdict": None if v is None else v.value, "camera_id": cameras.get(ch.channel_id)})
    info = dev.info
    peer = dev.peer
    return {"device_id": dev.device_id, "listed": dev.listed, "trusted": trusted,
            "verdict": device_verdict(dev, now, s).value,
            "registered": dev.registered, "transport": peer.transport if peer else None,
            "address": f"{peer.host}:{peer.port}" if peer else None, "registered_at": _time(dev.registered_at),
            "expires_at": _time(dev.expires_at or None), "last_seen": _time(dev.last_seen),
            "last_keepalive": _time(dev.last_keepalive), "catalog_at": _time(dev.catalog_at),
            "name": info.name if info else "", "manufacturer": info.manufacturer if info else "",
            "model": info.model if info else "", "firmware": info.firmware if info else "",
            "camera_id": cameras.get(dev.device_id), "channels": chans}


async def list_gb28181_devices(request: web.Request) -> web.Response:
    p = principal_of(request)  # None: anonymous reads are open (http.open_reads, no account), as for every read
    if p is not None and p.role not in (Role.ADMIN, Role.ASSESSOR):
        raise forbidden(request, f"{p.name} ({p.role}) may not read the GB/T 28181 devices (admin or assessor) / 无权查看国标设备")
    app = camwatch(request)
    unlisted = flag(request, "unlisted") or False
    feed = app.gb28181
    devices: list[GbDevice] = []
    if feed is not None:
        reg = feed.platform.registry
        now = time.time()  # the platform's clock
        cameras = {gb: cam.id for gb, cam in feed.by_gb().items()}  # (a replica's leader: every camera)
        devs = reg.unlisted() if unlisted else reg.devices()
        devices = [device_body(d, now, reg.settings, cameras, trusted=reg.trust.trusted(d.device_id))
                   for d in sorted(devs, key=lambda d: d.device_id)]
    replica = app.replica
    on = feed is not None or (replica is not None and app.settings.gb28181.enabled)
    host = replica.leader_id if replica is not None and on and feed is None else None
    page: GbDevicePage = {"enabled": on, "host": host, "unlisted": unlisted, "devices": devices}
    return json_response(page)


__all__ = ["GbChannel", "GbDevice", "GbDevicePage", "list_gb28181_devices"]
