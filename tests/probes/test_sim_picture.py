"""The simulator's picture (``Behaviour.picture``) judged by the real picture checks: the default
scene passes every check (and the ladder with video says ``online``), colour bars are a signal loss,
a black picture black, a frozen picture frozen. Needs FFmpeg's libraries (PyAV), as the frame stage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probes.base import ProbeTarget, Stage
from probes.frame import FrameInfo, FrameOptions, FramePool, probe
from probes.ladder import LadderOptions, run_ladder
from probes.sim import Behaviour, BehaviourError, Fleet, Picture, SimCamera, h264
from probes.sim.rtp import FPS, frame_payloads
from probes.sim.rtsp_server import sdp_for
from probes.sim.state import CameraState
from probes.vqd import VqdName

ALL_CHECKS = set(VqdName)
CAMERA = {picture: n for n, picture in enumerate(Picture)}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(len(CAMERA), workers=1) as f:
        for picture, index in CAMERA.items():
            if picture is not Picture.SCENE:
                f.set_behaviour(index, Behaviour(picture=picture))
        yield f


@pytest.fixture(scope="module")
def pool() -> Iterator[FramePool]:
    with FramePool(2) as p:
        yield p


def target(cam: SimCamera) -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, None, cam.username, cam.password)


@pytest.mark.parametrize("gap_s", [1.0, 3.0])
async def test_default_scene_passes_every_check(fleet: Fleet, pool: FramePool, gap_s: float) -> None:
    """With the frozen check at the tests' gap (1 s) and the collector's (3 s)."""
    r = await probe(target(fleet.camera(CAMERA[Picture.SCENE])), FrameOptions(pool=pool, freeze_gap_s=gap_s))
    assert r.ok and r.cause is None, r.detail
    assert isinstance(r.data, FrameInfo)
    assert (r.data.width, r.data.height) == (h264.WIDTH, h264.HEIGHT) == (640, 360)
    assert {c.name for c in r.data.checks} == ALL_CHECKS
    assert [c for c in r.data.checks if not c.ok] == [], r.data.checks
    assert r.detail == "640x360; picture ok"


@pytest.mark.parametrize(
    ("picture", "failing"),
    [(Picture.BARS, VqdName.SIGNAL_LOSS), (Picture.BLACK, VqdName.BLACK), (Picture.FROZEN, VqdName.FROZEN)],
)
async def test_other_pictures_fail_their_check(fleet: Fleet, pool: FramePool, picture: Picture, failing: VqdName) -> None:
    r = await probe(target(fleet.camera(CAMERA[picture])), FrameOptions(pool=pool, freeze_gap_s=1.0))
    assert r.ok, r.detail  # a bad picture is degraded, not offline
    assert isinstance(r.data, FrameInfo)
    assert r.data.failed == (failing,), r.detail


@pytest.mark.parametrize(("picture", "state", "failed"),
                         [(Picture.SCENE, "online", ()), (Picture.BARS, "degraded", ("signal_loss",))])
async def test_ladder_with_video(fleet: Fleet, pool: FramePool, picture: Picture, state: str,
                                 failed: tuple[str, ...]) -> None:
    opts = LadderOptions(video=True, use_onvif=False, frame=FrameOptions(pool=pool, freeze_gap_s=1.0))
    r = await run_ladder(target(fleet.camera(CAMERA[picture])), opts)
    assert (r.state, r.cause, r.failed_checks) == (state, None, failed), r.stages
    assert [s.stage for s in r.stages] == [Stage.REACH, Stage.RTSP, Stage.FRAME]


async def test_picture_changed_while_streaming_shows_at_once(fleet: Fleet, pool: FramePool) -> None:
    index = CAMERA[Picture.SCENE]
    fleet.set_behaviour(index, Behaviour(picture=Picture.BARS))
    try:
        r = await probe(target(fleet.camera(index)), FrameOptions(pool=pool, freeze_check=False))
        assert isinstance(r.data, FrameInfo) and r.data.failed == (VqdName.SIGNAL_LOSS,), r.detail
    finally:
        fleet.set_behaviour(index, Behaviour())


def test_keyframes_one_to_five_seconds_apart_always_differ() -> None:
    """The frozen check compares the first keyframe with the first one at least its gap later (by
    the stream's clock): the scene's frame shown then differs for any gap from 1 to 5 s."""
    frames = frame_payloads(Picture.SCENE)
    assert len(frames) == h264.SCENE_FRAMES >= 2 and len(set(frames)) == len(frames)
    per = round(h264.SECONDS_PER_FRAME * FPS)
    cycle = len(frames) * per
    for start in range(cycle):
        for gap in range(FPS, 5 * FPS + 1):
            assert (start // per) % len(frames) != ((start + gap) // per) % len(frames), (start, gap)


def test_every_picture_shares_the_advertised_parameter_sets() -> None:
    sdp = sdp_for_camera()
    assert f"sprop-parameter-sets={h264.SPS_B64},{h264.PPS_B64}" in sdp
    assert f"a=x-dimensions:{h264.WIDTH},{h264.HEIGHT}" in sdp
    assert f"profile-level-id={h264.PROFILE_LEVEL_ID}" in sdp
    for picture in Picture:
        for payloads in frame_payloads(picture):
            assert payloads[0] == (h264.sps(), False) and payloads[1] == (h264.pps(), False)
            assert [m for _, m in payloads] == [False] * (len(payloads) - 1) + [True]


def sdp_for_camera() -> str:
    return sdp_for(CameraState(0, "127.0.0.1", 8554, 8000, Behaviour(), "admin", "pw")).decode()


def test_picture_in_json() -> None:
    assert Behaviour().to_json()["picture"] == "scene"
    assert Behaviour.from_json({"picture": "bars"}).picture is Picture.BARS
    for bad in ("colour", 3):
        with pytest.raises(BehaviourError):
            Behaviour.from_json({"picture": bad})
