"""What one video-tier probe (frame + VQD) does to a camera's state, as a pure function.

DESIGN §3: the video stage fails as ``no_video`` (the stream opens but no frames come, or they
stall): the camera is offline with that cause, confirmed like any failure (by the video tier's
own re-probes, see ``camera_state.video_delay``); so does a stream the frame stage could not play
at all (SETUP or PLAY refused or unanswered, after reach and RTSP passed). A picture that fails VQD
makes it degraded with the failed checks named. Any other failure of the video ladder (the camera
refused, timed out before its stream, its one session taken) is the fast tier's to tell: nothing
changes here. A camera the fast tier
found offline for another cause keeps that verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from collector.runtime.camera_state import Outcome, State, Status
from collector.runtime.ladders import clock_failed
from probes.base import Stage
from probes.causes import Cause
from probes.ladder import LadderResult
from probes.vqd_rules import VqdBaseline, apply_baseline

# The frame stage's failures that mean the stream could not be played (not a busy stream, 453/503,
# nor a refusal, an unreachable camera or a failed login: the fast tier's to tell)
# (probes.frame_grab.GrabFailure values, a StrEnum: compared as text, so that importing this module,
# as every probe worker does, does not load PyAV and OpenCV)
NOT_PLAYED = frozenset({"setup_refused", "setup_timeout", "protocol"})


def _stream_not_played(result: LadderResult) -> bool:
    """The video ladder reached the camera and its RTSP answered, but the frame stage could not
    play the stream (SETUP or PLAY refused, unanswered, or nonsense: ``camwatch probe`` names it
    stream_unavailable, timeout or protocol_error): no picture reaches anyone, an outage the fast
    tier (which stops at DESCRIBE) cannot see, so it is told as ``no_video``; the frame stage's
    detail (the camera's page, ``last_video_probe``) says which request failed."""
    stages = result.stages
    if not stages or stages[-1].stage is not Stage.FRAME or stages[-1].ok or stages[-1].data not in NOT_PLAYED:
        return False
    before = {r.stage: r.ok for r in stages[:-1]}
    return before.get(Stage.REACH) is True and before.get(Stage.RTSP) is True


@dataclass(frozen=True, slots=True)
class VideoVerdict:
    outcome: Outcome | None  # the outcome to step the camera's state with; None: no change
    video_ok: bool | None  # the camera's video_ok after this probe
    baseline: VqdBaseline  # its VQD baseline after this probe


def video_verdict(result: LadderResult, status: Status, at: dt.datetime, video_ok: bool | None,
                  baseline: VqdBaseline) -> VideoVerdict:
    """The verdict of a video-tier *result* started at *at* on a camera in *status*."""
    told = status.state is State.EXCLUDED or (status.state is State.OFFLINE and status.cause is not Cause.NO_VIDEO)
    if result.state == "offline" and (result.cause is Cause.NO_VIDEO or _stream_not_played(result)):
        return VideoVerdict(None if told else Outcome(at, False, Cause.NO_VIDEO), False, baseline)
    if result.state == "offline" or result.video is None:
        return VideoVerdict(None, video_ok if result.state == "offline" else False, baseline)
    # judged against the camera's own baseline (learnt from its first good pictures)
    video, baseline = apply_baseline(result.video, baseline)
    failed = tuple(c.name for c in video if not c.ok)
    outcome = None if told else Outcome(at, True, None, failed, clock_failed(result))
    return VideoVerdict(outcome, not failed, baseline)
