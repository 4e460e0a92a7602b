"""The frame stage's verdicts against the simulator and a loopback server: a refusal the camera
names keeps its cause (453 at SETUP is ``stream_unavailable``, as at DESCRIBE), a camera that
accepted PLAY and sends nothing is told as such, and FFmpeg's jargon does not reach the detail.
The set-up refused, never answered or answered with nonsense (the reviewer's hostile.py 8015,
frame2.py 8402/8403) is ``stream_unavailable``, ``timeout`` or ``protocol_error``: the picture was
never reached, so not ``no_video``; after PLAY (no RTP, or frames then nothing) it is ``no_video``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from probes.base import Cause, ProbeTarget
from probes.frame import FrameOptions, FramePool, probe
from probes.sim import Auth, Behaviour, Fleet, SimCamera

SESSION_LIMIT, SILENT = 0, 1


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(2, workers=1) as f:
        f.set_behaviour(SESSION_LIMIT, Behaviour(auth=Auth.NONE, max_sessions=1))
        f.set_behaviour(SILENT, Behaviour(stream=False))
        yield f


@pytest.fixture(scope="module")
def pool() -> Iterator[FramePool]:
    with FramePool(2) as p:
        yield p


def target(cam: SimCamera) -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, None, cam.username, cam.password)


def hold_a_session(cam: SimCamera) -> socket.socket:
    """SETUP one session (the camera's only one) and keep its connection open."""
    s = socket.create_connection((cam.host, cam.rtsp_port), timeout=5)
    url = f"rtsp://{cam.host}:{cam.rtsp_port}{cam.rtsp_path}/trackID=1"
    s.sendall(f"SETUP {url} RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n".encode())
    reply = s.recv(4096)
    assert reply.startswith(b"RTSP/1.0 200") and b"Session:" in reply, reply
    return s


async def test_session_limit_at_setup_is_stream_unavailable(fleet: Fleet, pool: FramePool) -> None:
    """The tester's camera: DESCRIBE fine, SETUP 453 (its one session taken) was ``no_video``
    (离线——无视频画面); it is ``stream_unavailable`` (码流不可用) as a 453 at DESCRIBE is."""
    cam = fleet.camera(SESSION_LIMIT)
    holder = hold_a_session(cam)
    try:
        r = await probe(target(cam), FrameOptions(pool=pool, freeze_check=False, open_timeout_s=5.0))
    finally:
        holder.close()
    assert (r.ok, r.cause) == (False, Cause.STREAM_UNAVAILABLE), r
    assert r.detail == "stream unavailable: camera answered RTSP 453 to SETUP", r.detail


async def test_play_accepted_but_no_rtp_says_so(fleet: Fleet, pool: FramePool) -> None:
    """The camera answered DESCRIBE, SETUP and PLAY, then sent nothing: not "no answer"."""
    r = await probe(target(fleet.camera(SILENT)),
                    FrameOptions(pool=pool, freeze_check=False, open_timeout_s=2.0, read_timeout_s=1.0))
    assert (r.ok, r.cause) == (False, Cause.NO_VIDEO), r
    assert r.detail.startswith("timeout: no video data within ") and r.detail.endswith(" s after PLAY"), r.detail
    assert "no answer" not in r.detail


SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
       b"a=rtpmap:96 H264/90000\r\na=control:track1\r\n")


async def test_sdp_but_no_stream_is_told_in_words(pool: FramePool) -> None:
    """Every request answered 200 with an SDP (no Transport, no Session, no RTP): FFmpeg says
    "Invalid data found when processing input"; the detail says what that means. The set-up's
    replies are nonsense (a SETUP answered with an SDP): ``protocol_error``, not ``no_video``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                cseq = next((line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                             if line.lower().startswith(b"cseq:")), b"1")
                writer.write(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\nContent-Type: application/sdp\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(SDP) + SDP)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await probe(ProbeTarget("127.0.0.1", port, "/x", None), FrameOptions(pool=pool, freeze_check=False))
    finally:
        server.close()
    assert (r.ok, r.cause) == (False, Cause.PROTOCOL_ERROR), r
    assert r.detail == "bad reply: unreadable RTSP reply (invalid data from the camera)", r.detail


def setup_server(mode: str):  # type: ignore[no-untyped-def]
    """A camera whose RTSP set-up fails in *mode*: ``setup_461`` (SETUP refused: Unsupported
    Transport), ``setup_silent`` / ``play_silent`` (never answered), ``describe_trickle`` (DESCRIBE's
    reply a byte every 0.2 s), ``play_no_rtp`` (PLAY answered, then nothing: the picture's trouble)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method = head.split(b" ", 1)[0].decode()
                cseq = next((line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                             if line.lower().startswith(b"cseq:")), b"1")
                ok = b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\n"
                if method == "DESCRIBE":
                    reply = ok + b"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(SDP) + SDP
                    if mode == "describe_trickle":
                        for i in range(len(reply)):
                            writer.write(reply[i:i + 1])
                            await writer.drain()
                            await asyncio.sleep(0.2)
                        continue
                elif method == "SETUP" and mode == "setup_461":
                    reply = b"RTSP/1.0 461 Unsupported Transport\r\nCSeq: " + cseq + b"\r\n\r\n"
                elif (method, mode) in (("SETUP", "setup_silent"), ("PLAY", "play_silent")):
                    await reader.read()
                    return
                elif method == "SETUP":
                    reply = ok + b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: ABCD;timeout=60\r\n\r\n"
                elif method == "PLAY":
                    reply = ok + b"Session: ABCD\r\n\r\n"  # (then no RTP)
                else:
                    reply = ok + b"Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize(("mode", "cause", "detail"), [
    ("setup_461", Cause.STREAM_UNAVAILABLE, "stream unavailable: camera answered RTSP 461 to SETUP"),  # hostile.py 8015
    ("setup_silent", Cause.TIMEOUT, "timeout: RTSP set-up not finished within 2 s"),  # frame2.py 8402
    ("play_silent", Cause.TIMEOUT, "timeout: RTSP set-up not finished within 2 s"),  # frame2.py 8403
    ("describe_trickle", Cause.TIMEOUT, "timeout: RTSP set-up not finished within 2 s"),  # frame2.py 8401
    ("play_no_rtp", Cause.NO_VIDEO, "timeout: no video data within"),  # hostile.py 8005: stays no_video
])
async def test_a_set_up_that_never_reached_the_picture_is_not_no_video(
        pool: FramePool, mode: str, cause: Cause, detail: str) -> None:
    server = await setup_server(mode)
    port = server.sockets[0].getsockname()[1]
    try:
        opts = FrameOptions(pool=pool, freeze_check=False, open_timeout_s=2.0, read_timeout_s=1.0)
        r = await probe(ProbeTarget("127.0.0.1", port, "/x", None), opts)
    finally:
        server.close()
    assert (r.ok, r.cause) == (False, cause), r
    assert r.detail.startswith(detail), r.detail
    # the grab's failure rides along for the collector's video tier (collector/runtime/video_verdict.py:
    # a stream set up but never played is an outage there, told as no_video; a busy one is not)
    assert r.data == {"setup_461": "setup_refused", "play_no_rtp": "timeout"}.get(mode, "setup_timeout"), r.data
