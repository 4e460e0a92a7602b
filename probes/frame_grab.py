"""One frame grab with PyAV (FFmpeg's libraries): open an RTSP stream, prove it moves, decode.

:func:`grab` runs in a thread of a worker process (:mod:`probes.frame_worker`); it is also
usable in-process (the benchmark's baseline does that). What it proves and how:

* **Liveness.** Every video packet's presentation timestamp is read as it arrives (the
  demuxer hands packets over before any decoding). A *new frame* is a packet whose PTS is
  above every PTS seen before; the stream is live once ``live_frames`` new frames came with
  no wall-clock gap between two of them longer than ``live_window_ms``. A gap that long
  after the first frame (the session stays open, nothing new arrives) or the end of the
  stream is a **stall** (:attr:`GrabFailure.STALLED`, 码流中断), whatever frames were
  decoded before it. OpenCV could not tell: its ``grab()`` waits out its read timeout and
  returns True with the last frame before the stall.
* **Decode only what the checks need.** The decoder skips every frame but keyframes
  (``skip_frame=NONKEY``): the first keyframe is the picture, and when a second picture is
  asked for (the frozen check), the first keyframe ``second_after_s`` after it both by the
  wall clock and by the stream's timestamps (a stream running slow is not compared with itself
  a moment later). Packets in
  between are only demuxed (their timestamps watched) and kept since the last keyframe, so
  a camera whose next keyframe is late still gets its second picture: the kept group of
  pictures is decoded in full then. Only the video track is set up (no audio).
* **Checks where the pictures are.** With ``GrabRequest.checks`` set, the picture checks
  (:func:`probes.vqd.run_vqd`, stateless) run here, in the worker, and only their results
  and the small JPEG go back: the collector's process spends no CPU on pictures (the
  checks take ~12 ms per grab) and the reply is a few KB instead of two raw pictures.

Failures are classified from FFmpeg's error and its log lines of this thread
(``method DESCRIBE failed: 453``); URLs are never quoted and the password is scrubbed
before any text leaves.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, cast

import av
import av.logging
import cv2
import numpy as np

from probes.redact import camera_text
from probes.vqd import Frame, VqdCheck, VqdThresholds, downscale, run_vqd

if TYPE_CHECKING:
    from av.video.stream import VideoStream

    _Packet = av.Packet[VideoStream]

#: FFmpeg options of every grab: RTSP interleaved over TCP, the video track only, no probing
#: beyond the SDP (the picture size comes from the decoded frame).
AV_OPTIONS = {"rtsp_transport": "tcp", "allowed_media_types": "video", "analyzeduration": "0", "probesize": "32"}
MAX_KEPT_PACKETS = 600  # packets kept since the last keyframe (a 24 s group of pictures at 25 fps)
JPEG_WIDTH = 320  # the kept picture (the camera page's 最近一次画面): at most this wide ...
JPEG_QUALITY = 70  # ... at this JPEG quality (10-20 KB)


class GrabFailure(StrEnum):
    """Why no (live) picture came back."""

    AUTH = "auth"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"  # no video data after PLAY, or no picture in the grab's limit (no_video)
    SETUP_TIMEOUT = "setup_timeout"  # the RTSP set-up (connect, DESCRIBE, SETUP, PLAY) not answered in time
    PROTOCOL = "protocol"  # the set-up's replies were nonsense: not RTSP, an unexpected status, a close
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"  # 453/454/503: the stream is busy or not there now
    SETUP_REFUSED = "setup_refused"  # another status refusing SETUP or PLAY (461 Unsupported Transport)
    NO_FRAME = "no_frame"
    STALLED = "stalled"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class GrabRequest:
    """One grab: the URL carries the credentials (never printed: ``repr=False``)."""

    url: str = field(repr=False)
    open_timeout_ms: int = 10_000
    read_timeout_ms: int = 5_000  # for the first picture, and for a keyframe after the gap
    width: int = 320  # downscale to this width before replying
    second_after_s: float | None = None  # also a picture this many seconds after the first
    live_frames: int = 2  # new frames (increasing PTS) that prove the stream moves ...
    live_window_ms: int = 4_000  # ... each within this wall time of the one before
    secret: str | None = field(default=None, repr=False)  # scrubbed from any text sent back
    jpeg: bool = True  # also send the checked picture back as a small JPEG (GrabReply.jpeg)
    checks: VqdThresholds | None = None  # run the picture checks here with these: GrabReply.checks, no frames


@dataclass(frozen=True, slots=True)
class GrabReply:
    ok: bool
    failure: GrabFailure | None = None
    detail: str = ""
    source_width: int = 0
    source_height: int = 0
    frames: tuple[Frame, ...] = ()
    open_ms: float = 0.0  # open (RTSP set-up) time
    first_frame_ms: float = 0.0  # from the start to the first decoded picture
    total_ms: float = 0.0
    new_frames: int = 0  # frames with increasing PTS seen
    pts_span_s: float = 0.0  # PTS of the last new frame minus that of the first
    jpeg: bytes | None = field(default=None, repr=False)  # the first (checked) picture, see encode_jpeg
    checks: tuple[VqdCheck, ...] | None = None  # the picture checks' results when the request asked (then no frames)


# FFmpeg: "method DESCRIBE failed: 401 (Unauthorized)", "Server returned 404 Not Found".
_STATUS = re.compile(r"(?:method (\w+) failed|server returned):? (\d{3})")
_STATUS_FAILURE: dict[int, GrabFailure] = {
    401: GrabFailure.AUTH,
    403: GrabFailure.AUTH,
    404: GrabFailure.NOT_FOUND,
    453: GrabFailure.UNAVAILABLE,
    454: GrabFailure.UNAVAILABLE,
    503: GrabFailure.UNAVAILABLE,
}
# (phrase in FFmpeg's error or log, lower case) -> failure; the first match wins.
_PHRASES: tuple[tuple[str, GrabFailure, str], ...] = (
    ("authorization failed", GrabFailure.AUTH, "camera refused the credentials"),
    ("connection refused", GrabFailure.REFUSED, "connection refused"),
    ("no route to host", GrabFailure.UNREACHABLE, "no route to host"),
    ("network is unreachable", GrabFailure.UNREACHABLE, "network unreachable"),
    ("timed out", GrabFailure.TIMEOUT, ""),
)


def classify_setup(log_text: str, timed_out: bool, limit_s: float, fallback_detail: str) -> tuple[GrabFailure, str]:
    """Map FFmpeg's error and log text of a failed RTSP set-up (``av.open``: connect, DESCRIBE,
    SETUP, PLAY; no picture asked for yet) to a failure: the camera's refusals as at any step,
    another status refusing SETUP or PLAY (461 Unsupported Transport) ``SETUP_REFUSED``, one to
    DESCRIBE or OPTIONS (999, 500) ``PROTOCOL`` as the rtsp stage has it; no answer in time
    ``SETUP_TIMEOUT``; anything else nonsense, ``PROTOCOL``. Never ``no_video``: no picture was due."""
    low = log_text.lower()
    m = _STATUS.search(low)
    if m is not None:
        code, method = int(m.group(2)), (m.group(1) or "").upper()
        failure = _STATUS_FAILURE.get(code) or (
            GrabFailure.SETUP_REFUSED if method in ("SETUP", "PLAY") and code >= 400 else GrabFailure.PROTOCOL)
        return failure, f"camera answered RTSP {code}" + (f" to {method}" if method else "")
    failure, detail = classify(log_text, GrabFailure.PROTOCOL, fallback_detail)
    if failure in (GrabFailure.PROTOCOL, GrabFailure.TIMEOUT) and timed_out:
        return GrabFailure.SETUP_TIMEOUT, f"RTSP set-up not finished within {limit_s:g} s"
    if failure is GrabFailure.PROTOCOL and any(w in low for w in ("end of file", "connection reset", "broken pipe")):
        return failure, "connection closed by camera"
    if failure is GrabFailure.PROTOCOL and "invalid data" in low:
        return failure, "unreadable RTSP reply (invalid data from the camera)"
    return failure, detail


def classify(log_text: str, fallback: GrabFailure, fallback_detail: str) -> tuple[GrabFailure, str]:
    """Map FFmpeg's error and log text of a failed grab to a failure and a short detail."""
    low = log_text.lower()
    m = _STATUS.search(low)
    if m is not None:
        code = int(m.group(2))
        method = f" to {m.group(1).upper()}" if m.group(1) else ""
        return _STATUS_FAILURE.get(code, GrabFailure.ERROR), f"camera answered RTSP {code}{method}"
    for phrase, failure, detail in _PHRASES:
        if phrase in low:
            return failure, detail or fallback_detail
    return fallback, fallback_detail


class _SetupFailed(Exception):
    """``av.open`` failed: the RTSP set-up (connect, DESCRIBE, SETUP, PLAY), before any picture was due."""

    def __init__(self, exc: av.FFmpegError) -> None:
        super().__init__(str(exc.strerror or ""))
        self.exc = exc


class _Stop(Exception):
    """Ends a grab early with a finished reply."""

    def __init__(self, failure: GrabFailure, detail: str) -> None:
        super().__init__(detail)
        self.failure, self.detail = failure, detail


@dataclass(slots=True)
class _Watch:
    """Liveness bookkeeping of one grab (see the module docstring)."""

    window_s: float
    tick_s: float  # seconds per PTS unit (the stream's time base)
    new_frames: int = 0
    first_pts: int | None = None
    last_pts: int | None = None
    first_at: float = 0.0
    last_new_at: float = 0.0

    def see(self, pts: int | None, now: float) -> None:
        """Account a packet: a new frame when its PTS is above every one before."""
        if pts is not None and (self.last_pts is None or pts > self.last_pts):
            if self.first_pts is None:
                self.first_pts, self.first_at = pts, now
            self.last_pts, self.last_new_at = pts, now
            self.new_frames += 1

    @property
    def pts_span_s(self) -> float:
        if self.first_pts is None or self.last_pts is None:
            return 0.0
        return (self.last_pts - self.first_pts) * self.tick_s

    def stalled(self, now: float) -> bool:
        """No new frame for a window, or the frames fell a window behind the wall clock (FFmpeg
        may hand the last frame before a stall over only when its next read times out)."""
        if not self.new_frames:
            return False
        lag = (now - self.first_at) - self.pts_span_s
        return now - self.last_new_at > self.window_s or lag > self.window_s

    def stall_detail(self, now: float, ended: bool) -> str:
        quiet = max(now - self.last_new_at, (now - self.first_at) - self.pts_span_s)
        what = "stream ended" if ended else f"no new frame for {quiet:.1f} s"
        return f"stalled: {what} after {self.new_frames} frame{'s' * (self.new_frames != 1)}"


def _picture(frame: av.VideoFrame, width: int) -> Frame:
    bgr = cast(Frame, frame.to_ndarray(format="bgr24"))  # (8-bit BGR: uint8)
    return np.ascontiguousarray(downscale(bgr, width))


def encode_jpeg(picture: Frame, width: int = JPEG_WIDTH, quality: int = JPEG_QUALITY) -> bytes | None:
    """*picture* (8-bit BGR) as a JPEG at most *width* pixels wide, or None when it cannot be encoded."""
    small = downscale(picture, width) if picture.shape[1] > width else picture
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


def _run(req: GrabRequest, cancel: threading.Event | None, t0: float) -> GrabReply:
    window_s = req.live_window_ms / 1000.0
    read_s = req.read_timeout_ms / 1000.0
    # FFmpeg's reads give up after half a window, so a stall shows within 1.5 windows even when
    # FFmpeg holds the last frame back until a read times out.
    timeout = (req.open_timeout_ms / 1000.0, min(read_s, window_s / 2))
    try:
        container = av.open(req.url, options=AV_OPTIONS, timeout=timeout)
    except av.FFmpegError as exc:
        raise _SetupFailed(exc) from None
    with container:
        open_ms = (time.perf_counter() - t0) * 1000.0
        if not container.streams.video:
            raise _Stop(GrabFailure.NO_FRAME, "the stream has no video track")
        stream = container.streams.video[0]
        watch = _Watch(window_s, float(stream.time_base) if stream.time_base else 1 / 90_000)
        ctx = stream.codec_context
        ctx.thread_count = 1
        ctx.skip_frame = "NONKEY"
        pictures: list[Frame] = []
        size = (0, 0)
        first_ms = 0.0
        kept: list[_Packet] = []  # since the last keyframe, while a second picture is due
        want_second_at: float | None = None
        second_pts = 0  # ... and no earlier in the stream's own time than this PTS
        wait_until = time.perf_counter() + read_s  # for the next picture
        ended = True
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets, None)
            except av.FFmpegError as exc:  # a read timed out (or failed) once the stream had moved: a stall
                if watch.new_frames:
                    raise _Stop(GrabFailure.STALLED, watch.stall_detail(time.perf_counter(), ended=False)) from None
                if isinstance(exc, av.ExitError):  # timed out: the camera accepted PLAY (av.open did it), sent nothing
                    quiet = time.perf_counter() - t0
                    raise _Stop(GrabFailure.TIMEOUT, f"no video data within {quiet:.1f} s after PLAY") from None
                raise
            if packet is None:
                break
            now = time.perf_counter()
            if cancel is not None and cancel.is_set():
                raise _Stop(GrabFailure.CANCELLED, "cancelled")
            if packet.size == 0:  # the demuxer's flush packet: the stream ended
                break
            watch.see(packet.pts if packet.pts is not None else packet.dts, now)
            if watch.stalled(now):
                raise _Stop(GrabFailure.STALLED, watch.stall_detail(now, ended=False))
            pts = packet.pts if packet.pts is not None else packet.dts
            second_due = want_second_at is not None and now >= want_second_at and (pts is None or pts >= second_pts)
            if want_second_at is not None and len(pictures) == 1:
                kept = [packet] if packet.is_keyframe else [*kept[-MAX_KEPT_PACKETS + 1 :], packet]
            if not pictures or (second_due and len(pictures) == 1):
                for frame in _decode(ctx, packet):
                    if not pictures:
                        size = (frame.width, frame.height)
                        first_ms = (time.perf_counter() - t0) * 1000.0
                    pictures.append(_picture(frame, req.width))
                    if req.second_after_s is not None and want_second_at is None:
                        want_second_at = time.perf_counter() + req.second_after_s
                        first_pts = frame.pts if frame.pts is not None else (packet.pts or 0)
                        second_pts = first_pts + round(req.second_after_s / watch.tick_s)
                        wait_until = want_second_at + read_s
                        kept = [packet]
                    break
            if pictures and len(pictures) == 1 and second_due and now > wait_until:
                pictures.append(_decode_kept(ctx, kept, req.width))
            need = 2 if req.second_after_s is not None else 1
            if len(pictures) >= need and watch.new_frames >= req.live_frames:
                ended = False
                break
            if not pictures and now > wait_until:
                raise _Stop(GrabFailure.NO_FRAME, f"no picture decoded within {read_s:g} s ({watch.new_frames} frames)")
        if ended:
            if watch.new_frames:
                raise _Stop(GrabFailure.STALLED, watch.stall_detail(time.perf_counter(), ended=True))
            raise _Stop(GrabFailure.NO_FRAME, "stream opened but ended before any frame")
    jpeg = encode_jpeg(pictures[0]) if req.jpeg else None
    checks = None
    if req.checks is not None:
        checks = run_vqd(pictures[0], pictures[1] if len(pictures) > 1 else None, req.checks)
        pictures = []
    total = (time.perf_counter() - t0) * 1000.0
    return GrabReply(
        True, None, "", size[0], size[1], tuple(pictures), open_ms, first_ms, total, watch.new_frames, watch.pts_span_s,
        jpeg, checks,
    )


def _decode(ctx: av.VideoCodecContext, packet: _Packet) -> list[av.VideoFrame]:
    try:
        return ctx.decode(packet)
    except av.InvalidDataError:  # a damaged packet: the next keyframe will do
        return []


def _decode_kept(ctx: av.VideoCodecContext, kept: list[_Packet], width: int) -> Frame:
    """The newest picture of the kept group of pictures, decoded in full (the keyframe was late)."""
    if not kept or not kept[0].is_keyframe:
        raise _Stop(GrabFailure.NO_FRAME, "no keyframe for the second picture")
    ctx.skip_frame = "DEFAULT"
    last: av.VideoFrame | None = None
    for packet in kept:
        for frame in _decode(ctx, packet):
            last = frame
    if last is None:
        raise _Stop(GrabFailure.NO_FRAME, "second picture not decoded")
    return _picture(last, width)


def grab(req: GrabRequest, cancel: threading.Event | None = None) -> GrabReply:
    """Open ``req.url``, prove the stream moves, decode one picture (and a second one
    ``second_after_s`` later), downscale. Never raises for a camera's behaviour."""
    t0 = time.perf_counter()
    watch_text = ""
    invalid = False
    failure, detail = GrabFailure.ERROR, ""
    setup: _SetupFailed | None = None
    with av.logging.Capture(local=True) as logs:
        try:
            return _run(req, cancel, t0)
        except _Stop as stop:
            failure, detail = stop.failure, stop.detail
        except _SetupFailed as exc:
            setup, watch_text = exc, str(exc)
            detail = camera_text(watch_text, (req.secret,)) or type(exc.exc).__name__
        except av.FFmpegError as exc:  # FFmpeg's own errors; exc.filename (the URL) is never quoted
            watch_text = str(exc.strerror or "")
            invalid = isinstance(exc, av.InvalidDataError)
            failure, detail = GrabFailure.ERROR, camera_text(watch_text, (req.secret,)) or type(exc).__name__
        except (OSError, ValueError, IndexError) as exc:
            failure, detail = GrabFailure.ERROR, type(exc).__name__
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    text = "\n".join(str(m) for _lvl, _name, m in logs) + "\n" + watch_text
    if setup is not None:
        low = text.lower()
        timed_out = "immediate exit" in low or "timed out" in low or elapsed_ms >= req.open_timeout_ms * 0.95
        failure, detail = classify_setup(text, timed_out, req.open_timeout_ms / 1000, detail)
    elif failure is GrabFailure.ERROR:
        failure, detail = classify(text, failure, detail)
        if failure in (GrabFailure.ERROR, GrabFailure.TIMEOUT) and _looks_timed_out(req, elapsed_ms, text):
            failure, detail = GrabFailure.TIMEOUT, f"no answer within {req.open_timeout_ms / 1000:g} s"
        elif failure is GrabFailure.ERROR and invalid:  # FFmpeg's "Invalid data found when processing input"
            failure, detail = GrabFailure.NO_FRAME, "no decodable video in the stream (invalid data from the camera)"
    # (FFmpeg's words, the one text in a detail not ours, are masked where they are put in: our words are
    # never masked, a password "10" leaves "no answer within 10 s" whole)
    return GrabReply(False, failure, detail, total_ms=elapsed_ms)


def _looks_timed_out(req: GrabRequest, elapsed_ms: float, text: str) -> bool:
    """FFmpeg reports an interrupted (timed out) open as 'Invalid data' or 'Immediate exit'."""
    low = text.lower()
    limit = min(req.open_timeout_ms, req.read_timeout_ms, req.live_window_ms)
    return "immediate exit" in low or "timed out" in low or elapsed_ms >= limit * 0.95
