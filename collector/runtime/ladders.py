"""What each tier asks a camera: the fast tier's ladder options from the settings, and the video
tier's derived from them; a camera whose credential cannot be read is only asked to connect."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from probes.base import ProbeTarget, Stage
from probes.causes import Cause
from probes.ladder import LadderOptions, LadderResult, conclude, run_stage
from probes.onvif import OnvifOptions
from probes.reach import ReachOptions
from probes.reach import probe as reach_probe
from probes.stages import REACH

if TYPE_CHECKING:  # (the scheduler imports this module: it need not load OpenCV or the settings)
    from collector.settings import Settings
    from probes.frame import FrameOptions


def ladder_options(s: Settings, frame: FrameOptions | None = None) -> LadderOptions:
    """The fast tier's ladder: reach + RTSP + the ONVIF clock only (DESIGN §3), with the stage
    limits of the ``probe:`` settings; *frame* (with the App's frame pool) serves the video tier."""
    p = s.probe
    return LadderOptions(
        reach=ReachOptions(), onvif=OnvifOptions(device_info=False), use_onvif=p.onvif, reach_timeout_s=p.reach_timeout_s,
        rtsp_timeout_s=p.rtsp_timeout_s, onvif_timeout_s=p.onvif_timeout_s, frame_timeout_s=p.frame_timeout_s,
        frame=frame, clock_skew_s=p.clock_skew_s,
    )


def video_ladder(fast: LadderOptions) -> LadderOptions:
    """The video tier's ladder: the fast tier's, plus the frame stage and, when ONVIF runs, its
    authenticated call (GetDeviceInformation: identity, and a check of the ONVIF login). The
    fast tier asks only the clock (DESIGN §3); both share the ONVIF prober's per-camera memo."""
    onvif = fast.onvif if fast.use_onvif else None
    if onvif is not None and not onvif.device_info:
        return replace(fast, video=True, onvif=replace(onvif, device_info=True))
    return replace(fast, video=True)


async def reach_only(target: ProbeTarget, opts: LadderOptions, reason: str) -> LadderResult:
    """A camera whose stored credential cannot be resolved (*reason*: no key, wrong key, env
    variable unset): no login is attempted, neither RTSP nor ONVIF (cameras lock accounts after
    a few bad logins). A TCP connect to its RTSP port, closed at once, still tells a dark camera
    (its network cause) from one that answers, which is offline as ``credential_unavailable``."""
    r = await run_stage(Stage.REACH, reach_probe, target, opts.reach, opts.reach_timeout_s, REACH.timeout_cause)
    if not r.ok:
        return conclude((r,))
    return LadderResult("offline", Cause.CREDENTIAL_UNAVAILABLE, (r,), warnings=(f"no login attempted: {reason}",))


def clock_failed(result: LadderResult) -> bool | None:
    """The clock check of a probe, or None when it did not read the clock."""
    return None if result.clock_offset_s is None else result.clock_skewed
