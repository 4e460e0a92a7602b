"""The signal-loss check (信号丢失): colour bars, a uniform screen, a vendor's "no signal" screen.

An encoder whose sensor or analogue input is gone does not stop streaming: it sends a
picture of its own making, made by a graphics generator and not by a lens, so it has
what no camera picture has: areas that are *exactly* one colour (no sensor noise, no
shading), or full-height vertical bands of saturated colours.

* **uniform screen**: at least ``signal_uniform_min_share`` (default 0.85) of the frame's
  8 px blocks are flat (luma standard deviation at most ``signal_block_std``, 1.0) and of
  one colour (each channel within ``signal_color_tolerance``, 3, of the most common flat
  colour), **and** what is not that colour is a caption: three or more separate marks
  (or three or more lighter than the screen, or darker, counted apart: the white strokes of an
  outlined caption stay apart when its black outline merges the glyphs into one or two
  marks), all within 30 % of the rows ("无视频信号", "NO VIDEO", an OSD clock), and, on a
  black or dark grey screen, reaching the middle rows (30-70 % of the height): an encoder
  centres its caption, while a camera's OSD (its clock, its name) over a black picture sits
  in a top or bottom band, and that is the camera's ``black`` (its encoder runs; the sensor
  or the lens gives black). Or nothing (at
  most 0.2 % of the pixels) on a screen that is exactly one colour (its luma's standard
  deviation at most ``signal_exact_std``, 0.25) and not dark. A black or dark grey screen
  without a caption is ``black`` or ``dark``: after H.264 a capped lens and an encoder's
  black screen are the same picture. Dark means dark *and* colourless (its luma below the
  dark limit and its channels within :data:`_GREY_SPREAD` of each other): a saturated blue
  "no signal" screen has the luma of a dark grey (29) and is still a signal loss;
* **colour bars** (SMPTE, EBU, and vendors' copies, with or without a caption): in the top
  60 % of the frame at least 80 % of the columns are one colour from top to bottom, and
  the columns form five or more flat bands, each at least 1/16 of the width, together
  covering at least 80 % of it, three or more of them saturated.

A night picture (a dark, noise-flattened frame with one lamp or a few lights, a single
moving light) is *not* a signal loss: its lights are one or two marks, and a star field's
marks are spread over the rows. Which name wins over which: see :mod:`probes.vqd`.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from probes.checks import VqdName
from probes.vqd_checks import Frame, luma
from probes.vqd_rules import DEFAULT_THRESHOLDS, VqdCheck, VqdThresholds

_BLOCK = 8
_INK = 40  # a caption's mark differs from the screen colour by at least this (any channel)
_EMPTY_SHARE = 0.002
_CAPTION_MIN_MARKS = 3
_CAPTION_MAX_ROWS = 0.3
#: On a black or dark grey screen a caption must reach these rows (shares of the height): the
#: encoder's centred "无视频信号" does; the camera's OSD (clock, name) in a top or bottom band
#: over a black picture does not, and that picture is ``black`` (the sensor or lens failed).
_CENTRE_BAND = (0.3, 0.7)
#: A screen colour whose channels spread over less than this is a grey (black, dark grey): only
#: such a screen can be dark; a saturated colour of the same luma (pure blue: 29) is not.
_GREY_SPREAD = 40.0


def _bgr(frame: Frame) -> Frame:
    return frame if frame.ndim == 3 else np.repeat(frame[:, :, None], 3, axis=2)


def uniform_share(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> tuple[float, np.ndarray | None]:
    """The share of 8 px blocks that are flat and of the frame's most common flat colour,
    and that colour (BGR floats; None when no block is flat)."""
    f = _bgr(frame)
    h, w = (f.shape[0] // _BLOCK) * _BLOCK, (f.shape[1] // _BLOCK) * _BLOCK
    if h == 0 or w == 0:
        return 0.0, None
    y = luma(f)[:h, :w].astype(np.float32)
    stds = y.reshape(h // _BLOCK, _BLOCK, w // _BLOCK, _BLOCK).std(axis=(1, 3)).ravel()
    means = f[:h, :w].astype(np.float32).reshape(h // _BLOCK, _BLOCK, w // _BLOCK, _BLOCK, 3).mean(axis=(1, 3))
    means = means.reshape(-1, 3)
    flat = stds <= t.signal_block_std
    if not np.any(flat):
        return 0.0, None
    keys = [tuple(k) for k in (means[flat] // 8).astype(np.int16).tolist()]
    top = Counter(keys).most_common(1)[0][0]
    in_top = np.all((means[flat] // 8).astype(np.int16) == np.array(top, np.int16), axis=1)
    colour = means[flat][in_top].mean(axis=0)
    same = flat & np.all(np.abs(means - colour) <= t.signal_color_tolerance, axis=1)
    return float(np.count_nonzero(same)) / stds.size, colour


def _marks(ink: np.ndarray) -> int:
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    return int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= 2))


def _caption(frame: Frame, colour: np.ndarray, centred: bool = False) -> bool | None:
    """Whether what differs from the screen *colour* is a caption (see the module docstring);
    None when nothing does. With *centred*, a caption must also reach the middle band of the
    rows (:data:`_CENTRE_BAND`): an encoder's "no signal" caption does, a camera's OSD line in a
    top or bottom band does not."""
    f = _bgr(frame).astype(np.int16)
    ink = np.abs(f - colour.round().astype(np.int16)).max(axis=2) > _INK
    if np.count_nonzero(ink) <= _EMPTY_SHARE * ink.size:
        return None
    # Marks counted apart by side: lighter and darker than the screen. A caption drawn with an
    # outline (white glyphs, a black edge and shadow: textoverlay's default, most vendors'
    # screens) merges its glyphs into one or two marks of ink, but its white strokes stay apart.
    lighter = (f @ np.array([0.114, 0.587, 0.299])) >= float(np.dot(colour, (0.114, 0.587, 0.299)))
    marks = max(_marks(ink), _marks(ink & lighter), _marks(ink & ~lighter))
    inked = np.flatnonzero(ink.any(axis=1))
    rows = float(inked.size) / ink.shape[0]
    caption = marks >= _CAPTION_MIN_MARKS and rows <= _CAPTION_MAX_ROWS
    if caption and centred:
        lo, hi = _CENTRE_BAND[0] * ink.shape[0], _CENTRE_BAND[1] * ink.shape[0]
        caption = bool(np.any((inked >= lo) & (inked < hi)))
    return caption


def _exact(frame: Frame, colour: np.ndarray, t: VqdThresholds) -> bool:
    """Whether the screen-coloured pixels are *exactly* one colour: their luma's standard
    deviation is at most ``signal_exact_std`` (0.25). A generated screen is, even through
    H.264 (the evaluation set's uniform screens measure 0.000); a real scene made nearly
    uniform (thick fog over a plain background) keeps faint shading (0.7-0.8)."""
    f = _bgr(frame)
    same = np.abs(f.astype(np.int16) - colour.round().astype(np.int16)).max(axis=2) <= t.signal_color_tolerance
    if not np.any(same):
        return False
    return float(np.std(luma(f)[same])) <= t.signal_exact_std


def is_dark_grey(colour: np.ndarray, t: VqdThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether a screen *colour* (BGR) is black or a dark grey: its luma below the dark limit and
    its channels close together. Pure blue (luma 29) is dark by its luma, not to the eye."""
    luma_of = float(np.dot(colour, (0.114, 0.587, 0.299)))
    spread = float(colour.max() - colour.min())
    return luma_of < max(t.black_pixel_luma, t.dark_min_mean_luma) and spread < _GREY_SPREAD


def bars_cover(frame: Frame) -> float:
    """The share of the width covered by flat vertical colour bands when the frame is a colour
    bar screen (see the module docstring), else 0.0."""
    f = _bgr(frame)
    h, w = f.shape[:2]
    top = f[: max(1, int(h * 0.6))].astype(np.int16)
    if w < 32 or top.shape[0] < 4:
        return 0.0
    med = np.median(top, axis=0)  # (w, 3): each column's colour
    vertical = (np.abs(top - med).max(axis=2) <= 12).mean(axis=0) >= 0.8
    if vertical.mean() < 0.8:
        return 0.0
    cuts = np.flatnonzero(np.abs(np.diff(med, axis=0)).max(axis=1) > 30) + 1
    bands, covered, saturated = 0, 0, 0
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, w], strict=True):
        if b - a < w / 16:
            continue
        band = med[a + 2 : b - 2]  # (the edges blur into the next bar: chroma is subsampled)
        if float(np.abs(band - np.median(band, axis=0)).max()) > 8:
            continue
        bands += 1
        covered += int(b - a)
        mean = band.mean(axis=0)
        saturated += int(float(mean.max() - mean.min()) >= 60)
    if bands >= 5 and saturated >= 3 and covered >= 0.8 * w:
        return float(covered / w)
    return 0.0


def check_signal_loss(frame: Frame, t: VqdThresholds = DEFAULT_THRESHOLDS) -> VqdCheck:
    """Signal loss (信号丢失). Score: the share of the frame that is one exact colour (or, for
    colour bars, covered by the bars). Fails when the score is at least
    ``signal_uniform_min_share`` (0.85) **and** the rest of the frame is empty or a caption,
    or when the frame is a colour-bar screen (see the module docstring)."""
    bars = bars_cover(frame)
    if bars > 0.0:
        return VqdCheck(VqdName.SIGNAL_LOSS, False, round(bars, 4), t.signal_uniform_min_share)
    share, colour = uniform_share(frame, t)
    lost = False
    if colour is not None and share >= t.signal_uniform_min_share:
        # A black (or dark) screen without a caption is ``black`` (or ``dark``): after H.264 a
        # capped lens and an encoder's black screen are the same picture (see probes.vqd:
        # which name wins), and so are a plain wall in the dark and a dark grey screen. With
        # only the camera's OSD over it (a clock in a corner band) it is still the camera's
        # black picture: an encoder's caption on black must be centred.
        dark = is_dark_grey(colour, t)
        caption = _caption(frame, colour, centred=dark)
        lost = caption is True or (caption is None and not dark and _exact(frame, colour, t))
    return VqdCheck(VqdName.SIGNAL_LOSS, not lost, round(share, 4), t.signal_uniform_min_share)
