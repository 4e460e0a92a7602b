"""The worker-process side of the frame stage: open an RTSP stream with OpenCV and decode.

A worker is a fresh interpreter (``python -m probes.frame_worker FD``) started by
:class:`probes.frame.FramePool`. It serves one :class:`GrabRequest` at a time over a
Unix socket pair (4-byte big-endian length + pickle, both ways) and answers with a
:class:`GrabReply` holding only small, already downscaled frames. The parent kills it
when it overruns, so a decoder stuck inside FFmpeg never blocks the collector.

:func:`grab` is also usable in-process (the benchmark's baseline does that).

OpenCV's FFmpeg backend says nothing about *why* an open failed, but FFmpeg and
OpenCV log the reason to stderr ("method DESCRIBE failed: 401 Unauthorized",
"Connection refused", "Stream timeout triggered"). The worker points its stderr
at a private temporary file and classifies those lines into a :class:`GrabFailure`;
URLs in them are redacted and the password is scrubbed before any text leaves
the worker.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

import cv2
import numpy as np

from probes.redact import redact_secrets
from probes.vqd import Frame, downscale

CAPTURE_OPTIONS = "rtsp_transport;tcp"  # OPENCV_FFMPEG_CAPTURE_OPTIONS: RTSP interleaved over TCP
_HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024


class GrabFailure(StrEnum):
    """Why no frame came back (classified from FFmpeg's and OpenCV's own messages)."""

    AUTH = "auth"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    NO_FRAME = "no_frame"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class GrabRequest:
    """One grab: the URL carries the credentials (never printed: ``repr=False``)."""

    url: str = field(repr=False)
    open_timeout_ms: int = 10_000
    read_timeout_ms: int = 5_000
    width: int = 320  # downscale to this width before replying
    second_after_s: float | None = None  # also grab a frame this many seconds after the first
    decoder_threads: int = 1
    secret: str | None = field(default=None, repr=False)  # scrubbed from any text sent back


@dataclass(frozen=True, slots=True)
class GrabReply:
    ok: bool
    failure: GrabFailure | None = None
    detail: str = ""
    source_width: int = 0
    source_height: int = 0
    frames: tuple[Frame, ...] = ()
    open_ms: float = 0.0  # open (RTSP set-up) time
    first_frame_ms: float = 0.0  # from the start to the first decoded frame
    total_ms: float = 0.0


# FFmpeg: "method DESCRIBE failed: 401 (Unauthorized)", "Server returned 404 Not Found".
_STATUS = re.compile(r"(?:method \w+ failed|server returned):? (\d{3})")
_STATUS_FAILURE: dict[int, GrabFailure] = {
    401: GrabFailure.AUTH,
    403: GrabFailure.AUTH,
    404: GrabFailure.NOT_FOUND,
    453: GrabFailure.UNAVAILABLE,
    454: GrabFailure.UNAVAILABLE,
    503: GrabFailure.UNAVAILABLE,
}
# (phrase in FFmpeg/OpenCV output, lower case) -> failure; the first match wins.
_PHRASES: tuple[tuple[str, GrabFailure, str], ...] = (
    ("authorization failed", GrabFailure.AUTH, "camera refused the credentials"),
    ("connection refused", GrabFailure.REFUSED, "connection refused"),
    ("no route to host", GrabFailure.UNREACHABLE, "no route to host"),
    ("network is unreachable", GrabFailure.UNREACHABLE, "network unreachable"),
    ("stream timeout triggered", GrabFailure.TIMEOUT, ""),
    ("timed out", GrabFailure.TIMEOUT, ""),
)


def classify(log_text: str, fallback: GrabFailure, fallback_detail: str) -> tuple[GrabFailure, str]:
    """Map FFmpeg/OpenCV stderr text of a failed grab to a failure and a short detail."""
    low = log_text.lower()
    m = _STATUS.search(low)
    if m is not None:
        code = int(m.group(1))
        return _STATUS_FAILURE.get(code, GrabFailure.ERROR), f"camera answered RTSP {code}"
    for phrase, failure, detail in _PHRASES:
        if phrase in low:
            return failure, detail or fallback_detail
    return fallback, fallback_detail


class StderrCapture:
    """Points this process's fd 2 at an unlinked, append-only temp file; :meth:`take` drains it."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="camwatch-frame-")
        os.close(fd)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND)
        os.unlink(path)
        sys.stderr.flush()
        os.dup2(self._fd, 2)

    def take(self, limit: int = 16_384) -> str:
        size = os.fstat(self._fd).st_size
        start = max(0, size - limit)
        data = os.pread(self._fd, size - start, start)
        os.ftruncate(self._fd, 0)
        return data.decode("utf-8", "replace")


def _fail(
    req: GrabRequest, capture: StderrCapture | None, t0: float, fallback: GrabFailure, what: str, open_ms: float = 0.0
) -> GrabReply:
    text = capture.take() if capture is not None else ""
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    limit_ms = req.read_timeout_ms if open_ms else req.open_timeout_ms
    if fallback is not GrabFailure.TIMEOUT and elapsed_ms - open_ms >= limit_ms * 0.95 and not text.strip():
        fallback = GrabFailure.TIMEOUT
    failure, detail = classify(text, fallback, what)
    if failure is GrabFailure.TIMEOUT:
        detail = f"{what}: no answer within {limit_ms / 1000:g} s"
    return GrabReply(False, failure, redact_secrets(detail, (req.secret,)), open_ms=open_ms, total_ms=elapsed_ms)


def grab(req: GrabRequest, capture: StderrCapture | None = None) -> GrabReply:
    """Open ``req.url``, decode one frame (and a second one ``second_after_s`` later), downscale.

    Between the two frames the stream is drained with ``VideoCapture.grab()`` so the
    second frame is a live one, not the next one buffered after the first (a pause
    without reading would compare two frames 40 ms apart and call every camera
    frozen). One RTSP session is used throughout.
    """
    t0 = time.perf_counter()
    if capture is not None:
        capture.take()  # forget output of earlier grabs
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(req.open_timeout_ms),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(req.read_timeout_ms),
        cv2.CAP_PROP_N_THREADS, int(req.decoder_threads),
    ]  # fmt: skip
    cap = cv2.VideoCapture(req.url, cv2.CAP_FFMPEG, params)
    try:
        if not cap.isOpened():
            return _fail(req, capture, t0, GrabFailure.ERROR, "could not open the stream")
        open_ms = (time.perf_counter() - t0) * 1000.0
        ok, first = cap.read()
        if not ok or first is None:
            return _fail(req, capture, t0, GrabFailure.NO_FRAME, "stream opened but no frame decoded", open_ms)
        first_ms = (time.perf_counter() - t0) * 1000.0
        h, w = first.shape[:2]
        frames: list[Frame] = [np.ascontiguousarray(downscale(cast(Frame, first), req.width))]  # (8-bit BGR: uint8)
        if req.second_after_s is not None:
            until = time.perf_counter() + req.second_after_s
            while time.perf_counter() < until:
                if not cap.grab():
                    return _fail(req, capture, t0, GrabFailure.NO_FRAME, "stream stopped before the second frame", open_ms)
            ok, second = cap.retrieve()
            if not ok or second is None:
                return _fail(req, capture, t0, GrabFailure.NO_FRAME, "second frame not decoded", open_ms)
            frames.append(np.ascontiguousarray(downscale(cast(Frame, second), req.width)))
        total = (time.perf_counter() - t0) * 1000.0
        return GrabReply(True, None, "", w, h, tuple(frames), open_ms, first_ms, total)
    finally:
        cap.release()


# --- framing over the socket pair (used by both sides) ---


def encode(obj: object) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def serve(sock: socket.socket) -> None:
    """The worker loop: one request in, one reply out, until the parent closes the socket."""
    capture = StderrCapture()
    while True:
        head = _recv_exact(sock, _HEADER.size)
        if head is None:
            return
        (n,) = _HEADER.unpack(head)
        if n > MAX_MESSAGE:
            return
        body = _recv_exact(sock, n)
        if body is None:
            return
        req = pickle.loads(body)  # noqa: S301 - from our own parent over a private socket pair
        try:
            reply = grab(req, capture)
        except Exception as exc:  # noqa: BLE001 - a bug or an OpenCV error must still answer
            reply = GrabReply(False, GrabFailure.ERROR, redact_secrets(f"decoder error: {type(exc).__name__}", (req.secret,)))
        sock.sendall(encode(reply))


def main(argv: list[str]) -> int:
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = CAPTURE_OPTIONS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    sock = socket.socket(fileno=int(argv[1]))
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    # Run the copy imported under its real name, so replies pickle as probes.frame_worker.GrabReply.
    from probes.frame_worker import main as _main

    sys.exit(_main(sys.argv))
