"""The onvif prober against the project's camera fleet simulator (probes.sim)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from probes.base import Cause, ProbeTarget
from probes.onvif import OnvifOptions, probe
from probes.sim import Behaviour, Fleet, Power, Reply, SimCamera, identity_for
from tests.probes.test_sim_support import scripted_fleet

CASES: dict[str, Behaviour] = {
    "up": Behaviour(),
    "skew": Behaviour(clock_skew_s=3600.0),
    "skew_time_auth": Behaviour(clock_skew_s=-1800.0, onvif_auth_time=True),
    "not_authorized": Behaviour(onvif_not_authorized=True),
    "garbage": Behaviour(onvif_reply=Reply.GARBAGE),
    "oversized": Behaviour(onvif_reply=Reply.OVERSIZED),
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


async def test_up(fleet: Fleet) -> None:
    cam = fleet.camera(INDEX["up"])
    r = await probe(target(cam), OnvifOptions())
    assert r.ok and abs(r.data.clock_offset_s) < 1.0
    ident = identity_for(cam.index)
    assert (r.data.device.vendor, r.data.device.model, r.data.device.serial) == (
        ident.manufacturer, ident.model, ident.serial)


async def test_skew_measured_and_token_accepted(fleet: Fleet) -> None:
    r = await probe(target(fleet.camera(INDEX["skew"])), OnvifOptions())
    assert r.ok, r.detail  # the simulator checks Created within 5 s of its skewed clock
    assert abs(r.data.clock_offset_s - 3600.0) < 1.0 and r.data.device is not None


async def test_skewed_camera_wanting_auth_for_its_clock(fleet: Fleet) -> None:
    opts = OnvifOptions()
    cam = fleet.camera(INDEX["skew_time_auth"])
    for _ in range(2):  # first without knowing, then with what was learned
        r = await probe(target(cam), opts)
        assert r.ok, r.detail
        assert abs(r.data.clock_offset_s + 1800.0) < 1.0 and r.data.device is not None


async def test_wrong_password(fleet: Fleet) -> None:
    r = await probe(target(fleet.camera(INDEX["up"]), "not-the-password"), OnvifOptions())
    assert r.cause is Cause.ONVIF_AUTH_FAILED and "not-the-password" not in repr(r)


@pytest.mark.parametrize("name,cause,needle", [
    ("not_authorized", Cause.ONVIF_AUTH_FAILED, "NotAuthorized"),
    ("garbage", Cause.ONVIF_ERROR, "not an HTTP reply"),
    ("oversized", Cause.ONVIF_ERROR, "larger than"),
    ("onvif_off", Cause.ONVIF_ERROR, "refused"),
])
async def test_failures(fleet: Fleet, name: str, cause: Cause, needle: str) -> None:
    r = await probe(target(fleet.camera(INDEX[name])), OnvifOptions())
    assert not r.ok and r.cause is cause and needle in r.detail, r.detail


async def test_hang_is_bounded_by_the_caller(fleet: Fleet) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await probe(target(fleet.camera(INDEX["hang"])), OnvifOptions())


async def test_many_cameras_concurrently(fleet: Fleet) -> None:
    cam = fleet.camera(INDEX["up"])
    opts = OnvifOptions()
    results = await asyncio.gather(*(probe(target(cam), opts) for _ in range(200)))
    assert all(r.ok for r in results)
