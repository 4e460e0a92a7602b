"""The single-picture checks (and ``frozen`` on two pictures): pure functions on small BGR frames.

Every check takes a BGR ``uint8`` frame (``H x W x 3``; a 2-D array is read as luma),
already downscaled with :func:`~probes.vqd_base.downscale` to 320 px wide, and returns a
frozen :class:`~probes.vqd_base.VqdCheck` ``(name, ok, score, threshold)``. Whether a check
fails when its score is *below* or *above* its threshold is fixed per check and written in
its docstring. Luma is ITU-R BT.601 (OpenCV ``COLOR_BGR2GRAY``), 0..255. The signal-loss
check is in :mod:`probes.vqd_signal`; the day/night profile, the masking of one check by
another and the per-camera baseline in :mod:`probes.vqd`.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from probes.checks import VqdName
from probes.vqd_osd import text_mask
from probes.vqd_rules import DEFAULT_THRESHOLDS, VqdCheck, VqdThresholds, make_check

Frame = npt.NDArray[np.uint8]

#: Width (px) every default threshold is calibrated for.
CALIBRATION_WIDTH = 320


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


def check_black(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Black picture / signal loss. Score: fraction of pixels with luma < ``black_pixel_luma``.

    Fails when the score is **above** ``black_max_fraction`` (default 0.95). A lost
    video signal decodes to studio black (Y=16, RGB 0); 24 leaves headroom for
    compression noise around that level. Requiring 95 % rather than 100 % lets a
    camera's OSD text (clock, name), which stays on when the sensor dies, not hide
    the loss. Common VQD practice ("video loss" / "black screen" alarms). The picture must
    also sit at the black level: a mean luma above ``black_max_mean_luma`` (16.5; studio black
    is 16) scores 0, as a picture darkened to a mean of 18-20 keeps its detail and is ``dark``
    (on the evaluation set black pictures, a capped lens with the sensor's noise included,
    measure a mean of 10-15.6, pictures darkened to a mean of 20 measure 17.5-18.3). A large
    OSD (a 40 pt clock, two lines of text) can cover more than 5 % of the frame and lift the
    mean over the black level: on a mostly black picture both figures are read outside the
    camera's OSD text (:func:`probes.vqd_osd.text_mask`).
    """
    y = luma(frame)
    score = float(np.count_nonzero(y < t.black_pixel_luma)) / max(1, y.size)
    mean = float(np.mean(y))
    if score >= 0.5 and (score <= t.black_max_fraction or mean > t.black_max_mean_luma):
        osd = text_mask(y, t.night_light_luma)  # (only for a mostly black picture: the cost)
        if osd is not None and np.count_nonzero(~osd) >= 0.5 * y.size:
            rest = y[~osd]
            score, mean = float(np.count_nonzero(rest < t.black_pixel_luma)) / rest.size, float(np.mean(rest))
    if mean > t.black_max_mean_luma:
        score = 0.0  # not at the black level: a dark picture (``dark``), not a black one
    return make_check(VqdName.BLACK, score, t.black_max_fraction, fail_below=False)


def check_dark(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Too dark. Score: mean luma. Fails **below** ``dark_min_mean_luma`` (default 30).

    30/255 (about 12 % of full scale) is the usual under-exposure limit of VQD
    products and exposure heuristics: a picture this dark has lost most detail to
    the noise floor (a night scene without IR illumination, a failed IR lamp).
    """
    return make_check(VqdName.DARK, float(np.mean(luma(frame))), t.dark_min_mean_luma, fail_below=True)


def check_bright(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Too bright / glare. Score: mean luma. Fails **above** ``bright_max_mean_luma`` (210).

    Most of the picture is near saturation (sun into the lens, IR reflected by a close
    surface, wide-open iris). On the evaluation set clean scenes (a white page included)
    measure at most 171 and over-exposed ones (clipped until the mean is 232) 215-231.
    """
    return make_check(VqdName.BRIGHT, float(np.mean(luma(frame))), t.bright_max_mean_luma, fail_below=False)


def check_contrast(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Low contrast (fog, haze, dirty dome, washed-out picture).

    Score: RMS contrast, the standard deviation of luma (Peli, "Contrast in complex
    images", JOSA A 7(10), 1990), **of what the lens sees past a cover**: when one flat
    surface covers more than ``occlusion_max_fraction`` of the frame (:func:`flat_band`, an
    occluder) and at least :data:`VISIBLE_MIN_SHARE` of the frame is left, the contrast of
    that remainder. Fog lowers the contrast everywhere (the remainder is as flat as the rest);
    a cover leaves the scene beside it at its own contrast, so a covered camera is
    ``occlusion`` and not "low contrast" (a dark scene covered over 80-90 % measured under
    12 over the whole frame). Fails **below** ``contrast_min_rms`` (default 12 grey levels,
    about 5 % of full scale): the evaluation set's photographs measure 25-70 and fog over
    them (blended 90 % towards grey) under 8; a plain wall or a soft grey surface measures
    5-10 and needs the camera's baseline.
    """
    y = luma(frame)
    share, covered = flat_band(y, t)
    visible = y[~covered] if covered is not None else y
    if share <= t.occlusion_max_fraction or visible.size < VISIBLE_MIN_SHARE * y.size:
        visible = y
    return make_check(VqdName.CONTRAST, float(np.std(visible)), t.contrast_min_rms, fail_below=True)


def _gradient(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    return cast(npt.NDArray[np.float32], np.abs(gx) + np.abs(gy))


#: A Sobel response under this is no edge (a 10-grey-level step gives 40).
EDGE_MIN_GRADIENT = 40.0


def check_blur(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Out of focus / blurred. Score: how little the strongest edges lose when blurred again.

    The re-blur principle (Crété-Roffet et al., "The blur effect: perception and estimation
    with a new no-reference perceptual blur metric", SPIE Human Vision and Electronic
    Imaging XII, 2007): blurring a sharp picture changes its edges a lot, blurring a blurred
    one hardly at all. Score: ``sum |grad B| / sum |grad I|`` over the strongest 1 % of edge
    pixels (Sobel response at least :data:`EDGE_MIN_GRADIENT`), ``B`` = ``I`` blurred with
    a Gaussian of sigma 1 px. For an edge of width sigma_e it is about
    ``sigma_e / sqrt(sigma_e^2 + 1)``: 0.6-0.75 for an edge in focus at 320 px, 0.9 for a
    blur of sigma 2 px. Fails **above** ``blur_max_reblur_ratio`` (default 0.8). It does not
    depend on the amount of texture or on exposure (a smooth scene with one sharp edge is
    sharp; a darkened picture is as sharp as before), unlike the variance of the Laplacian.
    A picture without any edge scores 1.0 (nothing is in focus).
    """
    y = luma(frame).astype(np.float32)
    if y.shape[0] < 8 or y.shape[1] < 8:
        return make_check(VqdName.BLUR, 0.0, t.blur_max_reblur_ratio, fail_below=False)
    g = _gradient(y)[2:-2, 2:-2].ravel()
    gb = _gradient(cast(npt.NDArray[np.float32], cv2.GaussianBlur(y, (0, 0), 1.0)))[2:-2, 2:-2].ravel()
    k = int(0.99 * (g.size - 1))
    cut = max(float(np.partition(g, k)[k]), EDGE_MIN_GRADIENT)
    sel = g >= cut
    if int(np.count_nonzero(sel)) < 8:
        return make_check(VqdName.BLUR, 1.0, t.blur_max_reblur_ratio, fail_below=False)
    score = float(np.sum(gb[sel], dtype=np.float64) / np.sum(g[sel], dtype=np.float64))
    return make_check(VqdName.BLUR, score, t.blur_max_reblur_ratio, fail_below=False)


# Immerkaer's mask: the difference of two Laplacians, blind to edges of first and second order.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
#: The median of ``|I * N|`` for Gaussian noise of sigma 1: the mask's weights have a norm of
#: 6, and the median of a half-normal distribution is 0.6745 of its sigma.
_HALF_NORMAL_MEDIAN_6 = 0.6745 * 6.0


def temporal_noise(first: Frame, second: Frame) -> float | None:
    """The noise standard deviation (grey levels) read from two frames of one camera taken
    seconds apart: ``median(|I1 - I2|) / (0.6745 * sqrt(2))`` (the difference of two
    independent noises of sigma s has sigma s * sqrt(2); the median of its absolute value is
    0.6745 of that). The median leaves out what moved (a minority of the picture). None when
    the frames differ in size."""
    a, b = luma(first), luma(second)
    if a.shape != b.shape or a.size == 0:
        return None
    return float(np.median(cv2.absdiff(a, b))) / (0.6745 * float(np.sqrt(2.0)))


def check_noise(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS, second: Frame | None = None) -> VqdCheck:
    """Snow / noise. Score: estimated noise standard deviation in grey levels.

    J. Immerkaer, "Fast noise variance estimation", CVIU 64(2), 1996:
    ``sigma = sqrt(pi/2) / 6 * mean(|I * N|)`` with the mask ``N`` above; as in
    Tai & Yang, "A fast method for image noise estimation using Laplacian operator
    and adaptive edge detection", ISCCSP 2008, the 10 % of pixels with the strongest
    Sobel gradient (real edges) are left out so scene texture is not read as noise.
    The estimate is robust: the **median** of ``|I * N|`` (``sigma = median / (0.6745 * 6)``
    for Gaussian noise) rather than the mean, so a picture with more edges than the 10 %
    left out (dense stripes, a checkered or busy synthetic pattern, fine grass) is not read
    as noise by the edges that remain (a camera's stripe pattern measured 13.5 with the mean,
    0.7 with the median), while noise, which is everywhere, moves the median as much as
    the mean. Fails **above** ``noise_max_sigma`` (default 8): a clean or lightly compressed
    320 px frame measures 0.5-4; analogue snow, a failing sensor or a broken encoder
    measures 14 and more after H.264.

    With a *second* frame of the same camera (seconds later) the score is the smaller of
    that spatial estimate and :func:`temporal_noise`: noise is new in every frame, texture
    is not. Fine texture everywhere (grass, gravel, a fabric) leaves more than the 10 % of
    edges out and reads as noise in one frame (grass: 8.4, over the limit), but it is the same
    in both frames (temporal 0); snow measures 17-25 both ways. A scene that changed between
    the frames (a light, the camera moved) is not noisy in space, so the smaller stays low.
    """
    y = luma(frame).astype(np.float32)
    if y.shape[0] < 3 or y.shape[1] < 3:
        return make_check(VqdName.NOISE, 0.0, t.noise_max_sigma, fail_below=False)
    temporal = temporal_noise(frame, second) if second is not None else None
    resp = np.abs(cv2.filter2D(y, cv2.CV_32F, _IMMERKAER))[1:-1, 1:-1]
    grad = (
        np.abs(cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3))
    )[1:-1, 1:-1].ravel()
    k = int(0.9 * (grad.size - 1))
    edge = np.partition(grad, k)[k]  # the 90th percentile of the gradient
    vals = resp.ravel()[grad <= edge]
    sigma = float(np.median(vals)) / _HALF_NORMAL_MEDIAN_6 if vals.size else 0.0
    if temporal is not None:
        sigma = min(sigma, temporal)
    return make_check(VqdName.NOISE, sigma, t.noise_max_sigma, fail_below=False)


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
        return make_check(VqdName.COLOR_CAST, 0.0, t.cast_max_chroma, fail_below=False)
    sub = np.ascontiguousarray(frame[::2, ::2]) if min(frame.shape[:2]) >= 8 else frame
    lab = cv2.cvtColor(sub, cv2.COLOR_BGR2LAB)  # 8-bit: a = a* + 128, b = b* + 128
    a = float(np.mean(lab[:, :, 1])) - 128.0
    b = float(np.mean(lab[:, :, 2])) - 128.0
    return make_check(
        VqdName.COLOR_CAST, float(np.hypot(a, b)), t.cast_max_chroma, fail_below=False, detail=(round(a, 2), round(b, 2))
    )


def check_frozen(first: Frame, second: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Frozen picture: two frames taken seconds apart are the same picture.

    Score: the largest change of any 8 px block, the block's mean absolute luma difference
    (grey levels), **outside the camera's running OSD**. Fails **below** ``frozen_min_change``
    (default 1.0). A live camera changes somewhere between frames seconds apart (a person, a
    car, a leaf, the sensor's noise, a light), even when most of the picture is still, while a
    hung sensor or encoder repeats the same decoded picture, block for block (0 here, and well
    under 1.0 once re-encoded). Reading the *largest* local change rather than the mean keeps
    a large still scene with one small moving thing live. Frames of different size (a
    resolution change) are never frozen.

    The OSD clock keeps running when the ISP hangs (the usual freeze of a field camera), so a
    change that is the OSD's is left out (:func:`_osd_change`): a region of changed blocks
    (at least half ``frozen_min_change``, 8-connected: the encoder's ripple around the new
    digits included) that covers at most :data:`OSD_CHANGE_MAX_SHARE` of the frame and has at
    least half of its change in OSD text found in both pictures
    (:func:`probes.vqd_osd.text_mask`: a line of bright glyphs, read as going on for
    :data:`OSD_LINE_EXTEND` of its heights on each side). A moving object is not a
    line of glyphs, so a still scene with one small moving thing stays live. Known limits: a
    perfectly static, noiseless scene that the encoder codes as skipped blocks reads as frozen
    (use a longer gap, ``FrameOptions.freeze_gap_s``), with or without an OSD; an OSD that is
    not bright text on a darker ground (dark text, white text on a white sky) is not found;
    a thing that moves only within the OSD line's band, next to its text (a lamp passing just
    under the clock), is taken for the OSD's change.
    """
    a, b = luma(first), luma(second)
    if a.shape != b.shape:
        return make_check(VqdName.FROZEN, 255.0, t.frozen_min_change, fail_below=True)
    d = cv2.absdiff(a, b).astype(np.float32)
    h, w = (d.shape[0] // 8) * 8, (d.shape[1] // 8) * 8
    if h == 0 or w == 0:
        change = float(np.mean(d))
    else:
        blocks = d[:h, :w].reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3))
        osd = _osd_change(a, b, blocks, t)
        rest = blocks[~osd] if osd is not None else blocks.ravel()
        change = float(rest.max()) if rest.size else 0.0
    return make_check(VqdName.FROZEN, change, t.frozen_min_change, fail_below=True)


#: A region of changed blocks is the OSD's only when it covers at most this share of the frame
#: (a clock's changed digits and the encoder's ripple around them: 1-4 % at 320 px).
OSD_CHANGE_MAX_SHARE = 0.1
#: An OSD line found in part (its glyphs over a ground as bright as they are are not found)
#: is read as going on for this many of its heights on each side.
OSD_LINE_EXTEND = 2.0


def _osd_change(a: Frame, b: Frame, blocks: Blocks, t: VqdThresholds) -> npt.NDArray[np.bool_] | None:
    """The 8 px blocks whose change is the OSD's (see :func:`check_frozen`), None when none."""
    if float(blocks.max()) < t.frozen_min_change:
        return None  # nothing changed enough to be live: nothing to explain
    text_a = text_mask(a, t.night_light_luma, OSD_LINE_EXTEND)
    text_b = text_mask(b, t.night_light_luma, OSD_LINE_EXTEND) if text_a is not None else None
    if text_a is None or text_b is None:
        return None
    rows, cols = blocks.shape
    both = (text_a & text_b)[: rows * 8, : cols * 8].reshape(rows, 8, cols, 8).any(axis=(1, 3))
    n, regions = cv2.connectedComponents((blocks >= 0.5 * t.frozen_min_change).astype(np.uint8), connectivity=8)
    osd = np.zeros(blocks.shape, dtype=bool)
    for k in range(1, n):
        region = regions == k
        if np.mean(region) <= OSD_CHANGE_MAX_SHARE and blocks[region & both].sum() >= 0.5 * blocks[region].sum():
            osd |= region
    return osd if osd.any() else None


#: The share of the frame a cover must leave visible for the contrast to be read past it.
VISIBLE_MIN_SHARE = 0.05


Blocks = npt.NDArray[np.float32]


def _flat_band_blocks(
    y: Frame, t: VqdThresholds
) -> tuple[float, npt.NDArray[np.bool_] | None, npt.NDArray[np.bool_] | None, Blocks | None]:
    """:func:`flat_band`, plus each block's flag (flat and in the band) and mean luma."""
    yf = y.astype(np.float32)
    n = max(1, int(t.occlusion_block_px))
    h, w = (yf.shape[0] // n) * n, (yf.shape[1] // n) * n
    if h == 0 or w == 0:
        return float(np.std(yf) < t.occlusion_flat_std), None, None, None
    blocks = yf[:h, :w].reshape(h // n, n, w // n, n).swapaxes(1, 2)
    stds = blocks.std(axis=(2, 3)).ravel()
    means = blocks.mean(axis=(2, 3)).ravel()
    flat = stds < t.occlusion_flat_std
    sorted_means = np.sort(means[flat])
    best, lo = 0, 0.0
    if sorted_means.size:
        ends = np.searchsorted(sorted_means, sorted_means + t.occlusion_band_luma, side="right")
        counts = ends - np.arange(sorted_means.size)
        k = int(np.argmax(counts))
        best, lo = int(counts[k]), float(sorted_means[k])
    in_band = flat & (means >= lo) & (means <= lo + t.occlusion_band_luma)
    mask = np.zeros(y.shape, dtype=bool)
    mask[:h, :w] = np.repeat(np.repeat(in_band.reshape(h // n, w // n), n, axis=0), n, axis=1)
    return best / stds.size, mask, in_band, means


def flat_band(y: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> tuple[float, npt.NDArray[np.bool_] | None]:
    """The largest share of ``occlusion_block_px`` blocks that are flat (luma standard
    deviation under ``occlusion_flat_std``) and within one band of ``occlusion_band_luma``
    grey levels (one surface), and a pixel mask of those blocks (None for a frame smaller
    than a block)."""
    share, mask, _, _ = _flat_band_blocks(y, t)
    return share, mask


def check_occlusion(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Covered / occluded lens (cap, bag, spray paint, a wall or leaves at the lens).

    Score: the largest share of ``occlusion_block_px`` square blocks (default 16 px at 320 px
    wide) that have no texture (luma standard deviation under ``occlusion_flat_std``, default
    4) **and** lie within one band of ``occlusion_band_luma`` grey levels (default 32): one
    surface at the lens, defocused and evenly lit (:func:`flat_band`). Fails **above**
    ``occlusion_max_fraction`` (default 0.65, "most of the frame"). Camera-tamper detection
    reads occlusion as a loss of texture over a large area (Ribnick et al., "Real-time
    detection of camera tampering", AVSS 2006; Saglam & Temizel, "Real-time adaptive camera
    tamper detection", AVSS 2009); the one-band condition keeps a smooth scene (a sky or a
    wall in a gradient of light, whose flat blocks span many grey levels) from reading as
    covered. A uniform frame scores 1.0.

    Its detail is each block's flag (flat and in the band) and mean luma: with the camera's
    baseline only the flat blocks whose brightness moved from the camera's own count
    (:func:`probes.vqd_rules.covered_share`), so a camera on a plain wall or a soft surface is
    not "covered" and a blurred soft scene is "blurred".
    """
    share, _, in_band, means = _flat_band_blocks(luma(frame), t)
    detail: tuple[float, ...] = ()
    if in_band is not None and means is not None:
        # (whole numbers: the result crosses from the decoder worker, ~1 KB pickled instead of ~4 KB)
        detail = tuple(in_band.astype(np.uint8).tolist()) + tuple(np.rint(means).astype(np.int16).tolist())
    return make_check(VqdName.OCCLUSION, share, t.occlusion_max_fraction, fail_below=False, detail=detail)
