"""The probe ladder: reach -> rtsp -> onvif -> (frame, when asked for video).

The first failing stage names the cause and later stages are skipped, except
that an ONVIF failure is only a warning: a camera whose stream answers stays
online. The ladder owns the timeouts: each stage runs under its own limit and an
expiry becomes that stage's cause (reach -> ``unreachable``, rtsp -> ``timeout``,
onvif -> ``onvif_error``, frame -> ``no_video``). What each stage is (prober, options,
limit, cause, meaning for the verdict) is declared once in :mod:`probes.stages`.

After a failed login the camera is left alone while :class:`~probes.rtsp_state.RtspState`
says so: the ladder answers ``auth_failed`` ("backing off") without contacting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal

from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.checks import CLOCK
from probes.onvif_soap import DeviceIdentity
from probes.reach import ReachOptions, probe_and_keep
from probes.reach import probe as reach_probe
from probes.rtsp import probe as rtsp_probe
from probes.rtsp_wire import RtspConnection
from probes.stage_limit import StageProber, run_stage
from probes.stages import REACH, RTSP, SPEC_OF, LadderOptions

if TYPE_CHECKING:
    from probes.vqd import VqdCheck

__all__ = ["LadderOptions", "LadderResult", "State", "conclude", "run_ladder", "run_stage"]

State = Literal["online", "degraded", "offline"]


@dataclass(frozen=True, slots=True)
class LadderResult:
    state: State
    cause: Cause | None
    stages: tuple[ProbeResult, ...]
    clock_offset_s: float | None = None
    device: DeviceIdentity | None = None  # the onvif stage's device record, or None
    video: tuple[VqdCheck, ...] | None = None  # the frame stage's checks, or None
    warnings: tuple[str, ...] = ()
    clock_skewed: bool = False  # the clock check failed: |clock_offset_s| > LadderOptions.clock_skew_s
    jpeg: bytes | None = field(default=None, repr=False, compare=False)  # the frame stage's picture (small JPEG)

    @property
    def failed_checks(self) -> tuple[str, ...]:
        """The failed picture checks, then ``clock`` when the clock check failed."""
        failed = tuple(c.name for c in self.video or () if not c.ok)
        return (*failed, CLOCK) if self.clock_skewed else failed

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    def stage_durations(self) -> tuple[tuple[Stage, float], ...]:
        return tuple((s.stage, s.duration_s) for s in self.stages)


async def run_ladder(target: ProbeTarget, opts: LadderOptions | None = None) -> LadderResult:
    """Probe *target* stage by stage; the first failing stage names the cause."""
    opts = opts if opts is not None else LadderOptions()
    key = (target.host, target.rtsp_port)
    left = opts.rtsp.state.backoff_remaining(key, target.username, target.password)
    if left > 0:
        r = ProbeResult(Stage.RTSP, False, 0.0, Cause.AUTH_FAILED, f"backing off after failed login, {left:.0f} s left")
        return conclude((r,))

    stages: list[ProbeResult] = []
    kept: list[RtspConnection] = []
    max_reply = opts.rtsp.max_reply_bytes

    async def reach_and_keep(t: ProbeTarget, o: ReachOptions) -> ProbeResult:
        r, conn = await probe_and_keep(t, o, lambda: RtspConnection(max_reply))
        if conn is not None:
            kept.append(conn)
        return r

    reach_fn: StageProber[ReachOptions] = reach_probe
    if opts.reuse_connection and opts.reach.port in (None, target.rtsp_port):
        reach_fn = reach_and_keep

    try:
        r = await run_stage(Stage.REACH, reach_fn, target, opts.reach, opts.reach_timeout_s, REACH.timeout_cause)
        stages.append(r)
        if not r.ok:
            return conclude(stages)
        conn = kept.pop() if kept else None
        rtsp_fn = partial(rtsp_probe, conn=conn) if conn is not None else rtsp_probe
        r = await run_stage(Stage.RTSP, rtsp_fn, target, opts.rtsp, opts.rtsp_timeout_s, RTSP.timeout_cause)
        stages.append(r)
        if not r.ok:
            return conclude(stages)
    finally:
        for c in kept:  # only when cancelled between the two stages
            c.close()
    for bound in opts.later:
        if bound.applies is None or bound.applies(target):
            stages.append(await bound.run(target))
    return conclude(stages, clock_skew_s=opts.clock_skew_s)


def conclude(stages: Sequence[ProbeResult], warnings: Sequence[str] = (), *,
             clock_skew_s: float | None = None) -> LadderResult:
    """The verdict from the stages that ran (pure; stages in ladder order).

    The first failing stage names the cause, except a stage whose failure only warns
    (onvif). A failed picture check (frame) makes the camera degraded, and so does a clock
    off by more than *clock_skew_s* (the clock check; None: not checked).
    """
    warn = list(warnings)
    clock_offset: float | None = None
    device: DeviceIdentity | None = None
    video: tuple[VqdCheck, ...] | None = None
    jpeg: bytes | None = None
    for r in stages:
        spec = SPEC_OF[r.stage]
        if spec.gives_clock:
            clock_offset = getattr(r.data, "clock_offset_s", None)
            device = getattr(r.data, "device", None)
        if spec.gives_checks:
            checks = getattr(r.data, "checks", None)
            video = tuple(checks) if checks is not None else None
            jpeg = getattr(r.data, "jpeg", None)
        if not r.ok:
            if spec.warns_only:
                warn.append(f"{r.stage} {r.cause or spec.timeout_cause}: {r.detail}".rstrip(": "))
                continue
            cause = r.cause or spec.timeout_cause
            return LadderResult("offline", cause, tuple(stages), clock_offset, device, video, tuple(warn))
    skewed = clock_skew_s is not None and clock_offset is not None and abs(clock_offset) > clock_skew_s
    state: State = "degraded" if skewed or (video and any(not c.ok for c in video)) else "online"
    return LadderResult(state, None, tuple(stages), clock_offset, device, video, tuple(warn), skewed, jpeg)
