"""The RTSP rows of the hostile-camera suite: each hostile behaviour of the simulator is
classified, bounded in wall time by the stage limits, and costs the prober at most
:data:`CPU_LIMIT_S` of CPU per probe, with no more than two login attempts per probe.

The simulated cameras live in worker processes (probes.sim), so this process's CPU time
(``time.process_time``) around a probe is the prober's alone: nothing else runs on the test's
event loop. The CPU figure is the least of :data:`RUNS` probes (robust against a busy box).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from probes.base import Cause, ProbeTarget
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.rtsp import RtspOptions
from probes.rtsp_conn import MAX_LOGINS
from probes.sim import Behaviour, Fleet, Power, Reply

REACH_S = 1.0
RTSP_S = 1.0
SLACK_S = 0.5  # scheduling on a busy 2-core box
CPU_LIMIT_S = 0.020
RUNS = 3


@dataclass(frozen=True)
class Kind:
    name: str
    behaviour: Behaviour
    cause: Cause | None  # None: online
    words: str  # in the rtsp stage's detail


REDIRECT_TARGET = 0  # a healthy camera on another host, the target of the redirect
KINDS: tuple[Kind, ...] = (
    Kind("hang", Behaviour(power=Power.HANG), Cause.TIMEOUT, "no answer within"),
    Kind("trickle_1_byte_per_s", Behaviour(rtsp_reply=Reply.TRICKLE), Cause.TIMEOUT, "reply too slow: first reply after"),
    Kind("garbage", Behaviour(rtsp_reply=Reply.GARBAGE), Cause.PROTOCOL_ERROR, "not an RTSP reply"),
    Kind("header_line_10mb", Behaviour(rtsp_reply=Reply.OVERSIZED, oversized_bytes=10 * 1024 * 1024),
         Cause.PROTOCOL_ERROR, "header line longer than"),
    Kind("header_lines_100k", Behaviour(rtsp_reply=Reply.MANY_HEADERS), Cause.PROTOCOL_ERROR, "more than 100 lines"),
    Kind("wrong_cseq", Behaviour(rtsp_reply=Reply.WRONG_CSEQ), Cause.PROTOCOL_ERROR, "CSeq mismatch"),
    Kind("endless_401_new_nonces", Behaviour(rtsp_reply=Reply.ENDLESS_401), Cause.AUTH_FAILED, "401"),
    Kind("close_after_401_then_200", Behaviour(rtsp_reply=Reply.CLOSE_AFTER_401), None, "digest auth"),
    Kind("status_453", Behaviour(describe_status=453), Cause.STREAM_UNAVAILABLE, "453"),
    Kind("redirect_to_another_host", Behaviour(), Cause.STREAM_UNAVAILABLE, "redirected to"),  # Location set below
    Kind("sdp_5mb", Behaviour(rtsp_reply=Reply.BIG_SDP), Cause.PROTOCOL_ERROR, "larger than"),
    Kind("tls_on_rtsp_port", Behaviour(rtsp_reply=Reply.TLS), Cause.PROTOCOL_ERROR, "TLS"),
)
INDEX = {k.name: i + 1 for i, k in enumerate(KINDS)}  # camera 0 is the redirect target


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(len(KINDS) + 1, workers=1) as f:
        other = f.camera(REDIRECT_TARGET)
        for kind in KINDS:
            b = kind.behaviour
            if kind.name == "redirect_to_another_host":
                b = b.with_(redirect_to=f"rtsp://{other.host}:{other.rtsp_port}{other.rtsp_path}")
            f.set_behaviour(INDEX[kind.name], b)
        yield f


def target(fleet: Fleet, index: int) -> ProbeTarget:
    cam = fleet.camera(index)
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, None, cam.username, cam.password)


async def measured_probe(t: ProbeTarget) -> tuple[LadderResult, float, float]:
    """One ladder probe with its own prober state (no cached nonce, no back-off): result,
    wall seconds, CPU seconds of this process."""
    opts = LadderOptions(rtsp=RtspOptions(), use_onvif=False, reach_timeout_s=REACH_S, rtsp_timeout_s=RTSP_S)
    w0, c0 = time.perf_counter(), time.process_time()
    res = await run_ladder(t, opts)
    return res, time.perf_counter() - w0, time.process_time() - c0


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
async def test_hostile_camera_classified_and_bounded(fleet: Fleet, kind: Kind) -> None:
    index = INDEX[kind.name]
    t = target(fleet, index)
    cpu: list[float] = []
    for _ in range(RUNS):
        before = fleet.stats([index, REDIRECT_TARGET])
        res, wall, used = await measured_probe(t)
        after = fleet.stats([index, REDIRECT_TARGET])
        cpu.append(used)
        assert res.cause is kind.cause, res
        assert res.state == ("online" if kind.cause is None else "offline"), res
        assert kind.words in res.stages[-1].detail, res.stages[-1]
        assert wall <= REACH_S + RTSP_S + SLACK_S, f"{kind.name}: {wall:.3f} s"
        logins = after.camera(index).rtsp_logins - before.camera(index).rtsp_logins
        assert logins <= MAX_LOGINS, f"{kind.name}: {logins} login attempts in one probe"
        if kind.name == "endless_401_new_nonces":
            assert logins >= 1  # it did try (with the password), and stopped
        other_before, other_after = before.camera(REDIRECT_TARGET), after.camera(REDIRECT_TARGET)
        assert other_after.rtsp_connections == other_before.rtsp_connections  # nothing went to another host
        assert other_after.rtsp_logins == other_before.rtsp_logins
    assert min(cpu) <= CPU_LIMIT_S, f"{kind.name}: CPU per probe {[round(c * 1000, 2) for c in cpu]} ms"


async def test_close_after_401_camera_is_online_in_every_probe(fleet: Fleet) -> None:
    """401 + Connection: close, then 200 on a new connection: 20 probes in a row all online, on
    one shared prober state (its cached nonce goes stale between probes) and on fresh ones,
    with the reach stage's connection reused as in the collector."""
    index = INDEX["close_after_401_then_200"]
    fleet.set_behaviour(index, Behaviour(rtsp_reply=Reply.CLOSE_AFTER_401, nonce_ttl_s=0.1))
    try:
        t = target(fleet, index)
        shared = LadderOptions(use_onvif=False)
        states = []
        for i in range(20):
            opts = shared if i % 2 else LadderOptions(use_onvif=False)
            before = fleet.stats([index]).camera(index)
            res = await run_ladder(t, opts)
            after = fleet.stats([index]).camera(index)
            states.append(res.state)
            assert after.rtsp_logins - before.rtsp_logins <= MAX_LOGINS
            time.sleep(0.12)  # the shared state's nonce is stale at the next probe
        assert states == ["online"] * 20
    finally:
        fleet.set_behaviour(index, Behaviour(rtsp_reply=Reply.CLOSE_AFTER_401))
