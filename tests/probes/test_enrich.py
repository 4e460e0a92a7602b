"""Inventory enrichment (onvif-zeep-async) against the camera fleet simulator."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from probes.base import Cause, ProbeTarget
from probes.enrich import DeviceInfo, EnrichError, EnrichOptions, Profile, enrich, map_error, warm_up
from probes.sim import Behaviour, Fleet, Power, Reply, SimCamera, identity_for
from tests.probes.test_sim_support import scripted_fleet

CASES: dict[str, Behaviour] = {
    "up": Behaviour(),
    "skew": Behaviour(clock_skew_s=3600.0),
    "not_authorized": Behaviour(onvif_not_authorized=True),
    "garbage": Behaviour(onvif_reply=Reply.GARBAGE),
    "onvif_off": Behaviour(onvif=False),
    "hang": Behaviour(power=Power.HANG),
}
INDEX = {name: i for i, name in enumerate(CASES)}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with scripted_fleet(CASES) as f:
        yield f


def target(cam: SimCamera, password: str | None = None) -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, onvif_port=cam.onvif_port,
                       username=cam.username, password=password or cam.password)


def test_library_import_leaves_the_root_logger_alone() -> None:
    # In a fresh interpreter: onvif.client calls logging.basicConfig() at import.
    code = ("import logging, probes.enrich as e; e._library(); import onvif.client; "
            "r = logging.getLogger(); print(len(r.handlers), r.level)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["0", str(logging.WARNING)]


async def test_everything_from_the_simulator(fleet: Fleet) -> None:
    await warm_up()
    cam = fleet.camera(INDEX["up"])
    info = await enrich(target(cam), EnrichOptions())
    ident = identity_for(cam.index)
    assert isinstance(info, DeviceInfo)
    assert (info.vendor, info.model, info.firmware, info.serial, info.hardware_id) == (
        ident.manufacturer, ident.model, ident.firmware, ident.serial, ident.hardware_id)
    assert info.mac == ident.mac.lower()
    assert info.profiles and isinstance(info.profiles[0], Profile)
    p = info.profiles[0]
    assert (p.token, p.encoding) == ("Profile_1", "H264") and p.width and p.height
    assert info.stream_uris == (f"rtsp://{cam.host}:{cam.rtsp_port}{cam.rtsp_path}",)
    assert info.snapshot_uri is not None and info.snapshot_uri.startswith(f"http://{cam.host}:")


async def test_options_trim_the_calls(fleet: Fleet) -> None:
    info = await enrich(target(fleet.camera(INDEX["up"])),
                        EnrichOptions(stream_uris=False, snapshot_uri=False, mac=False))
    assert info.profiles and info.stream_uris == () and info.snapshot_uri is None and info.mac is None


async def test_skewed_clock(fleet: Fleet) -> None:
    info = await enrich(target(fleet.camera(INDEX["skew"])), EnrichOptions())
    assert info.serial is not None and info.profiles


@pytest.mark.parametrize("name,password,cause", [
    ("up", "not-the-password", Cause.ONVIF_AUTH_FAILED),
    ("not_authorized", None, Cause.ONVIF_AUTH_FAILED),
    ("garbage", None, Cause.ONVIF_ERROR),
    ("onvif_off", None, Cause.ONVIF_ERROR),
])
async def test_errors_are_mapped(fleet: Fleet, name: str, password: str | None,
                                 cause: Cause) -> None:
    cam = fleet.camera(INDEX[name])
    with pytest.raises(EnrichError) as err:
        await enrich(target(cam, password), EnrichOptions())
    assert err.value.cause is cause
    for text in (str(err.value), repr(err.value)):
        assert cam.password not in text and "not-the-password" not in text


async def test_hang_is_bounded_by_the_caller(fleet: Fleet) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await enrich(target(fleet.camera(INDEX["hang"])), EnrichOptions())


async def test_disabled_onvif() -> None:
    with pytest.raises(EnrichError, match="onvif disabled"):
        await enrich(ProbeTarget("127.0.0.1", onvif_port=None), EnrichOptions())


async def test_refused_without_a_listener() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(EnrichError) as err:
            await enrich(ProbeTarget("127.0.0.1", onvif_port=port, username="u", password="p"),
                         EnrichOptions())
    assert err.value.cause is Cause.ONVIF_ERROR


def test_map_error_scrubs_passwords_and_urls() -> None:
    try:
        try:
            raise OSError("rtsp://admin:hunter2@10.0.0.1/x said hunter2")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        err = map_error(exc, "hunter2")
    assert err.cause is Cause.ONVIF_ERROR and "hunter2" not in repr(err)
    assert "admin:***@" in err.detail
