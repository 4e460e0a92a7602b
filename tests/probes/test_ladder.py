"""The probe ladder: real loopback servers for reach/rtsp, and its pure verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from probes.base import Cause, ProbeResult, ProbeTarget, Stage
from probes.ladder import LadderOptions, LadderResult, conclude, run_ladder
from probes.rtsp import RtspOptions
from tests.probes.rtsp_servers import RtspTestServer, ServerConfig, free_port

PW = "pa55:word"


def tgt(srv: RtspTestServer, password: str = PW, onvif_port: int | None = None) -> ProbeTarget:
    return ProbeTarget(srv.host, srv.port, "/live", onvif_port, "admin", password)


async def test_online_with_digest() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", password=PW)) as srv:
        res = await run_ladder(tgt(srv), LadderOptions())
        assert srv.connections == 1  # the rtsp stage used the reach stage's connection
        await run_ladder(tgt(srv), LadderOptions(reuse_connection=False))
        assert srv.connections == 3
    assert isinstance(res, LadderResult)
    assert (res.state, res.cause) == ("online", None)
    assert [s.stage for s in res.stages] == [Stage.REACH, Stage.RTSP]
    assert all(s.ok for s in res.stages)
    assert res.stages[1].data.codec == "H264"
    assert (res.clock_offset_s, res.device, res.video, res.warnings) == (None, None, None, ())


async def test_reused_connection_closed_by_camera_is_reopened() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", password=PW, mode="close_after_401")) as srv:
        opts = LadderOptions()
        assert (await run_ladder(tgt(srv), opts)).state == "online"
        srv.rotate_nonce()  # the cached nonce is stale now: 401, close, reconnect, answer
        res = await run_ladder(tgt(srv), opts)
        assert res.state == "online", res
        assert srv.connections == 4


async def test_refused_stops_the_ladder() -> None:
    res = await run_ladder(ProbeTarget("127.0.0.1", free_port(), onvif_port=None))
    assert (res.state, res.cause) == ("offline", Cause.REFUSED)
    assert [s.stage for s in res.stages] == [Stage.REACH]


@pytest.mark.parametrize(
    ("cfg", "cause"),
    [
        (ServerConfig(describe_status=453, reason="Not Enough Bandwidth"), Cause.STREAM_UNAVAILABLE),
        (ServerConfig(mode="garbage"), Cause.PROTOCOL_ERROR),
        (ServerConfig(auth="basic", password="other"), Cause.AUTH_FAILED),
    ],
)
async def test_rtsp_causes(cfg: ServerConfig, cause: Cause) -> None:
    async with RtspTestServer(cfg) as srv:
        res = await run_ladder(tgt(srv))
    assert (res.state, res.cause) == ("offline", cause)
    assert [s.stage for s in res.stages] == [Stage.REACH, Stage.RTSP]
    assert res.stages[0].ok


async def test_hang_gives_timeout_within_the_limit() -> None:
    async with RtspTestServer(ServerConfig(mode="hang")) as srv:
        t0 = time.monotonic()
        res = await run_ladder(tgt(srv), LadderOptions(rtsp_timeout_s=0.4))
        elapsed = time.monotonic() - t0
    assert (res.state, res.cause) == ("offline", Cause.TIMEOUT)
    assert 0.35 < elapsed < 1.0
    assert "0.4 s" in res.stages[-1].detail


async def test_auth_backoff_skips_the_camera() -> None:
    opts = LadderOptions(rtsp=RtspOptions())
    async with RtspTestServer(ServerConfig(auth="digest", password=PW)) as srv:
        res = await run_ladder(tgt(srv, password="wrong"), opts)
        assert res.cause is Cause.AUTH_FAILED
        seen = srv.connections
        res2 = await run_ladder(tgt(srv, password="wrong"), opts)
        assert (res2.state, res2.cause) == ("offline", Cause.AUTH_FAILED)
        assert "backing off" in res2.stages[0].detail and len(res2.stages) == 1
        assert srv.connections == seen  # not even the reach stage ran


async def test_onvif_failure_is_only_a_warning() -> None:
    async with RtspTestServer(ServerConfig()) as srv:
        res = await run_ladder(tgt(srv, onvif_port=free_port()), LadderOptions(onvif_timeout_s=2.0))
    assert (res.state, res.cause) == ("online", None)
    assert len(res.warnings) == 1
    assert res.stages[-1].stage is Stage.ONVIF and not res.stages[-1].ok
    assert res.warnings[0].startswith("onvif ")


async def test_no_onvif_port_no_onvif_stage() -> None:
    async with RtspTestServer(ServerConfig()) as srv:
        res = await run_ladder(tgt(srv, onvif_port=None), LadderOptions())
        res2 = await run_ladder(tgt(srv, onvif_port=free_port()), LadderOptions(use_onvif=False))
    assert res.warnings == () and res2.warnings == ()
    assert Stage.ONVIF not in [s.stage for s in res.stages + res2.stages]


def test_stages_bound_once_per_options() -> None:
    """The stages after reach and rtsp are bound to their options and limits when the options
    are made: the enabled ones, in ladder order; a probe looks nothing up."""
    from probes.stages import STAGES

    opts = LadderOptions()
    assert opts.onvif is opts.onvif and opts.later is opts.later
    assert [b.stage for b in opts.later] == [Stage.ONVIF]
    assert [b.stage for b in LadderOptions(video=True).later] == [Stage.ONVIF, Stage.FRAME]
    assert [b.stage for b in LadderOptions(use_onvif=False, video=True).later] == [Stage.FRAME]
    assert LadderOptions(use_onvif=False).later == ()
    assert [s.stage for s in STAGES] == list(Stage)  # every stage declared, in ladder order


async def test_a_stage_bug_becomes_a_failed_result_with_its_cause() -> None:
    from probes.stages import declare

    async def broken(target: ProbeTarget, opts: float) -> ProbeResult:
        raise KeyError("bug")

    spec = declare(Stage.FRAME, broken, options=lambda o: o.frame_timeout_s, timeout=lambda o: 1.0,
                   timeout_cause=Cause.NO_VIDEO, enabled=lambda o: True)
    assert spec.bind is not None
    r = await spec.bind(LadderOptions()).run(ProbeTarget("127.0.0.1", 1))
    assert (r.stage, r.ok, r.cause, r.detail) == (Stage.FRAME, False, Cause.NO_VIDEO, "frame prober error: KeyError")


# -- the verdict, on results shaped like the onvif and frame probers' ----------------------


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    score: float


@dataclass(frozen=True, slots=True)
class FrameData:
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Device:
    vendor: str
    model: str
    firmware: str
    serial: str


@dataclass(frozen=True, slots=True)
class OnvifData:
    clock_offset_s: float | None
    device: Device | None


def ok(stage: Stage, data: object = None) -> ProbeResult:
    return ProbeResult(stage, True, 0.001, None, "", data)


def bad(stage: Stage, cause: Cause | None, data: object = None) -> ProbeResult:
    return ProbeResult(stage, False, 0.001, cause, "boom", data)


DEV = Device("Hikvision", "DS-2CD", "V5.5", "SN1")
GOOD = FrameData((Check("black", True, 0.1), Check("blur", True, 300.0)))
BLURRY = FrameData((Check("black", True, 0.1), Check("blur", False, 20.0)))


def test_conclude_online_with_onvif_and_video() -> None:
    res = conclude([ok(Stage.REACH), ok(Stage.RTSP), ok(Stage.ONVIF, OnvifData(-2.5, DEV)), ok(Stage.FRAME, GOOD)])
    assert (res.state, res.cause, res.clock_offset_s, res.device) == ("online", None, -2.5, DEV)
    assert res.video == GOOD.checks and res.failed_checks == ()


def test_conclude_degraded() -> None:
    res = conclude([ok(Stage.REACH), ok(Stage.RTSP), ok(Stage.FRAME, BLURRY)])
    assert (res.state, res.cause, res.failed_checks) == ("degraded", None, ("blur",))


def test_conclude_onvif_failure_keeps_clock_and_warns() -> None:
    res = conclude([ok(Stage.REACH), ok(Stage.RTSP), bad(Stage.ONVIF, Cause.ONVIF_AUTH_FAILED, OnvifData(1.0, None))])
    assert (res.state, res.cause, res.clock_offset_s) == ("online", None, 1.0)
    assert res.warnings == ("onvif onvif_auth_failed: boom",)


def test_conclude_no_video_is_offline() -> None:
    res = conclude([ok(Stage.REACH), ok(Stage.RTSP), ok(Stage.ONVIF, OnvifData(0.0, DEV)), bad(Stage.FRAME, Cause.NO_VIDEO)])
    assert (res.state, res.cause, res.device) == ("offline", Cause.NO_VIDEO, DEV)


def test_conclude_missing_cause_falls_back_to_stage_cause() -> None:
    assert conclude([bad(Stage.REACH, None)]).cause is Cause.UNREACHABLE
    assert conclude([ok(Stage.REACH), bad(Stage.RTSP, None)]).cause is Cause.TIMEOUT


async def test_stage_limit_leaves_the_task_clean_and_outside_cancels_propagate() -> None:
    import asyncio

    from probes.ladder import run_stage

    async def hang(target: ProbeTarget, opts: object) -> ProbeResult:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    async def swallow(target: ProbeTarget, opts: object) -> ProbeResult:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass
        return ProbeResult(Stage.RTSP, True, 0.0, None, "swallowed")

    target = ProbeTarget("127.0.0.1", 1, "/", None)
    r = await run_stage(Stage.RTSP, hang, target, None, 0.05, Cause.TIMEOUT)
    assert (r.ok, r.cause) == (False, Cause.TIMEOUT) and 0.04 < r.duration_s < 1.0
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0.01)  # no stray cancellation left for the next await
    r = await run_stage(Stage.RTSP, swallow, target, None, 0.05, Cause.TIMEOUT)
    assert r.detail == "swallowed" and asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0.01)

    async def outer() -> ProbeResult:
        return await run_stage(Stage.REACH, hang, target, None, 5.0, Cause.UNREACHABLE)

    task = asyncio.ensure_future(outer())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # somebody else's cancellation is not a timeout
