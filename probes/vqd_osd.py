"""A camera's burnt-in OSD text (the clock, the camera's name): where it is in a picture.

Nearly every field camera burns a clock into its picture, and the clock keeps running when the
sensor, the lens or the ISP fails: a capped lens is a black picture *with white digits*, a
hung ISP repeats one picture *under a running clock*. The checks must not read that text as
the scene: not as a light source (:func:`probes.vqd.is_night`), not as the motion of a live
camera (:func:`probes.vqd_checks.check_frozen`).

What is text here (:func:`text_boxes`): the marks at or above ``light_luma`` (white OSD text;
180 by default, the night profile's light level) that are **glyphs** — thin strokes: at
least :data:`GLYPH_MIN_PX` high (at 320 px wide), at most :data:`GLYPH_MAX_SHARE` of the
frame's height, filling under :data:`GLYPH_MAX_FILL` of their bounding box — set in a
**line**: three or more glyphs side by side, of similar height (the smaller at least half the
taller), one within the other's rows (give or take a quarter of the height,
:data:`GLYPH_ALIGN_SHARE`), the gap between neighbours at most :data:`GLYPH_MAX_GAP` heights.
Strokes are thin: no point of a glyph is farther than :data:`GLYPH_MAX_HALF_STROKE` px from
its edge (a pinwheel's wedge or a lit wall is). A line's box is padded by half its height,
so the hyphens, colons and dots between the digits (compact marks, not glyphs by
themselves) are inside it. One wide mark (tightly set text merged into one) is not taken
for a line: on the evaluation set's photographs the bright strips of a page between its
dark lines, or a bright edge, would be.

A light at night is none of this: a lamp, a headlight or a lit window is a compact mark (a
disc fills 79 % of its box), and the lights of a night scene are not set side by side at
a glyph's spacing. Measured at 320 px (the evaluation set and GStreamer's ``clockoverlay``
through H.264): OSD digits are 9-20 px high and fill 20-41 % of their box; the night scenes'
lamps, moving lights and the Hubble deep field's stars fill 64-100 %. A day photograph's
bright texture is mostly thick or not set in lines, but not always (a line is found in 6 of the
60 frames of the evaluation set's clean and frozen day pictures, held-out ones included): the
frozen check therefore leaves out only a *change* found in text in both pictures, and a day
picture is never judged at night. Dark text on a bright
background, or white text without an outline on a background as bright as itself, is not
found (its marks are not separate from the background).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]  # (as probes.vqd_checks.Frame: the checks import this module)

#: A glyph is at least this high (px at 320 px wide): OSD text smaller than this is unreadable
#: and its strokes are lost in the downscale anyway.
GLYPH_MIN_PX = 5
#: ... and at most this share of the frame's height (an OSD line is a small part of it).
GLYPH_MAX_SHARE = 0.15
#: A glyph is made of strokes: it fills less than this share of its bounding box.
GLYPH_MAX_FILL = 0.6
#: A glyph's strokes are thin: no point is farther from the mark's edge than this (px), or
#: this share of the glyph's height for a large font.
GLYPH_MAX_HALF_STROKE = 2.5
GLYPH_MAX_HALF_STROKE_SHARE = 0.12
#: Glyphs of one line are set on one line of one font: their tops and their bottoms are within
#: this share of the taller one's height of each other (or within GLYPH_ALIGN_PX) ...
GLYPH_ALIGN_SHARE = 0.25
GLYPH_ALIGN_PX = 2.0
#: ... and they are at most this many glyph heights apart.
GLYPH_MAX_GAP = 2.5
#: A line has at least this many glyphs.
LINE_MIN_GLYPHS = 3
#: More candidate glyphs than this: a textured bright scene, not an OSD over a picture (the
#: grouping is quadratic in their number).
_MAX_CANDIDATES = 400


@dataclass(frozen=True, slots=True)
class TextBox:
    """One line of OSD text: pixel rows ``top:bottom`` and columns ``left:right`` (padded)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def area(self) -> int:
        return (self.right - self.left) * (self.bottom - self.top)


def _lines(boxes: npt.NDArray[np.int32]) -> list[list[int]]:
    """Groups of glyph indices that are one line (see the module docstring)."""
    x, y, w, h = (boxes[:, k].astype(np.float32) for k in range(4))
    n = len(boxes)
    top, bottom = y, y + h
    big = np.maximum(h[:, None], h[None, :])
    tol = np.maximum(GLYPH_ALIGN_PX, GLYPH_ALIGN_SHARE * big)
    # one within the other's rows (a "4" whose thin diagonal fell under the light level is shorter)
    within = ((top[:, None] >= top[None, :] - tol) & (bottom[:, None] <= bottom[None, :] + tol)) | (
        (top[None, :] >= top[:, None] - tol) & (bottom[None, :] <= bottom[:, None] + tol)
    )
    similar = np.minimum(h[:, None], h[None, :]) >= 0.5 * big
    gap = np.maximum(x[:, None], x[None, :]) - np.minimum((x + w)[:, None], (x + w)[None, :])
    near = within & similar & (gap <= GLYPH_MAX_GAP * big)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def text_boxes(frame: Frame, light_luma: float = 180.0) -> tuple[TextBox, ...]:
    """The lines of bright OSD text in *frame* (BGR or luma, 320 px wide), padded boxes."""
    y = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    hgt, wid = y.shape[:2]
    if hgt < GLYPH_MIN_PX or wid < GLYPH_MIN_PX:
        return ()
    lit = (y >= light_luma).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lit, connectivity=8)
    st = stats[1:]
    w, h, area = st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT], st[:, cv2.CC_STAT_AREA]
    glyph = (h >= GLYPH_MIN_PX) & (h <= GLYPH_MAX_SHARE * hgt) & (area < GLYPH_MAX_FILL * w * h)
    if np.any(glyph):  # strokes: no point of a mark is farther than a stroke's half width from its edge
        depth = np.zeros(n, np.float32)
        index = np.asarray(labels, dtype=np.intp).ravel()
        np.maximum.at(depth, index, cv2.distanceTransform(lit, cv2.DIST_L2, 3).ravel())
        glyph &= depth[1:] <= np.maximum(GLYPH_MAX_HALF_STROKE, GLYPH_MAX_HALF_STROKE_SHARE * h)
    cand = st[glyph][:, :4].astype(np.int32)
    if len(cand) == 0 or len(cand) > _MAX_CANDIDATES:
        return ()
    out = []
    for group in _lines(cand):
        b = cand[group]
        left, top = int(b[:, 0].min()), int(b[:, 1].min())
        right, bottom = int((b[:, 0] + b[:, 2]).max()), int((b[:, 1] + b[:, 3]).max())
        line_h = bottom - top
        if len(group) < LINE_MIN_GLYPHS:
            continue
        pad = (line_h + 1) // 2
        out.append(TextBox(max(0, left - pad), max(0, top - pad), min(wid, right + pad), min(hgt, bottom + pad)))
    return tuple(out)


def text_mask(frame: Frame, light_luma: float = 180.0, extend: float = 0.0) -> npt.NDArray[np.bool_] | None:
    """A pixel mask of :func:`text_boxes` (None when there is no OSD text), each box widened on
    both sides by *extend* times its height: the rest of a line whose glyphs stand on a ground
    as bright as themselves (white digits over a white wall, an outline lost in the downscale)
    is not found as glyphs, yet it is the same line of the same OSD."""
    boxes = text_boxes(frame, light_luma)
    if not boxes:
        return None
    mask = np.zeros(frame.shape[:2], dtype=bool)
    for b in boxes:
        more = round(extend * (b.bottom - b.top))
        mask[b.top : b.bottom, max(0, b.left - more) : b.right + more] = True
    return mask
