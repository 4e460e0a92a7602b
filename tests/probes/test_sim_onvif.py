"""The simulator's ONVIF side: raw SOAP over asyncio sockets, and onvif-zeep-async as a real
client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import onvif
import pytest
import zeep.exceptions

from probes.sim import Behaviour, Fleet, Reply, identity_for
from tests.probes.test_sim_support import created_now, http_post, onvif_call, read_http, soap, username_token, xml_text

TIME = "<tds:GetSystemDateAndTime/>"
INFO = "<tds:GetDeviceInformation/>"


@pytest.fixture
def sim_fleet() -> Iterator[Fleet]:
    with Fleet(4, workers=2) as fleet:
        yield fleet


def camera_epoch(body: bytes) -> float:
    utc = body.split(b"UTCDateTime")[1]
    parts = {tag: int(xml_text(utc, tag) or 0)
             for tag in ("Year", "Month", "Day", "Hour", "Minute", "Second")}
    return datetime(parts["Year"], parts["Month"], parts["Day"], parts["Hour"], parts["Minute"],
                    parts["Second"], tzinfo=UTC).timestamp()


def is_not_authorized(reply) -> bool:
    return reply.status == 400 and b"ter:NotAuthorized" in reply.body


async def test_time_without_auth_and_clock_skew(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(1, Behaviour(clock_skew_s=3600.0))
    for index, skew in ((0, 0.0), (1, 3600.0)):
        cam = sim_fleet.camera(index)
        reply = await onvif_call(cam.host, cam.onvif_port, TIME)
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("application/soap+xml")
        assert abs(camera_epoch(reply.body) - (time.time() + skew)) < 3


async def test_device_information_with_digest_and_text_tokens(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(2)
    ident = identity_for(2)
    for digest in (True, False):
        token = username_token(cam.username, cam.password, digest=digest)
        reply = await onvif_call(cam.host, cam.onvif_port, INFO, token)
        assert reply.status == 200, reply.body
        assert xml_text(reply.body, "Manufacturer") == ident.manufacturer
        assert xml_text(reply.body, "SerialNumber") == ident.serial
    assert identity_for(2) == ident and identity_for(3) != ident


async def test_wrong_or_missing_token_is_not_authorized(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(0)
    wrong = username_token(cam.username, "wrong")
    assert is_not_authorized(await onvif_call(cam.host, cam.onvif_port, INFO, wrong))
    assert is_not_authorized(await onvif_call(cam.host, cam.onvif_port, INFO))
    stats = (await sim_fleet.astats([0])).camera(0)
    assert stats.onvif_auth_failures == 2 and stats.bad_logins == 1
    assert stats.onvif_action("GetDeviceInformation") == 2


async def test_created_is_checked_against_the_skewed_clock(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(3, Behaviour(clock_skew_s=3600.0))
    cam = sim_fleet.camera(3)
    naive = username_token(cam.username, cam.password, created=created_now())
    assert is_not_authorized(await onvif_call(cam.host, cam.onvif_port, INFO, naive))
    compensated = username_token(cam.username, cam.password, created=created_now(3600.0))
    assert (await onvif_call(cam.host, cam.onvif_port, INFO, compensated)).status == 200


async def test_auth_required_for_time_when_asked(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(0, Behaviour(onvif_auth_time=True))
    cam = sim_fleet.camera(0)
    assert is_not_authorized(await onvif_call(cam.host, cam.onvif_port, TIME))
    token = username_token(cam.username, cam.password)
    assert (await onvif_call(cam.host, cam.onvif_port, TIME, token)).status == 200


async def test_not_authorized_even_with_right_credentials(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(1, Behaviour(onvif_not_authorized=True))
    cam = sim_fleet.camera(1)
    token = username_token(cam.username, cam.password)
    assert is_not_authorized(await onvif_call(cam.host, cam.onvif_port, INFO, token))
    assert (await onvif_call(cam.host, cam.onvif_port, TIME)).status == 200


async def test_unknown_action_is_a_fault(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(1)
    reply = await onvif_call(cam.host, cam.onvif_port, "<tds:SystemReboot/>",
                             username_token(cam.username, cam.password))
    assert reply.status == 400 and b"ActionNotSupported" in reply.body


async def test_keep_alive_serves_several_requests(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(2)
    reader, writer = await asyncio.open_connection(cam.host, cam.onvif_port)
    for _ in range(3):
        writer.write(http_post(cam.host, cam.onvif_port, soap(TIME)))
        assert (await read_http(reader)).status == 200
    writer.close()
    stats = (await sim_fleet.astats([2])).camera(2)
    assert stats.onvif_connections == 1 and stats.onvif_requests == 3


async def test_onvif_off_closes_only_the_onvif_port(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(3, Behaviour(onvif=False))
    cam = sim_fleet.camera(3)
    with pytest.raises(ConnectionRefusedError):
        await onvif_call(cam.host, cam.onvif_port, TIME)
    _, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.close()


async def test_garbage_and_oversized_http(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(0, Behaviour(onvif_reply=Reply.GARBAGE))
    await sim_fleet.aset_behaviour(1, Behaviour(onvif_reply=Reply.OVERSIZED,
                                                oversized_bytes=200_000))
    for index in (0, 1):
        cam = sim_fleet.camera(index)
        reader, writer = await asyncio.open_connection(cam.host, cam.onvif_port)
        writer.write(http_post(cam.host, cam.onvif_port, soap(TIME)))
        data = await asyncio.wait_for(reader.read(), 3)
        writer.close()
        if index == 0:
            assert not data.startswith(b"HTTP/")
        else:
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert max(len(line) for line in data.split(b"\r\n")) >= 200_000


async def test_hang_on_onvif(sim_fleet: Fleet) -> None:
    from probes.sim import Power

    await sim_fleet.aset_behaviour(2, Behaviour(power=Power.HANG))
    cam = sim_fleet.camera(2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(onvif_call(cam.host, cam.onvif_port, TIME), 0.5)


async def test_onvif_zeep_async_parses_the_answers(sim_fleet: Fleet) -> None:
    sim = sim_fleet.camera(1)
    cam = onvif.ONVIFCamera(sim.host, sim.onvif_port, sim.username, sim.password)
    try:
        await cam.update_xaddrs()
        assert cam.xaddrs["http://www.onvif.org/ver10/media/wsdl"].endswith(
            f"{sim.host}:{sim.onvif_port}/onvif/media_service")
        device = await cam.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        ident = identity_for(1)
        assert (info.Manufacturer, info.Model, info.FirmwareVersion, info.SerialNumber) == (
            ident.manufacturer, ident.model, ident.firmware, ident.serial)
        interfaces = await device.GetNetworkInterfaces()
        assert interfaces[0].Info.HwAddress == ident.mac
        clock = await device.GetSystemDateAndTime()
        assert clock.UTCDateTime.Date.Year == datetime.now(UTC).year
        assert clock.UTCDateTime.Time.Hour is not None
        media = await cam.create_media_service()
        profiles = await media.GetProfiles()
        token = profiles[0].token
        resolution = profiles[0].VideoEncoderConfiguration.Resolution
        assert (resolution.Width, resolution.Height) == (640, 360)
        uri = await media.GetStreamUri({
            "ProfileToken": token,
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
        })
        assert uri.Uri == f"rtsp://{sim.host}:{sim.rtsp_port}{sim.rtsp_path}"
        snapshot = await media.GetSnapshotUri({"ProfileToken": token})
        assert snapshot.Uri.startswith(f"http://{sim.host}:{sim.onvif_port}/")
    finally:
        await cam.close()


async def test_onvif_zeep_async_sees_not_authorized_and_skew(sim_fleet: Fleet) -> None:
    sim = sim_fleet.camera(2)
    cam = onvif.ONVIFCamera(sim.host, sim.onvif_port, sim.username, "wrong")
    try:
        with pytest.raises(zeep.exceptions.Fault) as info:
            device = await cam.create_devicemgmt_service()
            await device.GetDeviceInformation()
        assert [q.localname for q in info.value.subcodes] == ["NotAuthorized"]
    finally:
        await cam.close()
    # A skewed camera rejects a naive client but accepts one that adjusts its clock.
    await sim_fleet.aset_behaviour(2, Behaviour(clock_skew_s=-7200.0))
    for adjust, works in ((False, False), (True, True)):
        cam = onvif.ONVIFCamera(sim.host, sim.onvif_port, sim.username, sim.password,
                                adjust_time=adjust)
        try:
            await cam.update_xaddrs()
            device = await cam.create_devicemgmt_service()
            try:
                await device.GetDeviceInformation()
                ok = True
            except zeep.exceptions.Fault:
                ok = False
            assert ok is works
        except zeep.exceptions.Fault:
            assert not works
        finally:
            await cam.close()
