"""The words of probe details: a slow camera is not "no answer", the details are English (the
CLI translates causes, not details), and no raw bytes or FFmpeg jargon reach a maintainer.

Cameras: the simulator (probes.sim) and loopback asyncio servers (hostile on purpose).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from probes.base import Cause, ProbeTarget, Stage
from probes.frame_grab import _Watch
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.onvif import OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.rtsp import RtspOptions
from probes.rtsp import probe as rtsp_probe
from probes.sim import Behaviour, Fleet, Power, Reply
from probes.stage_limit import run_stage

SLOW, TRICKLE, SILENT = 0, 1, 2
DELAY_S = 0.6
LIMIT_S = 1.0


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(3, workers=1) as f:
        f.set_behaviour(SLOW, Behaviour(delay_s=DELAY_S))  # Digest: 401 at 0.6 s, the answer at 1.2 s
        f.set_behaviour(TRICKLE, Behaviour(rtsp_reply=Reply.TRICKLE))
        f.set_behaviour(SILENT, Behaviour(power=Power.HANG))
        yield f


def target(fleet: Fleet, index: int) -> ProbeTarget:
    cam = fleet.camera(index)
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, cam.onvif_port, cam.username, cam.password)


async def ladder(fleet: Fleet, index: int) -> LadderResult:
    opts = LadderOptions(rtsp=RtspOptions(), use_onvif=False, rtsp_timeout_s=LIMIT_S)
    return await run_ladder(target(fleet, index), opts)


async def test_slow_digest_camera_is_slow_not_silent(fleet: Fleet) -> None:
    """Every reply 0.6 s late and Digest auth (two round trips) in a 1 s limit: it answered."""
    res = await ladder(fleet, SLOW)
    r = res.stages[-1]
    assert (r.stage, r.cause) == (Stage.RTSP, Cause.TIMEOUT), r
    assert r.detail.startswith("reply too slow: first reply after 0.6 s") or r.detail.startswith(
        "reply too slow: first reply after 0.7 s"), r.detail
    assert r.detail.endswith(f"not finished within {LIMIT_S:g} s") and "no answer" not in r.detail, r.detail


async def test_trickled_reply_is_slow_not_silent(fleet: Fleet) -> None:
    r = (await ladder(fleet, TRICKLE)).stages[-1]
    assert r.cause is Cause.TIMEOUT and r.detail.startswith("reply too slow: first reply after 0."), r.detail


async def test_silent_camera_is_still_no_answer(fleet: Fleet) -> None:
    r = (await ladder(fleet, SILENT)).stages[-1]
    assert r.cause is Cause.TIMEOUT and r.detail == f"no answer within {LIMIT_S:g} s", r.detail


async def test_slow_onvif_camera_is_slow_not_silent(fleet: Fleet) -> None:
    """GetSystemDateAndTime answered at 0.6 s, GetDeviceInformation would come at 1.2 s."""
    r = await run_stage(Stage.ONVIF, onvif_probe, target(fleet, SLOW), OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)
    assert r.cause is Cause.ONVIF_ERROR and r.detail.startswith("reply too slow: first reply after 0."), r.detail


async def serving(reply: Callable[[bytes], bytes | None],
                  body: Callable[[int], Awaitable[object]]) -> object:
    """Run *body(port)* against a loopback server answering each request head with *reply(head)*."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                data = reply(head)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        return await body(server.sockets[0].getsockname()[1])
    finally:
        server.close()


def cseq_of(head: bytes) -> bytes:
    return next((line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(b"cseq:")), b"0")


@pytest.mark.parametrize(("first", "cause", "words"), [
    (b'WWW-Authenticate: Basic realm="cam"\r\n', Cause.AUTH_FAILED, "credentials refused (401 Unauthorized)"),  # challenge, then none
    # no challenge at all: nothing was sent, so no wrong password either (tests/probes/test_rtsp_replies.py)
    (b"", Cause.PROTOCOL_ERROR, "401 without an authentication challenge"),
])
async def test_401_without_a_challenge_after_credentials_is_credentials_refused(first: bytes, cause: Cause, words: str) -> None:
    def reply(head: bytes) -> bytes:
        www = b"" if b"Authorization:" in head else first
        return b"RTSP/1.0 401 Unauthorized\r\nCSeq: " + cseq_of(head) + b"\r\n" + www + b"\r\n"

    async def body(port: int) -> object:
        return await rtsp_probe(ProbeTarget("127.0.0.1", port, "/x", None, "admin", "secret-pw"), RtspOptions())

    r = await serving(reply, body)
    assert r.cause is cause and r.detail.startswith(words), r.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize(("garbage", "words"), [
    (b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03 tls server hello\r\n\r\n", "not an HTTP reply (TLS: an HTTPS port?)"),
    (b"\x00\xffHELLO garbage \x89PNG\r\n\x1a\n random bytes\r\n\r\n", "not an HTTP reply (TLS or garbage)"),
])
async def test_onvif_garbage_is_named_without_its_bytes(garbage: bytes, words: str) -> None:
    async def body(port: int) -> object:
        return await onvif_probe(ProbeTarget("127.0.0.1", 1, "/", port, "admin", "pw"), OnvifOptions())

    r = await serving(lambda head: garbage, body)
    assert r.cause is Cause.ONVIF_ERROR and r.detail == f"bad HTTP reply: {words}", r.detail  # type: ignore[attr-defined]
    assert "\\x" not in r.detail and "b'" not in r.detail  # type: ignore[attr-defined]


def test_stall_detail_is_english() -> None:
    watch = _Watch(4.0, 1 / 90_000)
    for i in range(28):
        watch.see(i * 3600, 100.0 + i * 0.04)
    for ended in (False, True):
        detail = watch.stall_detail(105.2, ended)
        assert detail.isascii() and detail.startswith("stalled: "), detail
    assert watch.stall_detail(105.2, False) == "stalled: no new frame for 4.1 s after 28 frames"
