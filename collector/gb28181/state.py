"""What the access platform knows of each device and channel (frozen values), and the events
the registry emits when a verdict changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from probes.causes import Cause
from probes.gb28181.transport import Peer


class GbVerdict(StrEnum):
    """A device's or channel's state as its signalling tells it."""

    ONLINE = "online"
    PLATFORM_OFFLINE = "platform_offline"  # registration expired or gone, or keepalives stopped
    CHANNEL_OFF = "channel_off"  # the device's catalog says OFF
    NOT_REGISTERED = "not_registered"  # never registered (or the channel is not in its catalog)

    @property
    def cause(self) -> Cause | None:
        """The offline cause (probes/causes.py) of this verdict; None when online."""
        return None if self is GbVerdict.ONLINE else Cause(self.value)


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One catalog item (a camera of an NVR or lower platform, or the device itself)."""

    channel_id: str
    device_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    civil_code: str = ""
    address: str = ""
    parental: bool = False
    parent_id: str = ""
    status: str = ""  # ON / OFF / "" (not told)
    updated_at: float = 0.0

    @property
    def off(self) -> bool:
        return self.status in ("OFF", "OFFLINE")


@dataclass(frozen=True, slots=True)
class DeviceInfoFields:
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    channels: int | None = None


NO_CHANNELS: Mapping[str, ChannelState] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device (IPC, NVR, lower platform) that registered, or tried to."""

    device_id: str
    peer: Peer | None = None  # where its REGISTER came from (queries go there)
    registered: bool = False  # a registration in force (it may still have expired: see expires_at)
    registered_at: float | None = None
    expires_at: float = 0.0
    last_seen: float | None = None  # any message from it: REGISTER, keepalive, an answer
    last_keepalive: float | None = None
    keepalive_status: str = ""  # OK / ERROR from its last keepalive
    catalog_at: float | None = None  # its last complete catalog
    catalog_asked_at: float | None = None
    status_asked_at: float | None = None  # last DeviceStatus query (sent when a keepalive is late)
    channels: Mapping[str, ChannelState] = field(default_factory=lambda: NO_CHANNELS)
    info: DeviceInfoFields | None = None
    listed: bool = True  # False: not in the inventory (kept for import, never counted)
    restored_at: float | None = None  # read back at a start of camwatch, alive at its stop: its silence counted from then
    kept_at: float | None = None  # read back: when its row was last written (at a clean stop: the stop, if dead then)

    @property
    def heard_at(self) -> float:
        """Since when its silence counts: its last message, its registration, or camwatch's
        start when the registration was read back (a restart is not the device's silence)."""
        seen = self.last_seen if self.last_seen is not None else (self.registered_at or 0.0)
        return seen if self.restored_at is None or seen >= self.restored_at else self.restored_at

    def alive(self, now: float, keepalive_status: str | None = None) -> DeviceState:
        """This state with a sign of life at *now* (a keepalive when *keepalive_status* is
        given). Field by field: 4 times faster than ``dataclasses.replace`` on the keepalive
        path (a test checks it agrees with replace)."""
        ka, ks = (self.last_keepalive, self.keepalive_status) if keepalive_status is None else (now, keepalive_status)
        return DeviceState(self.device_id, self.peer, self.registered, self.registered_at, self.expires_at, now, ka, ks,
                           self.catalog_at, self.catalog_asked_at, self.status_asked_at, self.channels, self.info,
                           self.listed, self.restored_at, self.kept_at)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    device_id: str
    verdict: GbVerdict
    previous: GbVerdict | None
    at: float  # when the verdict holds from: the message that told it, or the deadline passed (expiry, timeout)
    last_seen: float | None  # a keepalive timeout only: the last sign of life (the outage began between it and
    # ``at``); None: the verdict is dated at ``at`` itself (a REGISTER, a NOTIFY, a catalog, a logout, an expiry)


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    device_id: str
    channel_id: str
    verdict: GbVerdict
    previous: GbVerdict | None
    at: float  # as DeviceEvent's
    last_seen: float | None  # as DeviceEvent's

    @property
    def cause(self) -> Cause | None:
        return self.verdict.cause


GbEvent = DeviceEvent | ChannelEvent
