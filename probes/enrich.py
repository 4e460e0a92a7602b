"""Inventory enrichment over ONVIF: vendor, model, firmware, serial, MAC, media profiles,
stream and snapshot URIs. A slow, occasional path (on import of a camera, on demand),
never the probe hot path (that is :mod:`probes.onvif`).

It uses onvif-zeep-async. Its parsed WSDL documents are cached per process by the
library itself (``onvif.client``'s module-level document cache, loaded in an executor
thread, with one shared zeep ``Settings`` and a file-only transport), so only the first
camera pays for parsing: measured here about 160 ms CPU for the device and media
WSDLs, then about 5-8 ms CPU per camera for its client objects and five calls. Call
:func:`warm_up` once at start-up to pay the first cost early. The library is imported
on first use (it configures logging at import; we keep it from touching the root logger).

Every foreign error (zeep, aiohttp, OSError, the library's own) becomes one
:class:`EnrichError` with a :class:`~probes.base.Cause` in :func:`map_error`; the
password never appears in an error, a repr or a returned URI.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from probes.base import Cause, ProbeTarget
from probes.redact import camera_text, redact_url

_AUTH_NAMES = frozenset({"NotAuthorized", "FailedAuthentication", "InvalidSecurityToken",
                         "InvalidSecurity", "SecurityTokenUnavailable", "Unauthorized"})
_AUTH_TEXT = re.compile(r"not\s+authori[sz]ed|unauthori[sz]ed|authenticat|status.?code:?\s*40[13]",
                        re.IGNORECASE)
_MEDIA_NS = "http://www.onvif.org/ver10/media/wsdl"


@dataclass(frozen=True, slots=True)
class Profile:
    """One media profile (ONVIF Media 1.0): its video encoder's codec and resolution."""

    token: str
    name: str | None = None
    encoding: str | None = None  # "H264", "H265", "JPEG", ...
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What enrichment learned; ``stream_uris[i]`` belongs to ``profiles[i]`` (None when the
    camera did not give one). URIs have any ``user:password@`` redacted."""

    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    mac: str | None = None
    profiles: tuple[Profile, ...] = ()
    stream_uris: tuple[str | None, ...] = ()
    snapshot_uri: str | None = None


@dataclass(frozen=True, slots=True)
class EnrichOptions:
    max_profiles: int = 8
    stream_uris: bool = True
    snapshot_uri: bool = True
    mac: bool = True
    adjust_time: bool = True  # sign tokens on the camera's clock (library's handshake)


class EnrichError(Exception):
    """Enrichment failed; ``cause`` is ``onvif_auth_failed`` or ``onvif_error``."""

    def __init__(self, cause: Cause, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail

    def __repr__(self) -> str:
        return f"EnrichError({self.cause.value!r}, {self.detail!r})"


_LIBRARY: ModuleType | None = None


def _library() -> ModuleType:
    """``onvif`` (onvif-zeep-async), imported once without configuring the root logger."""
    global _LIBRARY  # noqa: PLW0603 - a process-wide, import-once module handle
    if _LIBRARY is None:
        root = logging.getLogger()
        guard = None
        if not root.handlers:  # onvif.client calls logging.basicConfig() at import
            guard = logging.NullHandler()
            root.addHandler(guard)
        try:
            _LIBRARY = importlib.import_module("onvif")
        finally:
            if guard is not None:
                root.removeHandler(guard)
    return _LIBRARY


async def warm_up() -> None:
    """Parse the device and media WSDLs now (once per process) instead of on first use."""
    lib = _library()
    cam = lib.ONVIFCamera("127.0.0.1", 1, None, None, no_cache=True)
    cam.xaddrs[_MEDIA_NS] = "http://127.0.0.1:1/onvif/media_service"
    try:  # building service clients does no network I/O
        await cam.create_devicemgmt_service()
        await cam.create_media_service()
    finally:
        await cam.close()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _profile(raw: Any) -> Profile:
    enc = getattr(raw, "VideoEncoderConfiguration", None)
    res = getattr(enc, "Resolution", None) if enc is not None else None
    return Profile(token=str(raw.token), name=_text(getattr(raw, "Name", None)),
                   encoding=_text(getattr(enc, "Encoding", None)) if enc is not None else None,
                   width=_int(getattr(res, "Width", None)), height=_int(getattr(res, "Height", None)))


def _uri(raw: Any) -> str | None:
    text = _text(getattr(raw, "Uri", None))
    return redact_url(text) if text else None


async def _optional(call: Any) -> Any:
    """An extra the camera may not implement: a SOAP fault gives None, not a failure."""
    zeep_exc = importlib.import_module("zeep.exceptions")
    try:
        return await call
    except zeep_exc.Fault as exc:
        if _is_auth_fault(exc):
            raise
        return None


async def _collect(cam: Any, opts: EnrichOptions) -> DeviceInfo:
    await cam.update_xaddrs()
    device = await cam.create_devicemgmt_service()
    info = await device.GetDeviceInformation()
    mac = None
    if opts.mac:
        interfaces = await _optional(device.GetNetworkInterfaces())
        for nic in interfaces or ():
            hw = _text(getattr(getattr(nic, "Info", None), "HwAddress", None))
            if hw:
                mac = hw.lower()
                break
    media = await cam.create_media_service()
    raw_profiles = list(await media.GetProfiles() or ())[: max(0, opts.max_profiles)]
    profiles = tuple(_profile(p) for p in raw_profiles)
    uris: list[str | None] = []
    if opts.stream_uris:
        for p in profiles:
            reply = await _optional(media.GetStreamUri({
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": p.token}))
            uris.append(_uri(reply))
    snapshot = None
    if opts.snapshot_uri and profiles:
        snapshot = _uri(await _optional(media.GetSnapshotUri({"ProfileToken": profiles[0].token})))
    return DeviceInfo(
        vendor=_text(info.Manufacturer), model=_text(info.Model),
        firmware=_text(info.FirmwareVersion), serial=_text(info.SerialNumber),
        hardware_id=_text(getattr(info, "HardwareId", None)), mac=mac, profiles=profiles,
        stream_uris=tuple(uris), snapshot_uri=snapshot)


def _is_auth_fault(fault: Any) -> bool:
    names = [getattr(fault, "code", None), *(getattr(fault, "subcodes", None) or ())]
    for name in names:
        local = str(getattr(name, "localname", name) or "").rpartition(":")[2]
        if local in _AUTH_NAMES:
            return True
    return bool(_AUTH_TEXT.search(str(getattr(fault, "message", "") or "")))


def map_error(exc: BaseException, password: str | None = None) -> EnrichError:
    """The one place where foreign errors of enrichment become an :class:`EnrichError`."""
    chain: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and len(chain) < 8 and node not in chain:
        chain.append(node)
        node = node.__cause__ or node.__context__
    zeep_exc = importlib.import_module("zeep.exceptions")
    lib_exc = importlib.import_module("onvif.exceptions")
    cause = Cause.ONVIF_ERROR
    for e in chain:
        if isinstance(e, lib_exc.ONVIFAuthError) or isinstance(e, zeep_exc.Fault) and _is_auth_fault(e) or isinstance(e, zeep_exc.TransportError) and getattr(e, "status_code", 0) in (401, 403):
            cause = Cause.ONVIF_AUTH_FAILED
    root = chain[-1]
    if isinstance(root, TimeoutError):
        detail = "timed out"
    elif isinstance(root, ConnectionRefusedError):
        detail = "connection refused"
    else:
        # (the library's or the camera's words: masked, then cut; the error's name is the library's)
        name = type(root).__name__
        message = camera_text(str(root).strip(), (password,), max(0, 298 - len(name)))
        detail = f"{name}: {message}" if message else name
    return EnrichError(cause, detail)


async def enrich(target: ProbeTarget, opts: EnrichOptions) -> DeviceInfo:
    """Ask the camera's ONVIF services who it is and what it streams.

    Raises :class:`EnrichError` (never anything else for a camera-side failure). The caller
    owns the timeout (``asyncio.timeout``); connections are closed on cancellation too.
    """
    if target.onvif_port is None:
        raise EnrichError(Cause.ONVIF_ERROR, "onvif disabled for this camera")
    lib = _library()
    try:
        cam = lib.ONVIFCamera(target.host, target.onvif_port, target.username, target.password,
                              no_cache=True, adjust_time=opts.adjust_time)
    except Exception as exc:  # noqa: BLE001 - foreign errors are mapped in one place
        raise map_error(exc, target.password) from None
    try:
        return await _collect(cam, opts)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - foreign errors are mapped in one place
        raise map_error(exc, target.password) from None
    finally:
        await asyncio.shield(cam.close())
