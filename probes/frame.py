"""The ``frame`` stage: a live, decoded picture (and a second one for freeze detection) plus VQD.

A grab (:mod:`probes.frame_grab`, PyAV) runs in a thread of a decoder worker process of a
:class:`~probes.frame_pool.FramePool`; many grabs share a process, because a grab is
wall-bound and cheap in CPU. It proves the stream moves: ``live_frames`` frames with
increasing presentation timestamps, each within ``live_window_s`` of the one before.
The picture checks (stateless :func:`probes.vqd.run_vqd`) run in the worker too, so only
their results and a small JPEG come back (``checks_in_worker``; the collector's process then
spends ~1 ms per grab, not ~13 ms).

Result: ``ok=False`` when no live picture came, with the cause the grab's failure names
(:func:`map_failure`: a refused login ``auth_failed``, a refused connection ``refused``, no
route ``unreachable``, a 404/453/454/503 at any step of the set-up or any refusal of SETUP or
PLAY ``stream_unavailable``, a set-up (DESCRIBE, SETUP, PLAY) not answered in time ``timeout``,
one answered with nonsense ``protocol_error``: the picture was never reached) and ``no_video``
when the stream was set up (PLAY answered) but no picture came, the stream stalled after its
first frames (``stalled: ...``) or the grab overran its limit; otherwise ``ok=True`` with :class:`FrameInfo`
whose VQD checks may fail (``frozen`` when two pictures ``freeze_gap_s`` apart are the
same): the ladder then calls the camera *degraded*, not offline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from probes.base import Cause, ProbeResult, ProbeTarget, Stage, register
from probes.frame_grab import GrabFailure, GrabReply, GrabRequest
from probes.frame_pool import FramePool as FramePool  # (re-exported: the stage's users make one)
from probes.frame_pool import PoolClosedError as PoolClosedError
from probes.vqd import CALIBRATION_WIDTH, DEFAULT_THRESHOLDS, VqdCheck, VqdThresholds, run_vqd

RETRY_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """Options of the frame stage (the collector's come from the ``probe:`` settings).
    ``pool=None``: a one-grab pool per probe (slow: it starts a process every time; fine
    for ``camwatch probe``, not for the video tier)."""

    pool: FramePool | None = field(default=None, compare=False)
    width: int = CALIBRATION_WIDTH  # downscale to this width (the VQD thresholds assume 320)
    open_timeout_s: float = 10.0  # RTSP set-up
    read_timeout_s: float = 5.0  # wait for the first picture, and for a keyframe after the gap
    live_frames: int = 2  # frames with increasing timestamps that prove the stream moves ...
    live_window_s: float = 4.0  # ... each arriving within this many seconds of the one before
    freeze_check: bool = True  # grab a second picture and run the frozen check
    freeze_gap_s: float = 3.0  # seconds between the two pictures
    thresholds: VqdThresholds = DEFAULT_THRESHOLDS
    hard_limit_s: float | None = None  # None: open + 2 reads + gap + 1.5 windows + 5 s
    checks_in_worker: bool = True  # run the picture checks in the decoder worker (False: in this process)

    def limit(self) -> float:
        if self.hard_limit_s is not None:
            return self.hard_limit_s
        gap = self.freeze_gap_s if self.freeze_check else 0.0
        return self.open_timeout_s + 2 * self.read_timeout_s + gap + 1.5 * self.live_window_s + 5.0


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """Payload of a successful frame result."""

    width: int  # the stream's picture size
    height: int
    checks: tuple[VqdCheck, ...]
    first_frame_ms: float = 0.0  # open + first decoded frame
    new_frames: int = 0  # frames with increasing timestamps seen (the liveness proof)
    pts_span_s: float = 0.0  # their timestamps' span
    jpeg: bytes | None = field(default=None, repr=False, compare=False)  # the checked picture, small (320 px)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.ok)


_FAILURE_TEXT: dict[GrabFailure, str] = {
    GrabFailure.AUTH: "auth failed",
    GrabFailure.REFUSED: "refused",
    GrabFailure.UNREACHABLE: "unreachable",
    GrabFailure.TIMEOUT: "timeout",
    GrabFailure.SETUP_TIMEOUT: "timeout",
    GrabFailure.PROTOCOL: "bad reply",
    GrabFailure.NOT_FOUND: "stream not found",
    GrabFailure.UNAVAILABLE: "stream unavailable",
    GrabFailure.SETUP_REFUSED: "stream unavailable",
    GrabFailure.NO_FRAME: "no frame",
    GrabFailure.STALLED: "",  # (its detail starts with "stalled")
    GrabFailure.CANCELLED: "cancelled",
    GrabFailure.ERROR: "error",
}


#: Failures that name a cause of their own (the camera said why, or the stream was never set up:
#: no picture was due yet); every other one is ``no_video``.
_FAILURE_CAUSE: dict[GrabFailure, Cause] = {
    GrabFailure.AUTH: Cause.AUTH_FAILED,
    GrabFailure.REFUSED: Cause.REFUSED,
    GrabFailure.UNREACHABLE: Cause.UNREACHABLE,
    GrabFailure.NOT_FOUND: Cause.STREAM_UNAVAILABLE,
    GrabFailure.UNAVAILABLE: Cause.STREAM_UNAVAILABLE,
    GrabFailure.SETUP_REFUSED: Cause.STREAM_UNAVAILABLE,
    GrabFailure.SETUP_TIMEOUT: Cause.TIMEOUT,
    GrabFailure.PROTOCOL: Cause.PROTOCOL_ERROR,
}


def map_failure(reply: GrabReply) -> tuple[Cause, str]:
    """The one place where a failed grab becomes a cause: the camera's refusals keep their own
    (a 453 at SETUP is ``stream_unavailable`` as it is at DESCRIBE, and so is a SETUP or PLAY
    refused with another status: 461), a set-up never answered is ``timeout`` and one answered
    with nonsense ``protocol_error``; no frame after PLAY, a stalled stream, the grab's time
    limit or an error are ``no_video``; the detail names why (``auth failed: ...``,
    ``stream unavailable: ...``, ``timeout: ...``, ``bad reply: ...``)."""
    failure = reply.failure or GrabFailure.ERROR
    head = _FAILURE_TEXT[failure]
    cause = _FAILURE_CAUSE.get(failure, Cause.NO_VIDEO)
    return cause, (f"{head}: {reply.detail}" if head else reply.detail).rstrip(": ")


def make_request(target: ProbeTarget, opts: FrameOptions) -> GrabRequest:
    return GrabRequest(
        url=target.rtsp_url(with_credentials=True, redact=False),
        open_timeout_ms=int(opts.open_timeout_s * 1000),
        read_timeout_ms=int(opts.read_timeout_s * 1000),
        width=opts.width,
        second_after_s=opts.freeze_gap_s if opts.freeze_check else None,
        live_frames=opts.live_frames,
        live_window_ms=int(opts.live_window_s * 1000),
        secret=target.password or None,
        checks=opts.thresholds if opts.checks_in_worker else None,
    )


@register(Stage.FRAME)
async def probe(target: ProbeTarget, opts: FrameOptions | None = None) -> ProbeResult:
    """Grab and diagnose *target*'s picture (see the module docstring)."""
    opts = opts if opts is not None else FrameOptions()
    t0 = time.perf_counter()
    req = make_request(target, opts)

    async def grab_once() -> GrabReply:
        if opts.pool is not None:
            return await opts.pool.grab(req, opts.limit())
        pool = FramePool(1)
        try:
            return await pool.grab(req, opts.limit())
        finally:
            await asyncio.shield(pool.aclose())

    reply = await grab_once()
    if not reply.ok and reply.failure is GrabFailure.UNAVAILABLE:
        # A camera often refuses a second session for a moment right after the ladder's own
        # DESCRIBE (453/503 while it releases the first): one retry after a short pause.
        await asyncio.sleep(RETRY_PAUSE_S)
        reply = await grab_once()
    if not reply.ok or (reply.checks is None and not reply.frames):
        cause, detail = map_failure(reply)  # (data: the grab's failure, for the collector's video tier)
        return ProbeResult(Stage.FRAME, False, time.perf_counter() - t0, cause, detail, reply.failure)
    checks = reply.checks
    if checks is None:  # the pictures came back: checked here
        second = reply.frames[1] if len(reply.frames) > 1 else None
        # (in a thread: the checks take milliseconds per picture, which the event loop must not wait out)
        checks = await asyncio.to_thread(run_vqd, reply.frames[0], second, opts.thresholds)
    info = FrameInfo(
        reply.source_width,
        reply.source_height,
        checks,
        round(reply.first_frame_ms, 1),
        reply.new_frames,
        reply.pts_span_s,
        reply.jpeg,
    )
    failed = info.failed
    detail = f"{reply.source_width}x{reply.source_height}; " + (
        "picture fails: " + ", ".join(failed) if failed else "picture ok"
    )
    return ProbeResult(Stage.FRAME, True, time.perf_counter() - t0, None, detail, info)
