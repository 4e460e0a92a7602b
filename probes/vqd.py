"""Video-quality diagnosis (VQD): every picture check on a grabbed frame, in one call.

:func:`run_vqd` runs the checks of :mod:`probes.vqd_checks` and :mod:`probes.vqd_signal` on
a BGR ``uint8`` frame already downscaled to 320 px wide (:func:`downscale`), plus
``frozen`` when a second frame (taken seconds later) is given, and returns frozen
:class:`VqdCheck` values in :class:`VqdName` order (``frozen`` last). Pure functions:
nothing here touches the network, a clock or global state.

Three things make the verdict right on real scenes (measured by ``bench/vqd_eval.py`` on
real photographs, night and low-texture scenes through H.264; table in the README):

* **one fault, one name**: a failed check masks the checks it explains
  (:data:`~probes.vqd_rules.MASKS`: signal loss masks everything; black everything else; a
  dark or over-exposed picture is not also "blurred" and "occluded"). Which name wins for a
  black frame: a *uniform* frame of any colour, black included, is ``signal_loss`` (an
  encoder's own picture: no sensor noise); a near-black picture that still has the sensor's
  noise or faint texture is ``black``; a dark picture with detail is ``dark``;
* **a day/night profile** (:func:`is_night`): a dark picture with a light source in view is
  a night scene, judged with :func:`~probes.vqd_rules.night_thresholds`; the camera's burnt-in
  OSD text (:mod:`probes.vqd_osd`) is not a light source;
* **a per-camera baseline** (:class:`VqdBaseline`, :func:`apply_baseline`): learnt from a
  camera's first good pictures, so a camera that always looks like that is not flagged.
  Occlusion then counts only the flat blocks that changed from the camera's own picture
  (texture lost, or brightness moved beyond the whole picture's gain), and colour cast reads
  how far the mean colour moved from the camera's own (a warm scene is its own grey); dark,
  contrast, blur and noise are judged against the camera's usual scores, within limits.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from probes.checks import VqdName as VqdName  # declared with its words; re-exported for the checks' users
from probes.vqd_checks import CALIBRATION_WIDTH as CALIBRATION_WIDTH
from probes.vqd_checks import Frame as Frame
from probes.vqd_checks import check_black as check_black
from probes.vqd_checks import check_blur as check_blur
from probes.vqd_checks import check_bright as check_bright
from probes.vqd_checks import check_color_cast as check_color_cast
from probes.vqd_checks import check_contrast as check_contrast
from probes.vqd_checks import check_dark as check_dark
from probes.vqd_checks import check_frozen as check_frozen
from probes.vqd_checks import check_noise as check_noise
from probes.vqd_checks import check_occlusion as check_occlusion
from probes.vqd_checks import downscale as downscale
from probes.vqd_checks import luma as luma
from probes.vqd_osd import text_mask
from probes.vqd_rules import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS
from probes.vqd_rules import ProfileBaseline as ProfileBaseline
from probes.vqd_rules import VqdBaseline as VqdBaseline
from probes.vqd_rules import VqdCheck as VqdCheck
from probes.vqd_rules import VqdThresholds as VqdThresholds
from probes.vqd_rules import apply_baseline as apply_baseline
from probes.vqd_rules import apply_masks, night_thresholds
from probes.vqd_signal import check_signal_loss as check_signal_loss


def is_night(y: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Night profile: the mean luma is under ``night_max_mean_luma`` (40) and at least
    ``night_light_min_fraction`` (0.05 %) of the pixels reach ``night_light_luma`` (180): a
    light source (street lamp, headlight, lit window) in a dark picture. A day picture made
    dark (a closing iris, a failed exposure) scales its brightest parts down with the rest,
    so it has none and stays in the day profile, where it is ``dark``. The camera's own OSD
    text (its clock, its name: :func:`probes.vqd_osd.text_mask`) is no light: it stays white
    when the lens is capped or the IR lamp dead, and such a picture is judged by day (``black``
    or ``dark``), as :func:`check_black` says."""
    if float(np.mean(y)) >= t.night_max_mean_luma:
        return False
    bright = y >= t.night_light_luma
    need = max(1, t.night_light_min_fraction * y.size)
    if int(np.count_nonzero(bright)) < need:
        return False
    osd = text_mask(y, t.night_light_luma)
    if osd is not None:
        bright &= ~osd
    return int(np.count_nonzero(bright)) >= need


def run_vqd(
    frame: Frame, second_frame: Frame | None = None, thresholds: VqdThresholds = DEFAULT_THRESHOLDS
) -> tuple[VqdCheck, ...]:
    """Every check on *frame* (and ``frozen`` when a *second_frame* is given), in a fixed order,
    judged with the day or night profile and masked (see the module docstring)."""
    y = luma(frame)  # once: every check but signal loss and colour cast reads luma only
    y2 = luma(second_frame) if second_frame is not None else None
    night = is_night(y, thresholds)
    t = night_thresholds(thresholds) if night else thresholds
    checks = [
        check_signal_loss(frame, t),
        check_black(y, t),
        check_dark(y, t),
        check_bright(y, t),
        check_contrast(y, t),
        check_blur(y, t),
        check_noise(y, t, y2),
        check_color_cast(frame, t),
        check_occlusion(y, t),
    ]
    if y2 is not None:
        checks.append(check_frozen(y, y2, t))
    if night:
        checks = [replace(c, night=True) for c in checks]
    return apply_masks(checks)
