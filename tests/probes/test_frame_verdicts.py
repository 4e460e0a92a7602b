"""The frame stage's verdicts against the simulator and a loopback server: a refusal the camera
names keeps its cause (453 at SETUP is ``stream_unavailable``, as at DESCRIBE), a camera that
accepted PLAY and sends nothing is told as such, and FFmpeg's jargon does not reach the detail."""

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
    "Invalid data found when processing input"; the detail says what that means."""

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
    assert (r.ok, r.cause) == (False, Cause.NO_VIDEO), r
    assert "Invalid data" not in r.detail and "no decodable video in the stream" in r.detail, r.detail
