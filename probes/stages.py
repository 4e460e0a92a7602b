"""The stages of the probe ladder, each declared once, and the ladder's options.

A stage is one :class:`StageSpec` in :data:`STAGES`, in ladder order: the cause an overrun
gets, and for the stages after the stream check its prober (one per protocol, blackbox_exporter
style: ``async def probe(target, opts) -> ProbeResult``, the ladder owning the time limit),
where its options and limit sit in :class:`LadderOptions`, when it runs and what its result
means for the verdict. Adding a stage: its prober module, its member of
:class:`~probes.base.Stage`, its options and limit in :class:`LadderOptions`, and one
:func:`declare` in :data:`STAGES`.

reach and rtsp come first and run as a pair: the rtsp request goes over the reach stage's TCP
connection (:func:`probes.ladder.run_ladder`), and either one failing stops the ladder. The
stages after them are bound to their options and limit once per :class:`LadderOptions`
(:attr:`LadderOptions.later`), so a probe looks nothing up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, TypeVar

from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.onvif import OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.reach import ReachOptions
from probes.rtsp import RtspOptions
from probes.stage_limit import StageProber, run_stage

if TYPE_CHECKING:
    from probes.frame import FrameOptions

OptsT = TypeVar("OptsT")


@dataclass(frozen=True, slots=True)
class BoundStage:
    """A stage after the stream check, bound to its options and limit: ``run(target)``
    never raises for a camera (a prober's bug becomes a failed result)."""

    stage: Stage
    applies: Callable[[ProbeTarget], bool] | None  # None: every target
    run: Callable[[ProbeTarget], Awaitable[ProbeResult]]


def _always(opts: LadderOptions) -> bool:
    return True


@dataclass(frozen=True, slots=True, eq=False)
class StageSpec:
    """Everything the ladder knows about one stage (see the module docstring)."""

    stage: Stage
    timeout_cause: Cause  # an overrun's cause, and that of a failure which names none
    bind: Callable[[LadderOptions], BoundStage] | None = None  # None: reach and rtsp (the pair)
    enabled: Callable[[LadderOptions], bool] = _always
    warns_only: bool = False  # a failure is a warning: the camera stays online
    gives_clock: bool = False  # its payload's clock_offset_s and device go to the verdict
    gives_checks: bool = False  # its payload's checks go to the verdict; a failed one degrades


def declare(
    stage: Stage,
    run: StageProber[OptsT],
    *,
    options: Callable[[LadderOptions], OptsT],
    timeout: Callable[[LadderOptions], float],
    timeout_cause: Cause,
    enabled: Callable[[LadderOptions], bool],
    applies: Callable[[ProbeTarget], bool] | None = None,
    warns_only: bool = False,
    gives_clock: bool = False,
    gives_checks: bool = False,
) -> StageSpec:
    """A stage after the stream check: *run* with *options* under *timeout*, when *enabled*
    (and, per target, when it *applies*)."""

    def bind(opts: LadderOptions) -> BoundStage:
        stage_opts, limit = options(opts), timeout(opts)

        async def run_bound(target: ProbeTarget) -> ProbeResult:
            try:
                return await run_stage(stage, run, target, stage_opts, limit, timeout_cause)
            except Exception as exc:  # a bug in one stage must not fail the camera's other answers
                return ProbeResult(stage, False, 0.0, timeout_cause, f"{stage} prober error: {type(exc).__name__}")

        return BoundStage(stage, applies, run_bound)

    return StageSpec(stage, timeout_cause, bind, enabled, warns_only, gives_clock, gives_checks)


async def _probe_frame(target: ProbeTarget, opts: FrameOptions | None) -> ProbeResult:
    # lazy: probes.frame brings numpy and OpenCV, 110 ms and 30 MB of RSS
    # (python -X importtime, 2026-12-02; probes.onvif by comparison: 18 ms), which a
    # collector without the video tier and `camwatch probe` without --video never need.
    from probes.frame import probe

    return await probe(target, opts)


def _has_onvif_port(target: ProbeTarget) -> bool:
    return bool(target.onvif_port)


#: The ladder's stages, in ladder order.
STAGES: tuple[StageSpec, ...] = (
    StageSpec(Stage.REACH, Cause.UNREACHABLE),
    StageSpec(Stage.RTSP, Cause.TIMEOUT),
    declare(
        Stage.ONVIF, onvif_probe, options=lambda o: o.onvif, timeout=lambda o: o.onvif_timeout_s,
        timeout_cause=Cause.ONVIF_ERROR, enabled=lambda o: o.use_onvif, applies=_has_onvif_port,
        warns_only=True, gives_clock=True,
    ),
    declare(
        Stage.FRAME, _probe_frame, options=lambda o: o.frame, timeout=lambda o: o.frame_timeout_s,
        timeout_cause=Cause.NO_VIDEO, enabled=lambda o: o.video, gives_checks=True,
    ),
)
SPEC_OF: Mapping[Stage, StageSpec] = {s.stage: s for s in STAGES}  # (a dict: read per stage result)
REACH, RTSP = SPEC_OF[Stage.REACH], SPEC_OF[Stage.RTSP]


@dataclass(frozen=True, slots=True)
class LadderOptions:
    """What to run and how long each stage may take (seconds)."""

    reach: ReachOptions = field(default_factory=ReachOptions)
    rtsp: RtspOptions = field(default_factory=RtspOptions)
    onvif: OnvifOptions = field(default_factory=OnvifOptions)
    frame: FrameOptions | None = None  # None: the frame prober's defaults (a one-grab pool per probe)
    use_onvif: bool = True  # run the onvif stage when the target has an ONVIF port
    video: bool = False  # run the frame stage (video tier)
    reuse_connection: bool = True  # the rtsp stage uses the reach stage's TCP connection
    reach_timeout_s: float = 3.0
    rtsp_timeout_s: float = 5.0
    onvif_timeout_s: float = 5.0
    frame_timeout_s: float = 30.0
    clock_skew_s: float | None = None  # the clock check's limit (seconds); None: no clock check
    #: The enabled stages after reach and rtsp, bound to their options and limits (made here once).
    later: tuple[BoundStage, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        later = tuple(s.bind(self) for s in STAGES if s.bind is not None and s.enabled(self))
        object.__setattr__(self, "later", later)

    def __reduce__(self) -> tuple[type[LadderOptions], tuple[object, ...]]:
        """Pickled (to a probe worker process) as its settings: the bound stages are made again there."""
        return type(self), tuple(getattr(self, f.name) for f in fields(self) if f.init)
