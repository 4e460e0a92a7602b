"""Who simulated camera *i* is: its loopback address and its deterministic device identity."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import quote

RTSP_PATH = "/Streaming/Channels/101"
ONVIF_DEVICE_PATH = "/onvif/device_service"
ONVIF_MEDIA_PATH = "/onvif/media_service"

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_VENDORS: tuple[tuple[str, str, str], ...] = (
    ("Hikvision", "DS-2CD2143G2-I", "V5.7.3 build 220112"),
    ("Dahua", "IPC-HFW2431S-S-S2", "2.820.0000000.25.R"),
    ("Uniview", "IPC2124LB-SF40KM-G", "IPC_6201.10.2.200713"),
    ("Tiandy", "TC-C34WS", "V2.2.2.1"),
)


@dataclass(frozen=True, slots=True)
class SimCamera:
    """How to reach simulated camera ``index`` (the password is the fleet's, never printed)."""

    index: int
    host: str
    rtsp_port: int
    onvif_port: int
    rtsp_path: str = RTSP_PATH
    username: str = "admin"
    password: str = field(default="admin123", repr=False)

    @property
    def onvif_url(self) -> str:
        return f"http://{self.host}:{self.onvif_port}{ONVIF_DEVICE_PATH}"

    def rtsp_url(self, *, with_credentials: bool = False) -> str:
        userinfo = ""
        if with_credentials:
            userinfo = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return f"rtsp://{userinfo}{self.host}:{self.rtsp_port}{self.rtsp_path}"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    mac: str
    hardware_id: str


def address_for(index: int, base: str = "127.20.0.1") -> str:
    """The loopback address of camera ``index``, counting up from ``base`` and skipping any
    address whose last octet is 0 or 255."""
    if index < 0:
        raise ValueError("camera index must be >= 0")
    start = ipaddress.IPv4Address(base)
    if start not in _LOOPBACK:
        raise ValueError(f"base address {base} is not in 127.0.0.0/8")
    value = int(start)
    if value & 0xFF in (0, 255):
        raise ValueError(f"base address {base} ends in .0 or .255")
    # Position within the usable 1..254 octet range, then advance.
    block, octet = divmod(value, 256)
    pos = (octet - 1) + index
    block += pos // 254
    octet = pos % 254 + 1
    addr = ipaddress.IPv4Address(block * 256 + octet)
    if addr not in _LOOPBACK:
        raise ValueError(f"camera {index} from {base} runs past 127.255.255.254")
    return str(addr)


def identity_for(index: int) -> DeviceIdentity:
    """A stable vendor/model/firmware/serial/MAC for camera ``index``."""
    manufacturer, model, firmware = _VENDORS[index % len(_VENDORS)]
    mac_tail = index & 0xFFFFFF
    mac = "02:c0:77:" + ":".join(f"{(mac_tail >> shift) & 0xFF:02x}" for shift in (16, 8, 0))
    serial = f"CW{index:09d}SIM"
    return DeviceIdentity(manufacturer, model, firmware, serial, mac, f"HW-{index % 97:02d}")
