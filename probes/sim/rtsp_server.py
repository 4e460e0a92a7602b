"""The RTSP/1.0 side of a simulated camera: a raw asyncio Protocol (OPTIONS, DESCRIBE, SETUP
with interleaved TCP, PLAY, TEARDOWN, GET_PARAMETER)."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from probes.sim import h264, hostile_rtsp
from probes.sim.auth import Verdict, challenge, check_rtsp
from probes.sim.behaviour import DESCRIBE_STATUSES, Power, Reply
from probes.sim.context import CameraConnection, WorkerContext
from probes.sim.rtp import CLOCK_RATE, FPS, PAYLOAD_TYPE, RtpStreamer
from probes.sim.state import CameraState

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
_AUTH_METHODS = frozenset({"DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "GET_PARAMETER"})
_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
_REASONS = {**DESCRIBE_STATUSES, 302: "Found", 401: "Unauthorized", 405: "Method Not Allowed",
            461: "Unsupported Transport", 505: "RTSP Version Not Supported"}
VIDEO_TRACK = "trackID=1"
AUDIO_TRACK = "trackID=2"


def sdp_for(cam: CameraState) -> bytes:
    """The session description: one H.264 video track (640x360: :mod:`probes.sim.h264`), or
    (``video`` off) only a G.711 audio track."""
    lines = [
        "v=0",
        f"o=- {cam.index + 1} 1 IN IP4 {cam.host}",
        "s=camwatch simulated camera",
        f"c=IN IP4 {cam.host}",
        "t=0 0",
        "a=control:*",
        "a=range:npt=0-",
    ]
    if cam.behaviour.video:
        lines += [
            "m=video 0 RTP/AVP 96",
            f"a=rtpmap:{PAYLOAD_TYPE} H264/{CLOCK_RATE}",
            f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id={h264.PROFILE_LEVEL_ID};"
            f"sprop-parameter-sets={h264.SPS_B64},{h264.PPS_B64}",
            f"a=x-dimensions:{h264.WIDTH},{h264.HEIGHT}",
            f"a=framerate:{FPS}",
            f"a=control:{VIDEO_TRACK}",
        ]
    else:
        lines += ["m=audio 0 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", f"a=control:{AUDIO_TRACK}"]
    return ("\r\n".join(lines) + "\r\n").encode()


class RtspProtocol(CameraConnection):
    __slots__ = ("content_base", "session", "streamer", "video_channel")

    def __init__(self, cam: CameraState, ctx: WorkerContext) -> None:
        super().__init__(cam, ctx)
        self.session: str | None = None
        self.streamer: RtpStreamer | None = None
        self.video_channel: int | None = None
        self.content_base = f"rtsp://{cam.host}:{cam.rtsp_port}{cam.rtsp_path}/"

    # --- asyncio callbacks ---------------------------------------------------------------

    def opened(self, transport: asyncio.Transport) -> None:
        self.cam.rtsp_opened(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.cam.rtsp_closed(self.transport)
        self._end_session()

    def data_received(self, data: bytes) -> None:
        b = self.cam.behaviour
        if b.power is Power.HANG:
            return
        buf = self.buf + data if self.buf else data
        while buf:
            if buf[0] == 0x24:  # '$': an interleaved RTP/RTCP packet from the client
                if len(buf) < 4:
                    break
                size = 4 + int.from_bytes(buf[2:4], "big")
                if len(buf) < size:
                    break
                buf = buf[size:]
                continue
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail(413, "Request Entity Too Large")
                    return
                break
            head = buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._fail(400, "Bad Request")
                return
            total = end + 4 + length
            if len(buf) < total:
                break
            buf = buf[total:]
            self._handle(lines[0], headers)
            if self.transport is None or self.transport.is_closing():
                return
        self.buf = buf

    # --- requests ------------------------------------------------------------------------

    def _handle(self, request_line: str, headers: dict[str, str]) -> None:
        cam = self.cam
        b = cam.behaviour
        cseq = headers.get("cseq", "0")
        parts = request_line.split(" ")
        if len(parts) != 3:
            self._fail(400, "Bad Request", cseq)
            return
        method, url, version = parts
        counter = method.lower()
        if counter in ("options", "describe", "setup", "play", "teardown", "get_parameter"):
            setattr(cam, counter, getattr(cam, counter) + 1)
        else:
            cam.other_rtsp += 1
        if "authorization" in headers:
            cam.rtsp_logins += 1
        if b.rtsp_reply in hostile_rtsp.HOSTILE:
            hostile_rtsp.answer(self._transport(), self.ctx.loop, cam, self.ctx.nonces, self.ctx.clock(),
                                b.rtsp_reply, cseq, headers.get("authorization"))
            return
        if b.rtsp_reply is Reply.WRONG_CSEQ:
            cseq = f"{cseq}0"
        if b.rtsp_reply is Reply.GARBAGE:
            self.ctx.send(self._transport(), self.ctx.garbage, b.delay_s, close=True)
            return
        if b.rtsp_reply is Reply.OVERSIZED:
            line = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}".encode()
            self.ctx.send(self._transport(), self.ctx.oversized(line, b.oversized_bytes),
                          b.delay_s, close=True)
            return
        if version != "RTSP/1.0":
            self._reply(505, cseq)
            return
        now = self.ctx.clock()
        if method == "DESCRIBE" and b.redirect_to:
            self._reply(302, cseq, f"Location: {b.redirect_to}\r\n")
            return
        if method in _AUTH_METHODS:
            verdict = check_rtsp(cam, self.ctx.nonces, method, headers.get("authorization"), now)
            if verdict is not Verdict.OK:
                cam.rtsp_challenges += 1
                www = challenge(cam, self.ctx.nonces, now, stale=verdict is Verdict.STALE)
                if b.rtsp_reply is Reply.CLOSE_AFTER_401:
                    self._reply(401, cseq, f"WWW-Authenticate: {www}\r\nConnection: close\r\n", close=True)
                else:
                    self._reply(401, cseq, f"WWW-Authenticate: {www}\r\n")
                return
        if method == "OPTIONS":
            self._reply(200, cseq, f"Public: {_PUBLIC}\r\n")
        elif method == "DESCRIBE":
            self._describe(url, cseq)
        elif method == "SETUP":
            self._setup(url, cseq, headers)
        elif method == "PLAY":
            self._play(cseq, headers)
        elif method == "TEARDOWN":
            if self.session is not None and _session_id(headers) == self.session:
                self._end_session()
                self._reply(200, cseq)
            else:
                self._reply(454, cseq)
        elif method == "GET_PARAMETER":
            self._reply(200, cseq, self._session_header())
        else:
            self._reply(405, cseq, f"Allow: {_PUBLIC}\r\n")

    def _path_ok(self, url: str, *, track: bool) -> bool:
        path = urlsplit(url).path.rstrip("/")
        base = self.cam.rtsp_path.rstrip("/")
        if path == base:
            return True
        return track and path in (f"{base}/{VIDEO_TRACK}", f"{base}/{AUDIO_TRACK}")

    def _describe(self, url: str, cseq: str) -> None:
        status = self.cam.behaviour.describe_status
        if status != 200:
            self._reply(status, cseq)
            return
        if not self._path_ok(url, track=False):
            self._reply(404, cseq)
            return
        sdp = sdp_for(self.cam)
        self._reply(200, cseq, f"Content-Base: {self.content_base}\r\n"
                    "Content-Type: application/sdp\r\n", sdp)

    def _setup(self, url: str, cseq: str, headers: dict[str, str]) -> None:
        cam = self.cam
        if not self._path_ok(url, track=True):
            self._reply(404, cseq)
            return
        transport = headers.get("transport", "")
        if "TCP" not in transport.upper():
            self._reply(461, cseq)
            return
        channel = 0
        for field in transport.split(";"):
            if field.strip().startswith("interleaved="):
                try:
                    channel = int(field.split("=", 1)[1].split("-")[0])
                except ValueError:
                    channel = 0
        if self.session is None:
            limit = cam.behaviour.max_sessions
            if limit and cam.sessions_open >= limit:
                self._reply(453, cseq)
                return
            self.session = os.urandom(4).hex().upper()
            cam.session_opened()
        elif _session_id(headers) != self.session:
            self._reply(454, cseq)
            return
        if cam.behaviour.video and not urlsplit(url).path.rstrip("/").endswith(AUDIO_TRACK):
            self.video_channel = channel
        self._reply(200, cseq, f"Transport: RTP/AVP/TCP;unicast;interleaved={channel}-"
                    f"{channel + 1}\r\n{self._session_header()}")

    def _play(self, cseq: str, headers: dict[str, str]) -> None:
        if self.session is None or _session_id(headers) != self.session:
            self._reply(454, cseq)
            return
        extra = self._session_header() + "Range: npt=0.000-\r\n"
        streamer = None
        if self.cam.behaviour.stream and self.video_channel is not None:
            if self.streamer is None:
                cam = self.cam
                self.streamer = RtpStreamer(self._transport(), self.video_channel, self.ctx.loop,
                                            lambda: cam.behaviour.picture)
            streamer = self.streamer
            extra += (f"RTP-Info: url={self.content_base}{VIDEO_TRACK};seq={streamer.first_seq};"
                      f"rtptime={streamer.first_ts}\r\n")
        self._reply(200, cseq, extra)
        if streamer is not None:
            delay = self.cam.behaviour.delay_s
            if delay > 0:
                self.ctx.loop.call_later(delay, streamer.start)
            else:
                streamer.start()

    # --- helpers -------------------------------------------------------------------------

    def _session_header(self) -> str:
        return f"Session: {self.session};timeout=60\r\n" if self.session else ""

    def _end_session(self) -> None:
        if self.streamer is not None:
            self.streamer.stop()
            self.streamer = None
        if self.session is not None:
            self.session = None
            self.cam.sessions_open -= 1

    def _reply(self, status: int, cseq: str, extra: str = "", body: bytes = b"", *, close: bool = False) -> None:
        head = (f"RTSP/1.0 {status} {_REASONS.get(status, 'Error')}\r\nCSeq: {cseq}\r\n"
                f"Server: camwatch-sim\r\n{extra}")
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.ctx.send(self._transport(), head.encode() + b"\r\n" + body, self.cam.behaviour.delay_s, close)

    def _fail(self, status: int, reason: str, cseq: str = "0") -> None:
        self.ctx.send(self._transport(),
                      f"RTSP/1.0 {status} {reason}\r\nCSeq: {cseq}\r\n\r\n".encode(), 0, close=True)
        self.buf = b""


def _session_id(headers: dict[str, str]) -> str:
    return headers.get("session", "").split(";")[0].strip()
