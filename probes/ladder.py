"""The probe ladder: reach -> rtsp -> onvif -> (frame, when asked for video).

The first failing stage names the cause and later stages are skipped, except
that an ONVIF failure is only a warning: a camera whose stream answers stays
online. The ladder owns the timeouts: each stage runs under its own limit and an
expiry becomes that stage's cause (reach -> ``unreachable``, rtsp -> ``timeout``,
onvif -> ``onvif_error``, frame -> ``no_video``).

After a failed login the camera is left alone while :class:`~probes.rtsp_state.RtspState`
says so: the ladder answers ``auth_failed`` ("backing off") without contacting it.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from probes.base import PROBERS, Cause, Prober, ProbeResult, ProbeTarget, Stage
from probes.reach import ReachOptions, probe_and_keep
from probes.reach import probe as reach_probe
from probes.rtsp import RtspOptions
from probes.rtsp import probe as rtsp_probe
from probes.rtsp_wire import RtspConnection

State = Literal["online", "degraded", "offline"]

TIMEOUT_CAUSE: dict[Stage, Cause] = {
    Stage.REACH: Cause.UNREACHABLE,
    Stage.RTSP: Cause.TIMEOUT,
    Stage.ONVIF: Cause.ONVIF_ERROR,
    Stage.FRAME: Cause.NO_VIDEO,
}
# Module and options class of the stages written elsewhere, loaded on first use.
_LAZY: dict[Stage, tuple[str, str]] = {
    Stage.ONVIF: ("probes.onvif", "OnvifOptions"),
    Stage.FRAME: ("probes.frame", "FrameOptions"),
}


@dataclass(frozen=True, slots=True)
class LadderOptions:
    """What to run and how long each stage may take (seconds)."""

    reach: ReachOptions = field(default_factory=ReachOptions)
    rtsp: RtspOptions = field(default_factory=RtspOptions)
    onvif: Any = None  # probes.onvif.OnvifOptions; None: its defaults, made once
    frame: Any = None  # probes.frame.FrameOptions; None: its defaults, made once
    use_onvif: bool = True  # run the onvif stage when the target has an ONVIF port
    video: bool = False  # run the frame stage (video tier)
    reuse_connection: bool = True  # the rtsp stage uses the reach stage's TCP connection
    reach_timeout_s: float = 3.0
    rtsp_timeout_s: float = 5.0
    onvif_timeout_s: float = 5.0
    frame_timeout_s: float = 30.0
    _defaults: dict[Stage, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def stage_options(self, stage: Stage) -> Any:
        """Options for *stage*: the ones given, else the stage's defaults (made once)."""
        if stage is Stage.ONVIF:  # (branches, not a dict: Enum hashes are Python calls, and this runs per probe)
            given = self.onvif
        elif stage is Stage.FRAME:
            given = self.frame
        elif stage is Stage.RTSP:
            given = self.rtsp
        else:
            given = self.reach
        if given is not None:
            return given
        if stage not in self._defaults:
            modname, clsname = _LAZY[stage]
            try:
                cls = getattr(importlib.import_module(modname), clsname, None)
            except ImportError:
                cls = None
            self._defaults[stage] = cls() if cls is not None else None
        return self._defaults[stage]

    def timeout_for(self, stage: Stage) -> float:
        if stage is Stage.ONVIF:
            return self.onvif_timeout_s
        if stage is Stage.FRAME:
            return self.frame_timeout_s
        if stage is Stage.RTSP:
            return self.rtsp_timeout_s
        return self.reach_timeout_s


@dataclass(frozen=True, slots=True)
class LadderResult:
    state: State
    cause: Cause | None
    stages: tuple[ProbeResult, ...]
    clock_offset_s: float | None = None
    device: Any = None  # the onvif stage's device record (vendor, model, firmware, serial) or None
    video: tuple[Any, ...] | None = None  # the frame stage's checks (.name, .ok, .score) or None
    warnings: tuple[str, ...] = ()

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.video or () if not c.ok)

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    def stage_durations(self) -> tuple[tuple[Stage, float], ...]:
        return tuple((s.stage, s.duration_s) for s in self.stages)


def lazy_prober(stage: Stage) -> Prober | None:
    """The registered prober of an optional stage, importing its module on first use."""
    fn = PROBERS.get(stage)
    if fn is None and stage in _LAZY:
        try:
            importlib.import_module(_LAZY[stage][0])
        except ImportError:
            return None
        fn = PROBERS.get(stage)
    return fn


class _Expiry:
    """One stage's time limit: a loop timer that cancels the probing task (``asyncio.timeout``'s
    mechanism without its context-manager objects, which cost a tenth of a healthy probe)."""

    __slots__ = ("task", "fired")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


async def run_stage(stage: Stage, fn: Prober, target: ProbeTarget, opts: Any, limit: float) -> ProbeResult:
    """Run one prober under its stage timeout; an expiry becomes the stage's cause.

    A cancellation from anyone else propagates, as with ``asyncio.timeout``.
    """
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()  # (once: on Python 3.11 each lookup is a getpid() call)
    task = asyncio.current_task(loop)
    if task is None:  # not in a task (cannot cancel ourselves): the library way
        try:
            async with asyncio.timeout(limit):
                return await fn(target, opts)
        except TimeoutError:
            return _timed_out(stage, t0, limit)
    before = task.cancelling()
    expiry = _Expiry(task)
    handle = loop.call_later(limit, expiry)
    try:
        result = await fn(target, opts)
    except asyncio.CancelledError:
        if expiry.fired and task.uncancel() <= before:
            return _timed_out(stage, t0, limit)
        raise
    finally:
        handle.cancel()
    if expiry.fired:  # the prober swallowed our cancellation: take the request back
        task.uncancel()
    return result


def _timed_out(stage: Stage, t0: float, limit: float) -> ProbeResult:
    return ProbeResult(stage, False, time.perf_counter() - t0, TIMEOUT_CAUSE[stage], f"no answer within {limit:g} s")


async def _optional_stage(stage: Stage, target: ProbeTarget, opts: LadderOptions) -> ProbeResult | str:
    """Run the onvif or frame stage; a string (the warning) when it cannot run."""
    fn = lazy_prober(stage)
    if fn is None:
        return f"{stage} stage not available in this build"
    sopts = opts.stage_options(stage)
    try:
        return await run_stage(stage, fn, target, sopts, opts.timeout_for(stage))
    except Exception as exc:  # noqa: BLE001 - a bug in an optional stage must not fail the camera
        return ProbeResult(stage, False, 0.0, TIMEOUT_CAUSE[stage], f"{stage} prober error: {type(exc).__name__}")


async def run_ladder(target: ProbeTarget, opts: LadderOptions | None = None) -> LadderResult:
    """Probe *target* stage by stage; the first failing stage names the cause."""
    opts = opts if opts is not None else LadderOptions()
    key = (target.host, target.rtsp_port)
    left = opts.rtsp.state.backoff_remaining(key, target.username, target.password)
    if left > 0:
        r = ProbeResult(Stage.RTSP, False, 0.0, Cause.AUTH_FAILED, f"backing off after failed login, {left:.0f} s left")
        return conclude((r,))

    stages: list[ProbeResult] = []
    warnings: list[str] = []
    kept: list[RtspConnection] = []
    max_reply = opts.rtsp.max_reply_bytes

    async def reach_and_keep(t: ProbeTarget, o: ReachOptions) -> ProbeResult:
        r, conn = await probe_and_keep(t, o, lambda: RtspConnection(max_reply))
        if conn is not None:
            kept.append(conn)
        return r

    reach_fn: Prober = reach_probe
    if opts.reuse_connection and opts.reach.port in (None, target.rtsp_port):
        reach_fn = reach_and_keep

    try:
        r = await run_stage(Stage.REACH, reach_fn, target, opts.reach, opts.reach_timeout_s)
        stages.append(r)
        if not r.ok:
            return conclude(stages)
        conn = kept.pop() if kept else None
        rtsp_fn = partial(rtsp_probe, conn=conn) if conn is not None else rtsp_probe
        r = await run_stage(Stage.RTSP, rtsp_fn, target, opts.rtsp, opts.rtsp_timeout_s)
        stages.append(r)
        if not r.ok:
            return conclude(stages)
    finally:
        for c in kept:  # only when cancelled between the two stages
            c.close()
    optional: list[Stage] = []
    if opts.use_onvif and target.onvif_port:
        optional.append(Stage.ONVIF)
    if opts.video:
        optional.append(Stage.FRAME)
    for stage in optional:
        r_or_warning = await _optional_stage(stage, target, opts)
        if isinstance(r_or_warning, str):
            warnings.append(r_or_warning)
        else:
            stages.append(r_or_warning)
    return conclude(stages, warnings)


def conclude(stages: Sequence[ProbeResult], warnings: Sequence[str] = ()) -> LadderResult:
    """The verdict from the stages that ran (pure; stages in ladder order).

    The first failing stage names the cause, except onvif, whose failure is a
    warning. A frame result with a failed check makes the camera degraded.
    """
    warn = list(warnings)
    clock_offset: float | None = None
    device: Any = None
    video: tuple[Any, ...] | None = None
    for r in stages:
        if r.stage is Stage.ONVIF:
            clock_offset = getattr(r.data, "clock_offset_s", None)
            device = getattr(r.data, "device", None)
            if not r.ok:
                warn.append(f"onvif {r.cause or Cause.ONVIF_ERROR}: {r.detail}".rstrip(": "))
            continue
        if r.stage is Stage.FRAME:
            checks = getattr(r.data, "checks", None)
            video = tuple(checks) if checks is not None else None
        if not r.ok:
            cause = r.cause or TIMEOUT_CAUSE[r.stage]
            return LadderResult("offline", cause, tuple(stages), clock_offset, device, video, tuple(warn))
    state: State = "degraded" if video and any(not c.ok for c in video) else "online"
    return LadderResult(state, None, tuple(stages), clock_offset, device, video, tuple(warn))
