"""Video-quality diagnosis (VQD): pure functions on small BGR frames.

Every check takes a BGR ``uint8`` frame (``H x W x 3``; a 2-D array is read as luma),
already downscaled with :func:`downscale` to :data:`CALIBRATION_WIDTH` (320 px wide),
and returns a frozen :class:`VqdCheck` ``(name, ok, score, threshold)``. Whether a
check fails when its score is *below* or *above* its threshold is fixed per check
and written in its docstring. Nothing here touches the network, a clock or global
state, so the checks are trivially testable on synthetic arrays.

**The thresholds are calibrated for frames 320 px wide.** Scores that depend on
pixel scale (blur, noise, occlusion block size) move when the size changes: a
frame downscaled less keeps more sensor noise and fewer edges per pixel. Luma is
ITU-R BT.601 (OpenCV ``COLOR_BGR2GRAY``), 0..255.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from probes.checks import VqdName as VqdName  # declared with its words; re-exported for the checks' users

Frame = npt.NDArray[np.uint8]

#: Width (px) every default threshold below is calibrated for.
CALIBRATION_WIDTH = 320


@dataclass(frozen=True, slots=True)
class VqdCheck:
    """One diagnosis: ``ok`` is False when the picture fails this check."""

    name: VqdName
    ok: bool
    score: float
    threshold: float


@dataclass(frozen=True, slots=True)
class VqdThresholds:
    """Thresholds of every check (defaults for 320 px wide frames; see each check)."""

    black_pixel_luma: float = 24.0
    black_max_fraction: float = 0.95
    dark_min_mean_luma: float = 30.0
    bright_max_mean_luma: float = 225.0
    contrast_min_rms: float = 15.0
    blur_min_laplacian_var: float = 100.0
    noise_max_sigma: float = 8.0
    cast_max_chroma: float = 20.0
    frozen_min_mad: float = 0.5
    occlusion_block_px: int = 16
    occlusion_flat_std: float = 4.0
    occlusion_max_fraction: float = 0.7


DEFAULT_THRESHOLDS = VqdThresholds()


def downscale(frame: Frame, width: int = CALIBRATION_WIDTH) -> Frame:
    """Resize *frame* to *width* px wide (aspect kept) with area averaging.

    ``INTER_AREA`` averages source pixels, the right filter for shrinking: it does
    not alias fine texture into false "noise". Frames already this narrow are
    returned unchanged (never upscaled).
    """
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    height = max(1, round(h * width / w))
    # (casts: OpenCV's stubs type every image as a generic MatLike; an 8-bit image stays uint8)
    return cast(Frame, cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))


def luma(frame: Frame) -> Frame:
    """BT.601 luma of a BGR frame (a 2-D array is returned as is)."""
    if frame.ndim == 2:
        return frame
    return cast(Frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))


def _check(name: VqdName, score: float, threshold: float, fail_below: bool) -> VqdCheck:
    ok = score >= threshold if fail_below else score <= threshold
    return VqdCheck(name, bool(ok), round(float(score), 4), float(threshold))


def check_black(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Black picture / signal loss. Score: fraction of pixels with luma < ``black_pixel_luma``.

    Fails when the score is **above** ``black_max_fraction`` (default 0.95). A lost
    video signal decodes to studio black (Y=16, RGB 0); 24 leaves headroom for
    compression noise around that level. Requiring 95 % rather than 100 % lets a
    camera's OSD text (clock, name), which stays on when the sensor dies, not hide
    the loss. Common VQD practice ("video loss" / "black screen" alarms).
    """
    y = luma(frame)
    score = float(np.count_nonzero(y < t.black_pixel_luma)) / max(1, y.size)
    return _check(VqdName.BLACK, score, t.black_max_fraction, fail_below=False)


def check_dark(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Too dark. Score: mean luma. Fails **below** ``dark_min_mean_luma`` (default 30).

    30/255 (about 12 % of full scale) is the usual under-exposure limit of VQD
    products and exposure heuristics: a picture this dark has lost most detail to
    the noise floor (a night scene without IR illumination, a failed IR lamp).
    """
    return _check(VqdName.DARK, float(np.mean(luma(frame))), t.dark_min_mean_luma, fail_below=True)


def check_bright(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Too bright / glare. Score: mean luma. Fails **above** ``bright_max_mean_luma`` (225).

    The mirror image of the dark limit (255 - 30): most of the picture is near
    saturation (sun into the lens, IR reflected by a close surface, wide-open iris).
    """
    return _check(VqdName.BRIGHT, float(np.mean(luma(frame))), t.bright_max_mean_luma, fail_below=False)


def check_contrast(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Low contrast (fog, haze, dirty dome, washed-out picture).

    Score: RMS contrast, the standard deviation of luma (Peli, "Contrast in complex
    images", JOSA A 7(10), 1990). Fails **below** ``contrast_min_rms`` (default 15
    grey levels, about 6 % of full scale): daylight surveillance scenes measure
    40-70; heavy fog or a fogged-up dome falls under 15.
    """
    return _check(VqdName.CONTRAST, float(np.std(luma(frame))), t.contrast_min_rms, fail_below=True)


def check_blur(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Out of focus / blurred. Score: variance of the Laplacian of luma.

    The variance of the Laplacian as a focus measure is from Pech-Pacheco et al.,
    "Diatom autofocusing in brightfield microscopy: a comparative study", ICPR 2000.
    Fails **below** ``blur_min_laplacian_var`` (default 100, the widely used cut-off
    popularised by A. Rosebrock, "Blur detection with OpenCV", 2015). The measure
    depends on the frame size: calibrated for 320 px wide frames (downscaling a
    sharp frame raises it, since edges get steeper per pixel). A uniform picture
    (black, covered) also scores 0 here.
    """
    lap = cv2.Laplacian(luma(frame), cv2.CV_64F, ksize=1)
    return _check(VqdName.BLUR, float(lap.var()), t.blur_min_laplacian_var, fail_below=True)


# Immerkaer's mask: the difference of two Laplacians, blind to edges of first and second order.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def check_noise(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Snow / noise. Score: estimated noise standard deviation in grey levels.

    J. Immerkaer, "Fast noise variance estimation", CVIU 64(2), 1996:
    ``sigma = sqrt(pi/2) / 6 * mean(|I * N|)`` with the mask ``N`` above; as in
    Tai & Yang, "A fast method for image noise estimation using Laplacian operator
    and adaptive edge detection", ISCCSP 2008, the 10 % of pixels with the strongest
    Sobel gradient (real edges) are left out so scene texture is not read as noise.
    Fails **above** ``noise_max_sigma`` (default 8): a clean or lightly compressed
    320 px frame measures 0.5-4; analogue snow, a failing sensor or a broken
    encoder measures 15 and more.
    """
    y = luma(frame).astype(np.float32)
    if y.shape[0] < 3 or y.shape[1] < 3:
        return _check(VqdName.NOISE, 0.0, t.noise_max_sigma, fail_below=False)
    resp = np.abs(cv2.filter2D(y, cv2.CV_32F, _IMMERKAER))[1:-1, 1:-1]
    grad = (
        np.abs(cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3))
    )[1:-1, 1:-1].ravel()
    k = int(0.9 * (grad.size - 1))
    edge = np.partition(grad, k)[k]  # the 90th percentile of the gradient
    vals = resp.ravel()[grad <= edge]
    sigma = float(np.sqrt(np.pi / 2.0) / 6.0 * np.mean(vals, dtype=np.float64)) if vals.size else 0.0
    return _check(VqdName.NOISE, sigma, t.noise_max_sigma, fail_below=False)


def check_color_cast(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Colour cast (failed IR-cut filter turning the day picture pink, a dead colour channel).

    Score: the distance of the frame's mean chroma from neutral grey in CIELAB,
    ``sqrt(mean(a*)^2 + mean(b*)^2)`` (the "D" of Gasparini & Schettini, "Color
    balancing of digital photos using simple image statistics", Pattern Recognition
    37(6), 2004). Fails **above** ``cast_max_chroma`` (default 20 CIELAB units):
    whole-frame averages of natural scenes sit within about 10 of neutral (grey
    world); a strong cast moves the whole picture by 20 and more. A 2-D (grey)
    frame has no chroma and scores 0. Computed on every other pixel of every other
    row: a mean over 14,400 pixels of a 320x180 frame is as good as over 57,600.
    """
    if frame.ndim == 2:
        return _check(VqdName.COLOR_CAST, 0.0, t.cast_max_chroma, fail_below=False)
    sub = np.ascontiguousarray(frame[::2, ::2]) if min(frame.shape[:2]) >= 8 else frame
    lab = cv2.cvtColor(sub, cv2.COLOR_BGR2LAB)  # 8-bit: a = a* + 128, b = b* + 128
    a = float(np.mean(lab[:, :, 1])) - 128.0
    b = float(np.mean(lab[:, :, 2])) - 128.0
    return _check(VqdName.COLOR_CAST, float(np.hypot(a, b)), t.cast_max_chroma, fail_below=False)


def check_frozen(first: Frame, second: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Frozen picture: two frames taken seconds apart. Score: mean absolute luma difference.

    Fails **below** ``frozen_min_mad`` (default 0.5 grey levels at 320 px): a live
    sensor's noise and any motion move the mean by more than that between frames
    seconds apart, while a hung encoder or a looped still repeats the same decoded
    picture (difference 0, or well under 0.5 once re-encoded). Frames of different
    size (a resolution change) are never frozen. Known limit: a perfectly static,
    noiseless scene whose encoder skips every block also scores near 0; use a longer
    gap (``FrameOptions.freeze_gap_s``) where that matters.
    """
    a, b = luma(first), luma(second)
    if a.shape != b.shape:
        return _check(VqdName.FROZEN, 255.0, t.frozen_min_mad, fail_below=True)
    mad = float(np.mean(cv2.absdiff(a, b)))
    return _check(VqdName.FROZEN, mad, t.frozen_min_mad, fail_below=True)


def check_occlusion(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Covered / occluded lens (cap, bag, spray paint, a wall or leaves at the lens).

    Score: fraction of ``occlusion_block_px`` square blocks (default 16 px at 320 px
    wide) whose luma standard deviation is under ``occlusion_flat_std`` (default 4
    grey levels): blocks with no texture at all. Fails **above**
    ``occlusion_max_fraction`` (default 0.7, "most of the frame"). Camera-tamper
    detection reads occlusion as a loss of edges/texture over a large area
    (Ribnick et al., "Real-time detection of camera tampering", AVSS 2006; Saglam
    & Temizel, "Real-time adaptive camera tamper detection", AVSS 2009); this is
    the single-frame form. A black or uniform frame scores 1.0.
    """
    y = luma(frame).astype(np.float32)
    n = max(1, int(t.occlusion_block_px))
    h, w = (y.shape[0] // n) * n, (y.shape[1] // n) * n
    if h == 0 or w == 0:
        flat = float(np.std(y) < t.occlusion_flat_std)
        return _check(VqdName.OCCLUSION, flat, t.occlusion_max_fraction, fail_below=False)
    blocks = y[:h, :w].reshape(h // n, n, w // n, n).swapaxes(1, 2)
    stds = blocks.std(axis=(2, 3))
    score = float(np.count_nonzero(stds < t.occlusion_flat_std)) / stds.size
    return _check(VqdName.OCCLUSION, score, t.occlusion_max_fraction, fail_below=False)


def run_vqd(
    frame: Frame, second_frame: Frame | None = None, thresholds: VqdThresholds = DEFAULT_THRESHOLDS
) -> tuple[VqdCheck, ...]:
    """Every check on *frame* (and ``frozen`` when a *second_frame* is given), in a fixed order."""
    t = thresholds
    y = luma(frame)  # once: every check but colour cast reads luma only
    checks = [
        check_black(y, t),
        check_dark(y, t),
        check_bright(y, t),
        check_contrast(y, t),
        check_blur(y, t),
        check_noise(y, t),
        check_color_cast(frame, t),
        check_occlusion(y, t),
    ]
    if second_frame is not None:
        checks.append(check_frozen(y, luma(second_frame), t))
    return tuple(checks)
